"""Per-language evaluation of runs: measures x languages, per query, macro-averaged (tables: ``report``)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Mapping

from . import metrics
from ..io.runs import Run

DEFAULT_MEASURES = ("R@2kt", "R@5kt", "nDCG@10", "R@100", "MRR@10")


def is_recall_kt(measure: str) -> int | None:
    """Token budget of an ``R@<k>kt`` measure, else None."""
    if measure.endswith("kt") and measure.startswith("R@"):
        return int(measure[2:-2]) * 1000
    return None


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


def evaluate(runs: Mapping[str, Run], qid_lang: Mapping[str, str], qrels_path: str | Path | None = None,
             answers: Mapping[str, list[str]] | None = None, texts: Mapping[str, str] | None = None,
             measures=DEFAULT_MEASURES) -> Results:
    """Score every run on every measure, per query, restricted to the queries in ``qid_lang``."""
    results = Results(dict(qid_lang))
    for system, run in runs.items():
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
