"""Sparse-dense fusion: of run files through ``pyserini.fusion``, and live through ``HybridSearcher``."""
from __future__ import annotations

import os

from .. import jvm
from ..io.runs import Run, from_pyserini, ranked
from . import dense, lucene

METHODS = ("rrf", "interpolation")


def _trec_run(run: Run):
    from pyserini.trectools import TrecRun

    rows = [(qid, "Q0", docid, rank, score, "run") for qid, hits in run.items()
            for rank, (docid, score) in enumerate(ranked(hits), 1)]
    return TrecRun.from_list(rows) if rows else TrecRun()  # from_list fails on no rows (BM25 can match nothing)


def fuse(runs: list[Run], method: str = "rrf", weight: float = 0.5, rrf_k: int = 60, depth: int | None = None,
         k: int = 1000) -> Run:
    """Fuse runs: reciprocal rank fusion, or interpolation of min-max normalised scores.

    ``interpolation`` takes exactly two runs: ``weight * first + (1 - weight) * second``,
    each run's scores min-max normalised per query first (pyserini's RescoreMethod.NORMALIZE).
    """
    from pyserini.fusion import interpolation, reciprocal_rank_fusion
    from pyserini.trectools import RescoreMethod

    if len(runs) < 2:
        raise ValueError(f"fusion needs at least two runs, not {len(runs)}")
    if not 0 <= weight <= 1:
        raise ValueError(f"--weight must be in [0, 1], not {weight}")
    if k < 1 or rrf_k < 0 or (depth is not None and depth < 1):
        raise ValueError(f"--hits and --depth must be at least 1 and --rrf-k at least 0, not {k}, {depth}, {rrf_k}")
    trec = [_trec_run(r) for r in runs]
    if method == "rrf":
        fused = reciprocal_rank_fusion(trec, rrf_k=rrf_k, depth=depth, k=k)
    elif method == "interpolation":
        if len(trec) != 2:
            raise ValueError("interpolation fuses exactly two runs")
        fused = interpolation([t.clone().rescore(method=RescoreMethod.NORMALIZE) for t in trec], weight, depth, k)
    else:
        raise ValueError(f"fusion method must be one of {METHODS}, not {method!r}")
    out: Run = {}
    for qid, docid, score in fused.run_data[["topic", "docid", "score"]].itertuples(index=False):
        out.setdefault(str(qid), []).append((str(docid), float(score)))
    return {qid: ranked(hits, k) for qid, hits in out.items()}


def hybrid_search(dense_index: str | os.PathLike, sparse_index: str | os.PathLike, topics: dict[str, str],
                  alpha: float = 0.1, k0: int = 1000, k: int = 100, normalization: bool = False,
                  weight_on_dense: bool = False, threads: int = 2, a: float | None = None) -> Run:
    """Pyserini's ``HybridSearcher`` (BM25 + a dense or xQG index), ties broken by docid.

    Score = dense + alpha * BM25 (Pyserini's defaults). Its ``normalization`` divides by
    the spread of each run's scores and fails on a query with a single sparse hit.
    """
    jvm.start()
    from pyserini.search.hybrid import HybridSearcher

    searcher = HybridSearcher(dense.searcher(dense_index, dense.query_encoder_for(dense_index, a)),
                              lucene.searcher(sparse_index))
    qids = list(topics)
    hits = searcher.batch_search([topics[q] for q in qids], qids, k0=k0, k=k0, threads=threads, alpha=alpha,
                                 normalization=normalization, weight_on_dense=weight_on_dense)
    return {qid: ranked(found, k) for qid, found in from_pyserini(hits, qids).items()}
