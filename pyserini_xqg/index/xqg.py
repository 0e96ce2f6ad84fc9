"""xQG augmented indexes: generated queries folded into each passage's vector.

Fused layout (the paper's): ``v(p) = (1 - a) * E(p) + a * agg_i E(q_i)`` with ``agg`` =
``sum`` (the paper's, a = 0.01) or ``mean``, in one Pyserini FAISS index. ``auto`` (the
default) takes the paper's sum when every passage has the same number of generated
queries and the mean otherwise, where the sum favours passages with more queries.

Side-by-side layout: ``[E(p) ; m(p)]`` with ``m(p) = agg_i E(q_i)``, a vector of twice
the dimension. A query is encoded as ``[(1 - a) E(q) ; a E(q)]``, so the inner product is
``(1 - a) q.p + a q.m`` - exactly the fused score - and ``a`` is chosen at search time
without re-encoding (``side_by_side_queries``).

A passage without generated queries keeps its own vector: its ``m(p)`` is ``E(p)``, so both
layouts score it ``q.p`` whatever ``a`` is. (With ``m(p) = 0`` it would score ``(1 - a) q.p``
and lose to every passage that has queries; the paper gives every passage queries.)

Shrinkage ``k`` (mean only): ``m(p) = (sum_i E(q_i) + k E(p)) / (n + k)``, so a passage with
few queries moves less than one with many; ``k = 0`` is the plain mean.

Calibration (``calibrate``, on by default): every generated query's vector is moved by
``mean E(p) - mean E(q)`` over the corpus before it is aggregated. An encoder scores a query
higher against other queries than against passages (multilingual-e5-small: 0.85 against 0.77 on
average on AfriQA), so without it a passage that has queries outscores one that has none,
relevant or not. When every passage has the same number of queries, the move adds one
constant to each query's scores and changes no ranking (the paper's setting).

Noisy xQG (``noise``, ``copies``): each generated query also contributes ``copies`` perturbed copies
(``perturb.noise.with_copies``: seeded per passage, query and copy; an attack that does not apply
to the query's language is skipped for it) to its passage's aggregate, as ordinary generated queries:
the counts, ``agg`` and the calibration include them; ``meta.json`` records them under ``xqg.noise``.

Streaming: generated queries are read from their JSONL in batches, encoded, and added
into a disk-backed (memmap) accumulator of one row per passage, so memory does not grow
with the number of generated queries; passages are then encoded (or read from a dense index)
once into a second memmap, and each variant combines them with their rows chunk by chunk.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..encode.embedder import Embedder
from ..io.collection import iter_corpus
from ..io.files import DataError, check_free_space
from ..io.generated import read_generated
from ..perturb.noise import COPIES, Noise, copies_summary, with_copies
from . import dense

AGGREGATIONS = ("auto", "sum", "mean")  # auto: the paper's sum when every passage has n queries, else mean
LAYOUTS = ("fused", "side-by-side")
QUERY_BATCH = 1024


def accumulate(generated: str | os.PathLike, rows: dict[str, int], embedder: Embedder, work: Path,
               langs: list[str] | None = None, progress: bool = True, noise: Noise | None = None,
               copies: int = COPIES) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sum of generated-query vectors per passage (memmap), query counts, and a summary for meta.json;
    with ``noise``, each query's perturbed ``copies`` are generated queries too."""
    from tqdm import tqdm

    acc = np.lib.format.open_memmap(work / "query-sum.npy", mode="w+", dtype=np.float32,
                                    shape=(len(rows), embedder.dimension))
    counts = np.zeros(len(rows), dtype=np.int64)
    provenance, per_lang = [], Counter()
    covered: dict[str, np.ndarray] = {}  # language -> which passages have at least one of its queries
    buffer_rows: list[int] = []
    buffer_texts: list[str] = []

    def flush():
        if buffer_texts:
            vectors = embedder.queries(buffer_texts)
            np.add.at(acc, np.asarray(buffer_rows), vectors)
            bar.update(len(buffer_texts))
            buffer_rows.clear()
            buffer_texts.clear()

    bar = tqdm(desc="encode generated queries", unit="query", disable=not progress)
    records, made = read_generated(generated, langs), Counter()
    for record in records if noise is None else with_copies(records, noise, copies, made):
        row = rows.get(record["docid"])
        if row is None:
            raise DataError(generated, None, f"generated queries name passage {record['docid']!r}, not in the corpus")
        if record["provenance"] not in provenance:
            provenance.append(record["provenance"])
        per_lang[record["lang"]] += len(record["queries"])
        covered.setdefault(record["lang"], np.zeros(len(rows), dtype=bool))[row] |= bool(record["queries"])
        counts[row] += len(record["queries"])
        buffer_rows.extend([row] * len(record["queries"]))
        buffer_texts.extend(record["queries"])
        if len(buffer_texts) >= QUERY_BATCH:
            flush()
    flush()
    bar.close()
    acc.flush()
    summary = {"generator": provenance, "languages": dict(sorted(per_lang.items())),
               "queries": int(counts.sum()),
               "n_per_passage": {"min": int(counts.min()) if len(counts) else 0,
                                 "max": int(counts.max()) if len(counts) else 0,
                                 "mean": float(counts.mean()) if len(counts) else 0.0},
               "coverage": coverage(int((counts > 0).sum()), len(rows),
                                    {lang: int(c.sum()) for lang, c in sorted(covered.items())})}
    if noise is not None:
        summary["noise"] = copies_summary(noise, copies, made)
    return acc, counts, summary


