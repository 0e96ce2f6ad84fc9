"""``train-generator`` and ``train-encoder``: options straight from the trainers' dataclasses."""
from __future__ import annotations

import argparse

from ..cli import add_dataclass_arguments, from_args
from ..encode.device import add_device_argument, check_device
from . import encoder, generator

HELP = {"model": "model to start from (hub name or path)", "output": "folder for the fine-tuned model",
        "train": "'sample' (the built-in train split) or an XOR-TyDi/DPR-style JSONL",
        "query_noise": "noise-aware training: rule-based attacks (as 'attack --attack') that perturb training "
                       "queries in their record's 'lang', one drawn per query among those that apply",
        "noise_rate": "with --query-noise: probability that a training query is replaced by a perturbed copy",
        "noise_edit_rate": "with --query-noise: share of graphemes or words each attack edits",
        "self_teaching": "W > 0: train on the clean query and add W * KL(p_clean || p_noisy) between its and the "
                         "perturbed query's in-batch score distributions",
        "dtype": "the forward passes: bf16 autocast (fp32 weights and optimizer state) or fp32; auto: bf16 on a CPU "
                 "with native bf16 or a bf16 GPU ($PYSERINI_XQG_DTYPE forces it), else fp32",
        "max_tokens": "a batch's passages are encoded in length-sorted chunks of at most this many padded tokens"}
GENERATOR_OPTIONS = ("model", "output", "train", "steps", "batch_size", "learning_rate", "seed")
ENCODER_OPTIONS = ("model", "output", "train", "steps", "batch_size", "learning_rate", "temperature", "seed",
                   "query_noise", "noise_rate", "noise_edit_rate", "self_teaching", "dtype", "max_tokens")


def add_train_generator_arguments(p: argparse.ArgumentParser) -> None:
    add_dataclass_arguments(p, generator.TrainingArgs, GENERATOR_OPTIONS, HELP)
    add_device_argument(p)


def train_generator(args: argparse.Namespace) -> None:
    log = generator.train(from_args(generator.TrainingArgs, args, device=check_device(args.device)))
    print(f"{args.output}: {log['pairs']} pairs, loss {log['loss'][0]:.3f} -> {log['loss'][-1]:.3f}")


def add_train_encoder_arguments(p: argparse.ArgumentParser) -> None:
    add_dataclass_arguments(p, encoder.EncoderTraining, ENCODER_OPTIONS, HELP, {"dtype": ("auto", "fp32", "bf16")})
    add_device_argument(p)


def train_encoder(args: argparse.Namespace) -> None:
    log = encoder.train(from_args(encoder.EncoderTraining, args, device=check_device(args.device)))
    print(f"{args.output}: {log['examples']} examples, {log['dtype']}, loss {log['loss'][0]:.3f} -> "
          f"{log['loss'][-1]:.3f}")
    if "query_noise" in log:
        print("training queries: " + ", ".join(f"{n} {what}" for what, n in log["query_noise"]["queries"].items()))
