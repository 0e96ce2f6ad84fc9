"""Fine-tune a seq2seq query generator on (passage, language, question) pairs.

Input is the generation prompt (``generate.queries.PROMPT``), target the question in its
language. Pairs come from the built-in sample's train split (``sample``) or from a
JSONL file in XOR-TyDi / DPR style: ``question`` (or ``query``), ``lang`` and
``positive_ctxs`` (or ``positive_passages``) with ``title`` and ``text``.
The result is an ordinary model folder that ``generate --generator hf:PATH`` takes.
"""
from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass

from ..generate.queries import PROMPT, prompt
from ..io.collection import Passage, load_corpus, load_qrels, load_topics
from ..io.files import DataError, iter_jsonl, nfc
from ..io.languages import check_language
from ..io.sample import Sample
from .common import check_schedule, ctx_passage, save_model, shuffled_batches


@dataclass
class TrainingArgs:
    model: str
    output: str
    train: str = "sample"
    steps: int = 1000
    batch_size: int = 8
    learning_rate: float = 3e-4
    max_length: int = 512
    max_target_length: int = 64
    template: str = PROMPT
    seed: int = 0
    device: str = "cpu"


Pair = tuple[Passage, str, str]  # passage, language, question


def sample_pairs(split: str = "train") -> list[Pair]:
    """(passage, language, question) from the built-in sample's ``split``."""
    sample = Sample()
    corpus = load_corpus(sample.corpus)
    qrels = load_qrels(sample.qrels(split), set(corpus))
    pairs = []
    for lang in sample.languages:
        for qid, text in load_topics(sample.topics(split, lang)).items():
            pairs += [(corpus[d], lang, text) for d, rel in qrels[qid].items() if rel > 0]
    return pairs


def file_pairs(path: str | os.PathLike) -> list[Pair]:
    """(passage, language, question) from an XOR-TyDi / DPR-style JSONL training file."""
    pairs = []
    for number, obj in iter_jsonl(path):
        question = obj.get("question", obj.get("query"))
        positives = obj.get("positive_ctxs", obj.get("positive_passages"))
        if not isinstance(question, str) or not question.strip() or "lang" not in obj or not isinstance(positives, list):
            raise DataError(path, number, "expected question (or query), lang, and positive_ctxs (or positive_passages)")
        lang = check_language(obj["lang"], path, number)
        for ctx in positives:
            pairs.append((ctx_passage(ctx, path, number), lang, nfc(question).strip()))
    if not pairs:
        raise DataError(path, None, "no training pairs")
    return pairs


def train(args: TrainingArgs, progress: bool = True) -> dict:
    """Fine-tune ``args.model`` and save it with its tokenizer to ``args.output``; returns the log."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    check_schedule(args.steps, args.batch_size, args.learning_rate)
    pairs = sample_pairs() if args.train == "sample" else file_pairs(args.train)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model).to(args.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    losses = []
    batches = shuffled_batches(pairs, args.batch_size, rng)
    for _ in tqdm(range(args.steps), desc="train-generator", unit="step", disable=not progress):
        batch = next(batches)
        inputs = tokenizer([prompt(args.template, lang, p) for p, lang, _ in batch], padding=True,
                           truncation=True, max_length=args.max_length, return_tensors="pt")
        labels = tokenizer(text_target=[q for _, _, q in batch], padding=True, truncation=True,
                           max_length=args.max_target_length, return_tensors="pt")["input_ids"]
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(**{k: v.to(args.device) for k, v in inputs.items()}, labels=labels.to(args.device)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach().item())
    log = {"args": asdict(args), "pairs": len(pairs), "loss": losses}
    save_model(args.output, model, tokenizer, log)
    return log
