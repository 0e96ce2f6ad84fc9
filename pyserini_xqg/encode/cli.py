"""``models``, and the encoder options every dense command shares."""
from __future__ import annotations

import argparse

from . import models
from .device import add_device_argument, check_device
from .dtype import DTYPES
from .embedder import MAX_TOKENS, POOLINGS, recipe_for
from .runtime import RUNTIMES


def add_encoder_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoder", default=models.BUILTIN_MODEL,
                   help=f"hub name or local path (default {models.BUILTIN_MODEL})")
    p.add_argument("--pooling", choices=POOLINGS, help="default: the model's known recipe, else cls")
    p.add_argument("--query-prefix", help="e.g. 'query: ' for e5")
    p.add_argument("--passage-prefix", help="e.g. 'passage: ' for e5")
    p.add_argument("--l2-norm", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--max-length", type=int, help="passage max length in tokens")
    p.add_argument("--batch-size", type=int, default=32, help="most texts in one batch (default 32)")
    p.add_argument("--max-tokens", type=int, default=MAX_TOKENS,
                   help=f"most padded tokens (texts x longest) in one batch, whichever of this and --batch-size "
                   f"binds first; a longer text goes alone; 0: --batch-size only (default {MAX_TOKENS})")
    p.add_argument("--dtype", default="auto", choices=DTYPES,
                   help="auto: bf16 on a CPU with native bf16 (or $PYSERINI_XQG_DTYPE), else fp32")
    add_device_argument(p)
    p.add_argument("--runtime", default="torch", choices=RUNTIMES,
                   help="torch (default) or onnx: ONNX Runtime, fp32 on the CPU, the same vectors to ~1e-7 "
                   "(needs the onnx extra; the model is exported once into the cache)")
    add_cache_argument(p)


def add_cache_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", help="model cache (default $PYSERINI_XQG_CACHE or ~/.cache/pyserini_xqg)")


def embedder_options(args: argparse.Namespace) -> dict:
    """``Embedder``'s arguments from the encoder options."""
    recipe = recipe_for(args.encoder, pooling=args.pooling, query_prefix=args.query_prefix,
                        passage_prefix=args.passage_prefix, l2_norm=args.l2_norm, passage_max_length=args.max_length)
    return dict(model=args.encoder, recipe=recipe, batch_size=args.batch_size,
                max_tokens=args.max_tokens, runtime=args.runtime, dtype=args.dtype, device=check_device(args.device),
                cache_dir=args.cache_dir)


def add_models_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["prepare"])
    add_cache_argument(p)
    p.add_argument("--force", action="store_true", help="rebuild even if the cache is current")


def models_command(args: argparse.Namespace) -> None:
    print(models.prepare(args.cache_dir, force=args.force))
