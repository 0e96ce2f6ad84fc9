"""``search``, ``encode-queries`` (for Pyserini's own search CLI) and ``fuse``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import add_collection_argument, from_collection
from ..encode.cli import add_cache_argument
from ..encode.device import add_device_argument, check_device
from ..io.collection import load_language_topics, load_topics, pool_topics
from ..io.runs import read_run, write_run
from . import dense
from .fusion import METHODS, fuse
from .systems import open_index

A_HELP = "weight of generated queries (side-by-side xQG indexes)"


def add_search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", required=True, help="a Lucene index or a dense index with meta.json")
    add_collection_argument(p, "the topics of every language, searched in one run")
    p.add_argument("--topics", help="TSV qid<TAB>text or JSONL (required without --collection)")
    p.add_argument("--output", required=True, help="TREC run file")
    p.add_argument("--hits", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--a", type=float, help=A_HELP)
    p.add_argument("--allow-encoder-change", action="store_true",
                   help="search a dense index even though its encoder's files changed since it was built")
    add_device_argument(p)
    add_cache_argument(p)


def search(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    topics = load_topics(args.topics) if args.topics else pool_topics(load_language_topics(
        from_collection(args, ("topics",)).topics))
    system = open_index(args.index, args.a, args.hits, args.threads, batch_size=args.batch_size,
                        cache_dir=args.cache_dir, allow_encoder_change=args.allow_encoder_change, device=device)
    run = system.search(topics)
    print(write_run(run, args.output, tag=Path(args.output).stem, k=args.hits))


def add_encode_queries_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", required=True)
    p.add_argument("--topics", required=True)
    p.add_argument("--output", required=True, help="folder to write embedding.pkl into")
    p.add_argument("--a", type=float, help=A_HELP)
    p.add_argument("--batch-size", type=int, default=32)
    add_device_argument(p)
    add_cache_argument(p)


def encode_queries(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    print(dense.write_encoded_queries(args.index, load_topics(args.topics), args.output, args.a,
                                      load_topics(args.topics, as_pyserini_reads=True),
                                      batch_size=args.batch_size, cache_dir=args.cache_dir, device=device))


def add_fuse_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", nargs="+", required=True, help="run files to fuse")
    p.add_argument("--output", required=True, help="fused TREC run")
    p.add_argument("--method", choices=METHODS, default=METHODS[0])
    p.add_argument("--weight", type=float, default=0.5, help="interpolation: weight of the first run")
    p.add_argument("--rrf-k", type=int, default=60)
    p.add_argument("--depth", type=int, help="hits of each run to use (default all)")
    p.add_argument("--hits", type=int, default=1000)


def fuse_runs(args: argparse.Namespace) -> None:
    fused = fuse([read_run(r) for r in args.run], args.method, args.weight, args.rrf_k, args.depth, args.hits)
    print(write_run(fused, args.output, tag=f"fused-{args.method}", k=args.hits))
