"""``generate``: cross-lingual queries for every passage, locally or on Ray; translate-generate with
``--translate-with``."""
from __future__ import annotations

import argparse

from ..cli import add_dataclass_arguments
from ..encode.device import add_device_argument, check_device
from ..encode.dtype import DTYPES
from ..engines import ray
from ..engines.cli import add_engine_arguments
from ..translate import PROMPT as TRANSLATE_PROMPT, Decoding
from .queries import PROMPT, HFGenerator, generate_queries, make_generator, parse_generator
from .translated import TranslatedGenerator

HF_OPTIONS = ("top_k", "max_new_tokens", "seed", "batch_size", "dtype")
TRANSLATE_OPTIONS = ("num_candidates", "sample", "top_k", "top_p", "seed", "max_new_tokens", "batch_size")


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True)
    p.add_argument("--output", required=True, help="JSONL, one record per passage and language (resumed if present)")
    p.add_argument("--generator", required=True, help="hf:MODEL (hub name or path) or file:PATH")
    p.add_argument("--langs", nargs="+", required=True,
                   help="target languages (ISO 639-1 or 639-3 codes: ha and hau are one language)")
    p.add_argument("--prompt", dest="template", default=PROMPT, help="hf: template with {language}, {title}, {passage}")
    p.add_argument("--n", type=int, help=f"queries per passage and language: hf generates n (default {HFGenerator.n}); "
                   "file keeps the first n of each record (default all)")
    add_dataclass_arguments(p, HFGenerator, HF_OPTIONS, choices={"dtype": DTYPES})
    add_device_argument(p)
    p.add_argument("--translate-with", metavar="MODEL", help="translate-generate: translate the generator's "
                   "--source-lang questions into every --langs language with this model (hub name, folder or ct2:DIR)")
    p.add_argument("--source-lang", help="translate-generate: the language of the questions to translate (default en)")
    p.add_argument("--translate-prompt", default=TRANSLATE_PROMPT, help="translate-generate, a model of no "
                   "translation family: template with {source_language}, {target_language}, {text}")
    add_dataclass_arguments(p, Decoding, TRANSLATE_OPTIONS, prefix="translate-", help={
        "num_candidates": "translations per question (beam search when greedy)",
        "sample": "sample translations (top-k / top-p, seeded) instead of greedy decoding"})
    p.add_argument("--shard-id", type=int, default=0)
    p.add_argument("--shard-num", type=int, default=1)
    add_engine_arguments(p, "ray: corpus shards (default --workers); instead of --shard-num")


def generate(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    options = {"n": args.n}
    if parse_generator(args.generator)[0] == "hf":
        options.update({name: getattr(args, name) for name in (*HF_OPTIONS, "template")}, device=device)
    if args.translate_with:
        if args.engine == "ray":
            raise ValueError("--translate-with runs on --engine local (use --shard-id/--shard-num to split the work)")
        decoding = Decoding(**{name: getattr(args, f"translate_{name}") for name in TRANSLATE_OPTIONS})
        generator = TranslatedGenerator(make_generator(args.generator, **options), args.translate_with,
                                        args.source_lang or "en", decoding, args.translate_prompt, device,
                                        args.dtype)
        print(generate_queries(args.corpus, args.output, generator, args.langs, args.shard_id, args.shard_num))
        return
    if args.source_lang:
        raise ValueError("--source-lang is the language of the questions --translate-with translates: give both")
    if args.engine == "ray":
        if (args.shard_id, args.shard_num) != (0, 1):
            raise ValueError("--engine ray shards the corpus itself (--shards): leave --shard-id/--shard-num out")
        print(ray.generate(args.corpus, args.output, args.generator, args.langs, args.workers, args.shards,
                           args.ray_address, **options))
        return
    print(generate_queries(args.corpus, args.output, args.generator, args.langs, args.shard_id, args.shard_num,
                           **options))
