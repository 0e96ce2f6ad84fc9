"""Text to vectors with any transformers encoder: ``Recipe`` (how a model was trained to be used)
and ``Embedder`` (length-sorted batches cut by a count and a padded-token budget, inference mode,
the dtype of ``encode.dtype``, the runtime of ``encode.runtime``, CLS or mean pooling, optional
prefixes such as e5's ``query: `` / ``passage: ``, L2 normalisation).

Nothing here imports Pyserini, so encoding never starts a JVM; ``encode.encoders`` wraps an
``Embedder`` in Pyserini's encoder classes for its searchers.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..io.files import DataError
from . import models
from .dtype import resolve_dtype
from .runtime import forward_for


POOLINGS = ("cls", "mean")
# Padded tokens per batch (count x longest text) by default. Small batches of long passages pad little;
# on a CPU a batch of ~512 tokens or more already runs the matmuls near full speed (measured, issue #22).
MAX_TOKENS = 2048


@dataclass(frozen=True)
class Recipe:
    """How a model turns text into a vector (recorded in every index's meta.json)."""

    pooling: str = "cls"
    query_prefix: str = ""
    passage_prefix: str = ""
    l2_norm: bool = False
    query_max_length: int = 64
    passage_max_length: int = 512


E5 = Recipe(pooling="mean", query_prefix="query: ", passage_prefix="passage: ", l2_norm=True)
KNOWN_RECIPES = {
    models.BUILTIN_MODEL: E5,
    "intfloat/multilingual-e5-small": E5,
    "intfloat/multilingual-e5-base": E5,
    "intfloat/multilingual-e5-large": E5,
    # Tevatron-trained mBERT of the xQG paper: CLS pooling, dot product, no prefixes.
    "ielabgroup/bert-base-multilingual-cased-xor-tydi": Recipe(pooling="cls", query_max_length=32, passage_max_length=256),
    "castorini/mdpr-tied-pft-msmarco": Recipe(pooling="cls", query_max_length=64, passage_max_length=256),
}


RECIPE_FILE = "pyserini_xqg_recipe.json"  # in a model folder: the recipe it was trained with


def default_recipe(model: str) -> Recipe:
    """The recipe a model was trained with where we know it, else CLS pooling without prefixes.

    Known hub names come from ``KNOWN_RECIPES``; a local folder may carry its own
    ``pyserini_xqg_recipe.json`` (``train-encoder`` writes one).
    """
    saved = Path(model) / RECIPE_FILE
    if saved.is_file():
        return Recipe(**json.loads(saved.read_text()))
    return KNOWN_RECIPES.get(model, Recipe())


def recipe_for(model: str, **overrides) -> Recipe:
    """``default_recipe`` with the given fields replaced (``None`` values are ignored)."""
    return replace(default_recipe(model), **{k: v for k, v in overrides.items() if v is not None})


@lru_cache(maxsize=4)
def _load(path: str, dtype: torch.dtype, device: str):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path, dtype=dtype)
    except OSError as err:  # no such folder, or a hub name that cannot be fetched
        raise DataError(path, None, f"cannot load the encoder: {str(err).splitlines()[0]}") from None
    return tokenizer, model.to(device).eval()


class Embedder:
    """Batched text -> vector with one transformers model."""

    def __init__(self, model: str, recipe: Recipe | None = None, batch_size: int = 32,
                 dtype: str = "auto", device: str = "cpu", cache_dir: str | None = None,
                 max_tokens: int | None = MAX_TOKENS, runtime: str = "torch"):
        self.model_name = model
        self.recipe = recipe or default_recipe(model)
        if self.recipe.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.recipe.pooling!r}")
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.device = device
        self.dtype = resolve_dtype(dtype, device)
        self.path = models.resolve(model, cache_dir)
        self.tokenizer, self.model = _load(self.path, self.dtype, device)
        self.runtime, self.forward = runtime, forward_for(runtime, self.model, self.path, self.dtype, device, cache_dir)
        self.dimension = self.model.config.hidden_size

    def describe(self) -> dict:
        """What meta.json records about this encoder."""
        return {"model": self.model_name, "dtype": str(self.dtype).replace("torch.", ""),
                "dimension": self.dimension, **asdict(self.recipe), "fingerprint": models.fingerprint(self.path)}

    def embed(self, texts: Sequence[str], max_length: int, progress: bool = False) -> np.ndarray:
        """Vectors of ``texts`` (already prefixed) as float32 ``(len(texts), dimension)``.

        Texts are sorted by token length and cut into batches by ``token_batches`` (at most
        ``batch_size`` texts and ``max_tokens`` padded tokens each), so each batch pads little;
        vectors come back in input order.
        """
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        max_length = min(max_length, self.tokenizer.model_max_length)  # never past the model's positions
        ids = self.tokenizer(list(texts), truncation=True, max_length=max_length,
                             add_special_tokens=True)["input_ids"]
        batches = token_batches([len(i) for i in ids], self.batch_size, self.max_tokens)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="encode", unit="batch")
        with torch.inference_mode():
            for batch in batches:
                enc = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
                enc = {k: v.to(self.device) for k, v in enc.items()}
                vec = pool(self.forward(enc["input_ids"], enc["attention_mask"]), enc["attention_mask"], self.recipe)
                out[batch] = vec.cpu().numpy()
        return out

    def queries(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors: the recipe's query prefix and length."""
        return self.embed([self.recipe.query_prefix + q for q in queries], self.recipe.query_max_length)

    def passages(self, texts: Sequence[str], titles: Sequence[str] | None = None, progress: bool = False) -> np.ndarray:
        """Passage vectors of ``title text`` (Pyserini's convention), with the recipe's passage prefix and length."""
        titles = titles or [None] * len(texts)
        full = [self.recipe.passage_prefix + passage_text(t, ti) for t, ti in zip(texts, titles)]
        return self.embed(full, self.recipe.passage_max_length, progress)


def token_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices of ``lengths`` in ascending length, cut into batches of at most ``batch_size`` texts whose
    padded size (count x longest) stays within ``max_tokens``; a text longer than the budget goes alone.
    ``max_tokens`` None or 0: batches of ``batch_size`` only."""
    batches, batch = [], []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if batch and (len(batch) == batch_size or max_tokens and (len(batch) + 1) * lengths[i] > max_tokens):
            batches.append(batch)
            batch = []
        batch.append(i)
    return batches + [batch] if batch else batches


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, recipe: Recipe) -> torch.Tensor:
    """Token states -> one float32 vector per text: CLS or mean pooling, then optional L2 norm."""
    if recipe.pooling == "cls":
        vec = hidden[:, 0]
    else:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    vec = vec.float()
    return torch.nn.functional.normalize(vec, dim=-1) if recipe.l2_norm else vec


def passage_text(text: str, title: str | None = None) -> str:
    """Passage as the encoder reads it: ``title text`` where a title exists (Pyserini's convention)."""
    return f"{title} {text}" if title else text

