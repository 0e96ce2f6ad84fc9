"""What the two trainers (``train.generator``, ``train.encoder``) share."""
from __future__ import annotations

import json
import os
import random
from typing import Iterator, Sequence, TypeVar

from ..io.collection import Passage
from ..io.files import DataError, atomic_dir, nfc

T = TypeVar("T")


def shuffled_batches(items: Sequence[T], size: int, rng: random.Random) -> Iterator[list[T]]:
    """Endless batches of ``size``, each epoch in a fresh random order."""
    order: list[T] = []
    while True:
        if len(order) < size:
            order += rng.sample(list(items), len(items))
        batch, order = order[:size], order[size:]
        yield batch


def ctx_passage(ctx: dict, path: str | os.PathLike, number: int) -> Passage:
    """A DPR/XOR-TyDi ``*_ctxs`` entry (or Tevatron passage) as a Passage; one without text is an error."""
    if not isinstance(ctx, dict) or not isinstance(ctx.get("text"), str) or not ctx["text"].strip():
        raise DataError(path, number, "each passage (positive_ctxs, hard_negative_ctxs) needs a non-empty 'text'")
    return Passage(str(ctx.get("docid", ctx.get("passage_id", ""))), nfc(ctx["text"]), nfc(ctx.get("title") or ""))


def check_schedule(steps: int, batch_size: int, learning_rate: float) -> None:
    """Refuse a training run that could not train (before any model loads)."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"--steps and --batch-size must be at least 1, not {steps} and {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"--learning-rate must be positive, not {learning_rate}")


def save_model(output: str | os.PathLike, model, tokenizer, log: dict, extra: dict[str, dict] | None = None) -> None:
    """Model, tokenizer, ``training.json`` and any extra JSON files, swapped in atomically."""
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, payload in {"training.json": log, **(extra or {})}.items():
            (tmp / name).write_text(json.dumps(payload, indent=1) + "\n")
