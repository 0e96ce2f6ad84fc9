"""Per-language evaluation of runs: measures x languages, per query, macro-averaged (tables: ``report``)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Mapping

from . import metrics
from .metrics import is_recall_kt
from ..io.collection import load_qrels
from ..io.runs import Run

DEFAULT_MEASURES = ("R@2kt", "R@5kt", "nDCG@10", "R@100", "MRR@10")


@dataclass
class Results:
    """system -> measure -> qid -> value, with each qid's language."""

    languages: dict[str, str]
    per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def table(self, measure: str) -> dict[str, dict[str, float]]:
        """system -> {lang: mean over its queries, ..., "avg": macro average over languages}."""
        out = {}
        for system, by_measure in self.per_query.items():
            groups: dict[str, list[float]] = defaultdict(list)
            for qid, value in by_measure[measure].items():
                if qid in self.languages:
                    groups[self.languages[qid]].append(value)
            row = {lang: fmean(groups[lang]) for lang in dict.fromkeys(self.languages.values()) if groups[lang]}
            row["avg"] = fmean(row.values()) if row else 0.0
            out[system] = row
        return out

    def to_json(self, measures) -> dict:
        return {"measures": {m: self.table(m) for m in measures},
                "per_query": self.per_query, "languages": self.languages}


def _check_coverage(system: str, run: Run, qid_lang: Mapping[str, str], judged: set[str] | None,
                    answers: Mapping[str, list[str]] | None) -> None:
    """A run none of whose queries is judged would score 0 everywhere: say so instead."""
    asked = set(run) & set(qid_lang)
    if not asked:
        raise ValueError(f"run {system!r}: none of its queries is among the queries evaluated")
    if answers is not None and not asked & set(answers):
        raise ValueError(f"run {system!r}: the answers name none of its queries, so R@kt cannot be computed")
    if judged is not None and not asked & judged:
        raise ValueError(f"run {system!r}: the qrels judge none of its queries")


def evaluate(runs: Mapping[str, Run], qid_lang: Mapping[str, str], qrels_path: str | Path | None = None,
             answers: Mapping[str, list[str]] | None = None, texts: Mapping[str, str] | None = None,
             measures=DEFAULT_MEASURES) -> Results:
    """Score every run on every measure, per query, restricted to the queries in ``qid_lang``."""
    metrics.check_measures(tuple(measures))
    results = Results(dict(qid_lang))
    judged = set(load_qrels(qrels_path)) if qrels_path is not None and any(not is_recall_kt(m) for m in measures) \
        else None
    for system, run in runs.items():
        _check_coverage(system, run, qid_lang, judged, answers if any(is_recall_kt(m) for m in measures) else None)
        scores: dict[str, dict[str, float]] = {}
        trec_measures = [m for m in measures if not is_recall_kt(m)]
        if trec_measures:
            if qrels_path is None:
                raise ValueError("trec_eval measures need qrels")
            scores.update(metrics.trec_eval(run, qrels_path, trec_measures))
        for m in measures:
            if k := is_recall_kt(m):
                if answers is None or texts is None:
                    raise ValueError(f"{m} needs answers and passage texts")
                scores[m] = metrics.run_recall_at_kt(run, answers, texts, k)
        results.per_query[system] = {m: {q: v for q, v in s.items() if q in qid_lang} for m, s in scores.items()}
    return results
