"""``index`` (Lucene BM25) and ``encode`` (dense or xQG FAISS index), locally or on Ray."""
from __future__ import annotations

import argparse

from ..encode.cli import add_encoder_arguments, embedder_options
from ..encode.embedder import Embedder
from ..engines import ray
from ..engines.cli import add_engine_arguments
from ..io.languages import check_language
from ..perturb.noise import COPIES, Noise
from . import dense, lucene, xqg
from .xqg import AGGREGATIONS, LAYOUTS, Variant


def add_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True, help="JsonCollection JSONL or id/text/title TSV")
    p.add_argument("--index", required=True)
    p.add_argument("--language", default="en", help="corpus language: Anserini analyzer (default en)")
    p.add_argument("--threads", type=int, default=2)
    add_title_argument(p)


def add_title_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--title", action=argparse.BooleanOptionalAction, default=True,
                   help="index each passage's title with its text (Pyserini's 'title text'); --no-title: the text "
                   "only (recorded in the index's metadata)")


def index(args: argparse.Namespace) -> None:
    print(lucene.build_index(args.corpus, args.index, check_language(args.language), args.threads, args.title))


def add_encode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True)
    p.add_argument("--index", required=True)
    add_encoder_arguments(p)
    p.add_argument("--xqg", metavar="QUERIES", help="generated queries (generate's output) to fold in")
    # the xQG options default to None so that one given without --xqg is refused (Variant has the defaults)
    p.add_argument("--a", type=float, help=f"weight of the generated queries (default {Variant.a})")
    p.add_argument("--agg", choices=AGGREGATIONS,
                   help=f"sum (the paper's), mean, or auto: sum when every passage has n queries, else mean "
                   f"(default {Variant.agg})")
    p.add_argument("--layout", choices=LAYOUTS,
                   help=f"side-by-side keeps passage and query vectors apart: a is chosen at search time "
                   f"(default {Variant.layout})")
    p.add_argument("--shrinkage", type=float, metavar="K",
                   help="with agg=mean: count the passage itself K times among its queries, so passages with few "
                   "queries move less (default 0: the plain mean)")
    p.add_argument("--calibrate", action=argparse.BooleanOptionalAction,
                   help="move each generated query by the mean passage-minus-query vector, so passages with "
                   "queries do not outscore those without for being query-like (default on; rank-neutral when "
                   "every passage has as many queries)")
    p.add_argument("--xqg-langs", nargs="+", help="fold in only these languages' queries")
    p.add_argument("--xqg-noise", nargs="+", metavar="ATTACK",
                   help="noisy xQG: each generated query also contributes perturbed copies by these rule-based "
                   "attacks (as 'attack --attack'; one that does not apply to its language is skipped)")
    p.add_argument("--xqg-noise-copies", type=int, metavar="K",
                   help=f"with --xqg-noise: copies per query (default {COPIES})")
    p.add_argument("--xqg-noise-edit-rate", type=float, metavar="RATE",
                   help=f"with --xqg-noise: share of graphemes or words each attack edits (default {Noise.rate})")
    p.add_argument("--xqg-noise-seed", type=int, metavar="SEED", help=f"with --xqg-noise (default {Noise.seed})")
    add_title_argument(p)
    add_engine_arguments(p)


XQG_OPTIONS = ("a", "agg", "layout", "shrinkage", "calibrate", "xqg_noise")
NOISE_OPTIONS = ("xqg_noise_copies", "xqg_noise_edit_rate", "xqg_noise_seed")


def _refuse(names, needed: str) -> None:
    if names:
        listed = ", ".join(f"--{name.replace('_', '-')}" for name in names)
        raise ValueError(f"{listed} appl{'ies' if len(names) == 1 else 'y'} only with {needed}")


def encode(args: argparse.Namespace) -> None:
    _refuse([name for name in XQG_OPTIONS if getattr(args, name) is not None] if not args.xqg else [],
            "--xqg QUERIES")
    _refuse([name for name in NOISE_OPTIONS if getattr(args, name) is not None] if not args.xqg_noise else [],
            "--xqg-noise ATTACK...")
    for name in XQG_OPTIONS[:-1]:
        if getattr(args, name) is None:
            setattr(args, name, getattr(Variant, name))
    noise = None if not args.xqg_noise else Noise(
        tuple(args.xqg_noise), Noise.rate if args.xqg_noise_edit_rate is None else args.xqg_noise_edit_rate,
        Noise.seed if args.xqg_noise_seed is None else args.xqg_noise_seed)
    copies = COPIES if args.xqg_noise_copies is None else args.xqg_noise_copies
    options = embedder_options(args)
    if args.engine == "ray":
        print(ray.encode(args.corpus, args.index, options, args.xqg, args.a, args.agg, args.layout, args.xqg_langs,
                         args.workers, args.shards, args.ray_address, title=args.title, shrinkage=args.shrinkage,
                         calibrate=args.calibrate, noise=noise, copies=copies))  # each worker loads the encoder
        return
    embedder = Embedder(**options)
    if args.xqg:
        print(xqg.build_index(args.corpus, args.xqg, args.index, embedder, args.a, args.agg, args.layout,
                              args.xqg_langs, title=args.title, shrinkage=args.shrinkage,
                              calibrate=args.calibrate, noise=noise, copies=copies))
    else:
        print(dense.build_index(args.corpus, args.index, embedder, title=args.title))