def coverage(passages: int, total: int, languages: dict[str, int]) -> dict:
    """meta.json's coverage: passages with at least one generated query, overall and per language."""
    return {"passages": passages, "of": total, "fraction": passages / total if total else 0.0,
            "languages": languages}


def warn_partial(summary: dict) -> None:
    c = summary["coverage"]
    if c["passages"] < c["of"]:
        warnings.warn(f"generated queries cover {c['passages']} of {c['of']} passages ({c['fraction']:.1%}); "
                      "the others keep their plain dense vectors", stacklevel=3)


def combine(p: np.ndarray, q_sum: np.ndarray, counts: np.ndarray, a: float, agg: str, layout: str,
            shrinkage: float = 0.0, offset: np.ndarray | None = None) -> np.ndarray:
    """Passage vectors ``p`` with their aggregated query vectors, in the given layout; a passage
    without queries stands in for them (``m(p) = p``). ``offset``: ``passage_offset``, added to
    every generated query's vector first."""
    if agg == "mean":
        m = (q_sum + shrinkage * p) / np.maximum(counts + shrinkage, 1e-12)[:, None]
    else:
        m = q_sum
    empty = (counts == 0)[:, None]
    m = np.where(empty, p, m)
    if layout == "side-by-side":
        out = np.hstack([p, m])
    else:
        out = np.where(empty, p, (1 - a) * p + a * m)  # exactly p, not (1 - a) p + a p
    if offset is not None:
        out = out + calibration(counts, a, agg, layout, shrinkage, offset)
    return out.astype(np.float32)


def calibration(counts: np.ndarray, a: float, agg: str, layout: str, shrinkage: float,
                offset: np.ndarray) -> np.ndarray:
    """What moving each generated query by ``offset`` adds to ``combine``'s rows (0 where a passage has none)."""
    n = counts.astype(np.float64)
    weight = n / np.maximum(n + shrinkage, 1e-12) if agg == "mean" else n  # offset's share of m(p)
    shift = weight[:, None] * offset[None, :]
    if layout == "side-by-side":
        return np.hstack([np.zeros_like(shift), shift])
    return a * shift


