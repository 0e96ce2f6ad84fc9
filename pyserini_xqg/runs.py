"""TREC run files: written sorted by score, ties broken by docid, so reruns are byte-identical."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .data import DataError, write_text_atomic

Hits = Sequence[tuple[str, float]]
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

    ``docids`` (object array) and ``scores`` (float) are ``(len(qids), k)``. It reads like a
    ``Run`` (qid -> [(docid, score)]), one query's hits built when asked for.
    """

    qids: list[str]
    docids: np.ndarray
    scores: np.ndarray

    def __post_init__(self):
        self._row = {q: i for i, q in enumerate(self.qids)}

    def __getitem__(self, qid: str) -> list[tuple[str, float]]:
        i = self._row[qid]
        return list(zip(self.docids[i].tolist(), self.scores[i].tolist()))

    def __iter__(self):
        return iter(self.qids)

    def __len__(self) -> int:
        return len(self.qids)

    @classmethod
    def from_search(cls, qids: list[str], docids: np.ndarray, scores: np.ndarray) -> "Ranking":
        """From a searcher's score-sorted rows; rows with scores within 1e-6 of each other are re-ranked
        exactly as ``ranked`` does (6-decimal scores, then docid), so the run files are the same."""
        docids, scores = docids.copy(), scores.astype(np.float64)
        for row in np.flatnonzero((np.diff(scores, axis=1) > -1e-6).any(axis=1)):
            hits = ranked(zip(docids[row].tolist(), scores[row].tolist()))
            docids[row], scores[row] = [d for d, _ in hits], [s for _, s in hits]
        return cls(list(qids), docids, scores)

    def format(self, tag: str, k: int | None = None) -> str:
        k = k or self.docids.shape[1]
        return "".join(f"{q} Q0 {d} {r} {s:.6f} {tag}\n" for q, ds, ss in zip(self.qids, self.docids[:, :k].tolist(),
                                                                              self.scores[:, :k].tolist())
                       for r, (d, s) in enumerate(zip(ds, ss), 1))


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
    if not path.exists():
        raise DataError(path, None, "run file not found")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) != 6:
                raise DataError(path, number, "expected TREC run: qid Q0 docid rank score tag")
            try:
                score = float(cols[4])
            except ValueError as err:
                raise DataError(path, number, f"score {cols[4]!r} is not a number") from err
            run.setdefault(cols[0], []).append((cols[2], score))
    return {qid: ranked(hits) for qid, hits in run.items()}
