"""``demo``, ``bench``, ``pages``, ``reproduce`` and ``pyserini`` (Pyserini's own tools with Java set up)."""
from __future__ import annotations

import argparse
import runpy
import sys

from .. import jvm
from ..encode.cli import add_cache_argument
from . import bench
from .demo import run_demo
from .pages import run_pages
from .reproduce import run_matrix


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--hits", type=int, default=100)
    add_cache_argument(p)


def demo(args: argparse.Namespace) -> None:
    run_demo(args.output, k=args.hits, cache_dir=args.cache_dir, argv=args.argv)


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", help="corpus to encode (default the built-in sample)")
    p.add_argument("--topics", nargs="+", help="topic files for query encoding (default the sample's dev topics)")
    p.add_argument("--generated", help="generated queries for the augment section (default the sample's references)")
    p.add_argument("--limit", type=int, help="encode only the corpus's first N passages")
    p.add_argument("--sections", nargs="+", default=list(bench.SECTIONS), help=f"default: {' '.join(bench.SECTIONS)}")
    p.add_argument("--search-passages", type=int, default=100_000, help="synthetic vectors in the search index "
                   "(the ann section uses at most 50,000)")
    p.add_argument("--memory-base", type=int, default=500, help="passages at 1x in the memory section")
    p.add_argument("--translator", help="translate: a Hugging Face NLLB folder to time (default: NLLB's architecture "
                   "with random weights)")
    p.add_argument("--train", default="sample", help="train: train-encoder's data ('sample' or a DPR-style JSONL, "
                   "e.g. the AfriQA train pairs)")
    p.add_argument("--train-steps", type=int, default=10, help="train: steps timed in each dtype (default 10)")
    p.add_argument("--output", help="JSON file for every figure, and beside it (.md) the tables")


def bench_command(args: argparse.Namespace) -> None:
    bench.run_bench(args.corpus, args.topics, args.generated, args.sections, args.limit, args.search_passages,
                    args.memory_base, args.output, translator=args.translator, argv=args.argv, train=args.train,
                    train_steps=args.train_steps)


def add_pages_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pages", nargs="+", help="docs pages with generated blocks, e.g. docs/experiments-*.md")
    p.add_argument("--root", default=".", help="where the blocks' report paths start (default .)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 where a page is out of date")
    p.add_argument("--keep", metavar="DIR", help="first copy each quoted report (with its JSON) that lies outside DIR "
                   "into it, e.g. docs/reports, and point the block there")


def pages(args: argparse.Namespace) -> int:
    return 1 if run_pages(args.pages, args.root, args.check, keep_in=args.keep) and args.check else 0


def add_reproduce_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("matrix", help="xor-tydi, sample, or a YAML path")
    p.add_argument("--data", help="folder with the matrix's official data files")
    p.add_argument("--output", default="runs/reproduce", help="work folder (default runs/reproduce)")


def reproduce(args: argparse.Namespace) -> int:
    return 0 if run_matrix(args.matrix, args.command_line, args.data, args.output)["ok"] else 1


def add_pyserini_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("module", help="e.g. search.faiss")
    p.add_argument("args", nargs=argparse.REMAINDER)


def pyserini(args: argparse.Namespace) -> None:
    jvm.start()
    sys.argv = [f"python -m pyserini.{args.module}", *args.args]
    runpy.run_module(f"pyserini.{args.module}", run_name="__main__", alter_sys=True)
