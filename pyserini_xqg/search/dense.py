"""Dense and xQG search of a plugin index: raw FAISS with Pyserini's run order, or ``FaissSearcher`` itself.

``query_vectors_for`` reads an index's meta.json and gives the query side it was built for
(encoder, recipe, and for a side-by-side xQG index the weight ``a`` chosen at search time);
``batch_search`` returns the same run as ``FaissSearcher.batch_search`` without a Python
object per hit. Neither starts a JVM; ``searcher`` and ``query_encoder_for`` hand Pyserini
its own classes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from .. import jvm
from ..encode.embedder import Embedder, Recipe
from ..index.dense import read_meta
from ..index.xqg import side_by_side_queries
from ..io.files import DataError, write_errors
from ..io.runs import Ranking, Run, from_pyserini

QueryVectorsFn = Callable[[list[str]], np.ndarray]


@dataclass
class QueryVectors:
    """An index's query side: texts -> vectors (``[(1 - a) q ; a q]`` for a side-by-side xQG index)."""

    embedder: Embedder
    a: float | None = None

    @property
    def transform(self) -> Callable[[np.ndarray], np.ndarray] | None:
        return None if self.a is None else partial(side_by_side_queries, a=self.a)

    def __call__(self, texts: list[str]) -> np.ndarray:
        vectors = self.embedder.queries(texts)
        return vectors if self.a is None else side_by_side_queries(vectors, self.a)


def query_vectors_for(index: str | os.PathLike, a: float | None = None, allow_encoder_change: bool = False,
                      **kwargs) -> QueryVectors:
    """The query side an index was built for, from its meta.json (``kwargs``: Embedder's options).

    A side-by-side xQG index needs ``a`` (the weight of the generated queries), chosen at
    search time; other indexes refuse one. An encoder folder whose files changed since the
    index was built is refused unless ``allow_encoder_change``.
    """
    meta = read_meta(index)
    enc = dict(meta["encoder"])
    model = enc.pop("model")
    built_with = enc.pop("fingerprint", None)
    recipe = Recipe(**{k: enc[k] for k in Recipe.__dataclass_fields__})
    side_by_side = meta.get("xqg", {}).get("layout") == "side-by-side"
    if side_by_side and a is None:
        raise ValueError(f"{index} is a side-by-side xQG index: choose the weight a (--a) at search time")
    if not side_by_side and a is not None:
        raise ValueError(f"{index} fixes a at build time ({meta.get('xqg', {}).get('a', 'no xQG')}): --a applies "
                         "only to side-by-side xQG indexes")
    embedder = Embedder(model, recipe=recipe, **kwargs)
    now = embedder.describe()["fingerprint"]
    if built_with and now != built_with and not allow_encoder_change:
        raise DataError(index, None, f"was built with {model} as it was then ({built_with}); its files have changed "
                        f"since ({now}): rebuild the index, or pass --allow-encoder-change to search anyway")
    return QueryVectors(embedder, a)


def query_encoder_for(index: str | os.PathLike, a: float | None = None, **kwargs):
    """``query_vectors_for`` as Pyserini's ``QueryEncoder`` (the plugin's subclass), for its searchers."""
    from ..encode.encoders import QueryEncoder

    side = query_vectors_for(index, a, **kwargs)
    return QueryEncoder(embedder=side.embedder, transform=side.transform)


def searcher(index: str | os.PathLike, query_encoder=None):
    """Pyserini's own ``FaissSearcher`` over ``index`` with the plugin's query encoder."""
    jvm.start()
    from pyserini.search.faiss import FaissSearcher

    return FaissSearcher(str(index), query_encoder or query_encoder_for(index))


def search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2,
           vectors: QueryVectorsFn | None = None) -> Ranking:
    """Dense hits for every topic (batched query encoding, then ``batch_search``): qid -> [(docid, score)]."""
    vectors = vectors or query_vectors_for(index)
    qids = list(topics)
    return batch_search(index, qids, vectors([topics[q] for q in qids]), k, threads)


@lru_cache(maxsize=8)
def _open(index: str, stamp: tuple) -> tuple[faiss.Index, np.ndarray, np.ndarray]:
    """The FAISS index, its docids and each docid's rank in sorted order (for ties)."""
    folder = Path(index)
    try:
        flat = faiss.read_index(str(folder / "index"))
    except RuntimeError as err:  # a bad header, a truncated file
        raise DataError(folder / "index", None, "not a readable FAISS index (damaged or truncated); rebuild it "
                        f"with encode ({str(err).strip().splitlines()[-1]})") from None
    names = (folder / "docid").read_text(encoding="utf-8").splitlines()
    if len(names) != flat.ntotal:
        raise DataError(folder / "docid", None, f"{len(names)} docids for {flat.ntotal} vectors: the index is "
                        "damaged; rebuild it with encode")
    order = np.empty(len(names), dtype=np.int64)
    order[np.argsort(np.array(names), kind="stable")] = np.arange(len(names))
    return flat, np.array(names, dtype=object), order


def batch_search(index: str | os.PathLike, qids: list[str], vectors: np.ndarray, k: int = 100,
                 threads: int = 2) -> Ranking:
    """FAISS search of a plugin index, hits as arrays: the same run as ``FaissSearcher.batch_search``
    (``pyserini_search``) without its Python object per hit. The opened index is kept while unchanged."""
    files = [Path(index) / "index", Path(index) / "docid"]
    for f in files:
        if not f.is_file():
            raise DataError(f, None, "missing: not a complete dense index")
    flat, docids, order = _open(str(index), tuple(f.stat().st_mtime_ns for f in files))
    if vectors.ndim != 2 or vectors.shape[1] != flat.d:
        raise DataError(index, None, f"holds {flat.d}-dimensional vectors, but the query encoder gives "
                        f"{vectors.shape[-1]}: search it with the encoder that built it")
    faiss.omp_set_num_threads(threads)
    scores, rows = flat.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, flat.ntotal))
    return Ranking.from_search(list(qids), scores, rows, docids, order)


def pyserini_search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2,
                    query_encoder=None) -> Run:
    """The same search through Pyserini's ``FaissSearcher.batch_search`` (the reference ``search`` matches)."""
    s = searcher(index, query_encoder)
    qids = list(topics)
    return from_pyserini(s.batch_search([topics[q] for q in qids], qids, k=k, threads=threads), qids)


def write_encoded_queries(index: str | os.PathLike, topics: dict[str, str], output: str | os.PathLike,
                          a: float | None = None, as_read: dict[str, str] | None = None, **kwargs) -> Path:
    """Pre-encoded queries for Pyserini's own CLI (``--encoded-queries``): ``embedding.pkl``, text -> vector.

    The model sees the NFC text of ``topics``, as in ``search``. Pyserini looks a query up by its text as
    its topic reader returns it, not normalised: ``as_read`` (qid -> that text) adds those keys, with the
    vector of the normalised text, so both CLIs give the same run.
    """
    import pandas as pd

    vectors = query_vectors_for(index, a, **kwargs)
    texts = list(dict.fromkeys(topics.values()))
    encoded = dict(zip(texts, vectors(texts)))
    for qid, raw in (as_read or {}).items():
        encoded.setdefault(raw, encoded[topics[qid]])
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tmp = output / f".embedding.pkl.tmp-{os.getpid()}"
    try:
        with write_errors(output / "embedding.pkl"):
            pd.DataFrame({"text": list(encoded), "embedding": list(encoded.values())}).to_pickle(tmp)
            os.replace(tmp, output / "embedding.pkl")
    finally:
        tmp.unlink(missing_ok=True)
    return output
