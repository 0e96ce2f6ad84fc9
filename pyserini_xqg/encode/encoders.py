"""The plugin's encoders as Pyserini encoder classes, so ``FaissSearcher`` and ``HybridSearcher``
take them unchanged: ``PassageEncoder`` subclasses Pyserini's ``DocumentEncoder`` and
``QueryEncoder`` its ``QueryEncoder``, each over one ``Embedder``.

Pyserini's ``pyserini.encode`` loads Anserini classes when imported, so this module starts
the JVM (``jvm.start``) first; code that only needs vectors uses ``Embedder`` directly.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from .. import jvm
from . import models
from .embedder import Embedder

jvm.start()
from pyserini.encode import DocumentEncoder, QueryEncoder as _PyseriniQueryEncoder  # noqa: E402


class PassageEncoder(DocumentEncoder):
    """Pyserini ``DocumentEncoder`` for passages (``encode(texts, titles=None)``)."""

    def __init__(self, model: str = models.BUILTIN_MODEL, **kwargs):
        self.embedder = kwargs.pop("embedder", None) or Embedder(model, **kwargs)

    def encode(self, texts: Sequence[str], titles: Sequence[str] | None = None, **kwargs) -> np.ndarray:
        return self.embedder.passages(texts, titles, kwargs.get("progress", False))


class QueryEncoder(_PyseriniQueryEncoder):
    """Pyserini ``QueryEncoder``: ``encode(query)`` for one, ``encode_batch(queries)`` for many.

    ``transform`` rewrites the batch's vectors (a side-by-side xQG index's query side does).
    """

    def __init__(self, model: str = models.BUILTIN_MODEL, transform: Callable[[np.ndarray], np.ndarray] | None = None,
                 **kwargs):
        super().__init__()
        self.has_model = True
        self.embedder = kwargs.pop("embedder", None) or Embedder(model, **kwargs)
        self.transform = transform

    def encode_batch(self, queries: Iterable[str]) -> np.ndarray:
        vectors = self.embedder.queries(list(queries))
        return self.transform(vectors) if self.transform else vectors

    def encode(self, query: str, **kwargs) -> np.ndarray:
        return self.encode_batch([query])[0]
