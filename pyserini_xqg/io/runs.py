"""TREC run files: written sorted by score, ties broken by docid, so reruns are byte-identical."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from .files import DataError, lines, write_text_atomic

Run = dict[str, list[tuple[str, float]]]


def ranked(hits: Iterable[tuple[str, float]], k: int | None = None) -> list[tuple[str, float]]:
    """Hits by descending score (as printed, 6 decimals), then ascending docid."""
    rounded = [(docid, round(float(score), 6)) for docid, score in hits]
    rounded.sort(key=lambda h: (-h[1], h[0]))
    return rounded[:k] if k else rounded


def from_pyserini(results: Mapping[str, Iterable], qids: Iterable[str]) -> Run:
    """A run from Pyserini's ``batch_search`` results (hits with ``docid`` and ``score``), in ``qids`` order."""
    return {qid: [(h.docid, float(h.score)) for h in results.get(qid, [])] for qid in qids}


@dataclass
class Ranking(Mapping):
    """Batched search results as arrays, in ``ranked`` order: no Python object per hit until asked.

    ``rows`` (positions in ``docids``, the index's docids) and ``scores`` are ``(len(qids), k)``.
    It reads like a ``Run`` (qid -> [(docid, score)]), one query's hits built when asked for.
    """

    qids: list[str]
    rows: np.ndarray
    scores: np.ndarray
    docids: np.ndarray

    def __post_init__(self):
        self._row = {q: i for i, q in enumerate(self.qids)}

    def __getitem__(self, qid: str) -> list[tuple[str, float]]:
        i = self._row[qid]
        return list(zip(self.docids[self.rows[i]].tolist(), self.scores[i].tolist()))

    def __iter__(self):
        return iter(self.qids)

    def __len__(self) -> int:
        return len(self.qids)

    @classmethod
    def from_search(cls, qids: list[str], scores: np.ndarray, rows: np.ndarray, docids: np.ndarray,
                    docid_order: np.ndarray | None = None) -> "Ranking":
        """From a searcher's ``scores`` and ``rows`` (indexes into ``docids``), ordered as ``ranked`` orders
        hits: by score as printed (6 decimals), then docid, so the run files are the same.

        ``scores`` must be sorted high to low in each row, as FAISS returns them. ``docid_order``
        (each docid's position in sorted order) can be passed in once per index. Rows holding a
        score too close to a rounding boundary to round exactly in numpy are ranked by ``ranked``.
        """
        if docid_order is None:
            docid_order = np.argsort(np.argsort(docids.astype(str), kind="stable"))
        scores = scores.astype(np.float64)
        micro = scores * 1e6
        rounded = np.rint(micro)
        # number the runs of equal printed scores, then sort by (run, docid): timsort (kind="stable")
        # takes the already-ordered runs in linear time
        group = np.concatenate([np.zeros((len(rows), 1), np.int64), np.cumsum(rounded[:, 1:] != rounded[:, :-1], 1)], 1)
        order = np.argsort(group * len(docid_order) + docid_order[rows], axis=-1, kind="stable")
        rows, scores = np.take_along_axis(rows, order, -1), np.take_along_axis(scores, order, -1)
        for i in np.flatnonzero((np.abs(np.abs(micro - rounded) - 0.5) < 1e-6).any(axis=1)):
            position = {d: r for d, r in zip(docids[rows[i]].tolist(), rows[i].tolist())}
            hits = ranked(zip(docids[rows[i]].tolist(), scores[i].tolist()))
            rows[i], scores[i] = [position[d] for d, _ in hits], [s for _, s in hits]
        return cls(list(qids), rows, scores, docids)

    def format(self, tag: str, k: int | None = None) -> str:
        k = k or self.rows.shape[1]
        return "".join(f"{q} Q0 {d} {r} {s:.6f} {tag}\n" for i, q in enumerate(self.qids)
                       for r, (d, s) in enumerate(zip(self.docids[self.rows[i, :k]].tolist(),
                                                      self.scores[i, :k].tolist()), 1))


def format_run(run: Mapping[str, Iterable[tuple[str, float]]] | Ranking, tag: str, k: int | None = None) -> str:
    if isinstance(run, Ranking):
        return run.format(tag, k)
    lines = []
    for qid in run:
        for rank, (docid, score) in enumerate(ranked(run[qid], k), 1):
            lines.append(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")
    return "".join(lines)


def write_run(run: Mapping[str, Iterable[tuple[str, float]]] | Ranking, path: str | os.PathLike, tag: str,
              k: int | None = None) -> Path:
    """Write ``run`` (qid -> hits) in TREC format, atomically."""
    write_text_atomic(path, format_run(run, tag, k))
    return Path(path)


def read_run(path: str | os.PathLike) -> Run:
    """qid -> [(docid, score)] in rank order."""
    path = Path(path)
    run: Run = {}
    seen: set[tuple[str, str]] = set()
    for number, line in lines(path):
        cols = line.split()
        if len(cols) != 6:
            raise DataError(path, number, "expected TREC run: qid Q0 docid rank score tag")
        try:
            score = float(cols[4])
        except ValueError as err:
            raise DataError(path, number, f"score {cols[4]!r} is not a number") from err
        if (cols[0], cols[2]) in seen:
            raise DataError(path, number, f"passage {cols[2]!r} is listed twice for query {cols[0]!r}")
        seen.add((cols[0], cols[2]))
        run.setdefault(cols[0], []).append((cols[2], score))
    return {qid: ranked(hits) for qid, hits in run.items()}