def passage_offset(passages: np.ndarray, q_sum: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean passage vector minus mean generated-query vector (over the whole corpus, in float64)."""
    total = int(counts.sum())
    mean_q = q_sum.sum(0, dtype=np.float64) / total if total else 0.0
    return (passages.mean(0, dtype=np.float64) - mean_q).astype(np.float32)


@dataclass(frozen=True)
class Variant:
    """One xQG index to build: where, and how the generated queries are folded in."""

    index: str | os.PathLike
    a: float = 0.01
    agg: str = "auto"
    layout: str = "fused"
    shrinkage: float = 0.0  # k: pseudo-queries of the passage itself in the mean (0: none)
    calibrate: bool = True  # move generated queries by passage_offset (rank-neutral at full coverage)

    def check(self) -> None:
        if self.agg not in AGGREGATIONS or self.layout not in LAYOUTS:
            raise ValueError(f"agg must be one of {AGGREGATIONS} and layout one of {LAYOUTS}")
        if not 0 <= self.a <= 1:
            raise ValueError(f"a must be in [0, 1], not {self.a}")
        if not self.shrinkage >= 0:
            raise ValueError(f"shrinkage must be >= 0, not {self.shrinkage}")
        if self.shrinkage and self.agg == "sum":
            raise ValueError("shrinkage applies to agg=mean (or auto when it takes the mean), not to sum")


def resolve_agg(agg: str, low: int, high: int) -> str:
    """``auto`` as the paper's sum when every passage has the same number of queries (``low`` to
    ``high``), else the mean; a warning wherever counts vary with sum or auto."""
    if low != high and agg == "sum":
        warnings.warn(f"passages have {low}-{high} generated queries: with agg=sum, passages with more queries "
                      "get larger vectors; consider agg=mean", stacklevel=3)
    if low != high and agg == "auto":
        warnings.warn(f"passages have {low}-{high} generated queries: agg=auto takes the mean, not the paper's sum",
                      stacklevel=3)
    return ("sum" if low == high else "mean") if agg == "auto" else agg


def build_indexes(corpus: str | os.PathLike, generated: str | os.PathLike, variants: list[Variant],
                  embedder: Embedder, langs: list[str] | None = None, progress: bool = True,
                  title: bool = True, passages_from: str | os.PathLike | None = None,
                  sums_to: str | os.PathLike | None = None, noise: Noise | None = None,
                  copies: int = COPIES) -> list[Path]:
    """xQG indexes of ``corpus``, one per variant, from one pass over the generated queries.

    ``passages_from``: a dense index of ``corpus`` built by the same encoder with the same title
    choice, whose passage vectors are reused instead of encoding the corpus again. ``sums_to``:
    an .npz for the sums behind ``passage_offset`` (the Ray engine's shards). ``noise``: each generated
    query also contributes ``copies`` perturbed copies (noisy xQG).
    """
    for v in variants:
        v.check()
    first = Path(variants[0].index)
    first.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{first.name}-queries-", dir=first.parent))
    try:
        rows = {p.docid: i for i, p in enumerate(iter_corpus(corpus))}
        check_free_space(first, dense.vector_bytes(len(rows), embedder.dimension) * (1 + sum(
            2 if v.layout == "side-by-side" else 1 for v in variants)), "the passage vectors and the xQG indexes")
        q_sum, counts, summary = accumulate(generated, rows, embedder, work, langs, progress, noise, copies)
        n = summary["n_per_passage"]
        variants = [replace(v, agg=resolve_agg(v.agg, n["min"], n["max"])) for v in variants]
        for v in variants:
            v.check()  # shrinkage with an auto that became the sum
        warn_partial(summary)
        docids = list(rows)
        vectors = np.lib.format.open_memmap(work / "passages.npy", mode="w+", dtype=np.float32,
                                            shape=(len(rows), embedder.dimension))
        start = 0  # one pass over the passages, encoded or reused, for every variant and the offset
        for _, chunk in (dense.stored_chunks(passages_from, docids, embedder.describe(), title)
                         if passages_from is not None else
                         (([p.docid for p in c], v) for c, v in dense.encoded_chunks(corpus, embedder, progress, title))):
            vectors[start:start + len(chunk)] = chunk
            start += len(chunk)
        offset = passage_offset(vectors, q_sum, counts)
        if sums_to is not None:  # a shard's part of the offset, for the Ray engine to combine
            np.savez(sums_to, passages=vectors.sum(0, dtype=np.float64), n_passages=len(docids),
                     queries=q_sum.sum(0, dtype=np.float64), n_queries=int(counts.sum()))

        built = []
        for v in variants:
            def chunks(v=v):
                for start in range(0, len(docids), dense.CHUNK):
                    end = min(start + dense.CHUNK, len(docids))
                    yield docids[start:end], combine(np.asarray(vectors[start:end]), np.asarray(q_sum[start:end]),
                                                     counts[start:end], v.a, v.agg, v.layout, v.shrinkage,
                                                     offset if v.calibrate else None)

            dimension = embedder.dimension * (2 if v.layout == "side-by-side" else 1)
            meta = {"encoder": embedder.describe(), "corpus": str(corpus), "title": title,
                    "xqg": {"a": v.a, "agg": v.agg, "layout": v.layout, "shrinkage": v.shrinkage,
                            "calibrate": v.calibrate, **summary}}
            built.append(dense.write_index(v.index, chunks(), dimension, meta))
        return built
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_index(corpus: str | os.PathLike, generated: str | os.PathLike, index: str | os.PathLike,
                embedder: Embedder, a: float = 0.01, agg: str = "auto", layout: str = "fused",
                langs: list[str] | None = None, progress: bool = True, title: bool = True,
                passages_from: str | os.PathLike | None = None, shrinkage: float = 0.0,
                calibrate: bool = True, noise: Noise | None = None, copies: int = COPIES) -> Path:
    """An xQG index of ``corpus`` augmented with the queries in ``generated`` (see ``build_indexes``)."""
    return build_indexes(corpus, generated, [Variant(index, a, agg, layout, shrinkage, calibrate)], embedder, langs,
                         progress, title, passages_from, noise=noise, copies=copies)[0]


def side_by_side_queries(q: np.ndarray, a: float) -> np.ndarray:
    """Query vectors for a side-by-side index at weight ``a``: ``[(1 - a) q ; a q]``."""
    return np.hstack([(1 - a) * q, a * q]).astype(np.float32)
