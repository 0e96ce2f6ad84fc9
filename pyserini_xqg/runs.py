"""TREC run files: written sorted by score, ties broken by docid, so reruns are byte-identical."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

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


def format_run(run: Mapping[str, Iterable[tuple[str, float]]], tag: str, k: int | None = None) -> str:
    lines = []
    for qid in run:
        for rank, (docid, score) in enumerate(ranked(run[qid], k), 1):
            lines.append(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")
    return "".join(lines)


def write_run(run: Mapping[str, Iterable[tuple[str, float]]], path: str | os.PathLike, tag: str,
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
