"""``generate``: cross-lingual queries for every passage, locally or on Ray."""
from __future__ import annotations

import argparse

from ..cli import add_dataclass_arguments
from ..encode.dtype import DTYPES
from ..engines import ray
from ..engines.cli import add_engine_arguments
from .queries import PROMPT, HFGenerator, generate_queries, parse_generator

HF_OPTIONS = ("top_k", "max_new_tokens", "seed", "batch_size", "dtype", "device")


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True)
    p.add_argument("--output", required=True, help="JSONL, one record per passage and language (resumed if present)")
    p.add_argument("--generator", required=True, help="hf:MODEL (hub name or path) or file:PATH")
    p.add_argument("--langs", nargs="+", required=True, help="target languages (ISO 639-1)")
    p.add_argument("--prompt", dest="template", default=PROMPT, help="hf: template with {language}, {title}, {passage}")
    p.add_argument("--n", type=int, help=f"queries per passage and language: hf generates n (default {HFGenerator.n}); "
                   "file keeps the first n of each record (default all)")
    add_dataclass_arguments(p, HFGenerator, HF_OPTIONS, choices={"dtype": DTYPES})
    p.add_argument("--shard-id", type=int, default=0)
    p.add_argument("--shard-num", type=int, default=1)
    add_engine_arguments(p, "ray: corpus shards (default --workers); instead of --shard-num")


def generate(args: argparse.Namespace) -> None:
    options = {"n": args.n}
    if parse_generator(args.generator)[0] == "hf":
        options.update({name: getattr(args, name) for name in (*HF_OPTIONS, "template")})
    if args.engine == "ray":
        if (args.shard_id, args.shard_num) != (0, 1):
            raise ValueError("--engine ray shards the corpus itself (--shards): leave --shard-id/--shard-num out")
        print(ray.generate(args.corpus, args.output, args.generator, args.langs, args.workers, args.shards,
                           args.ray_address, **options))
        return
    print(generate_queries(args.corpus, args.output, args.generator, args.langs, args.shard_id, args.shard_num,
                           **options))
