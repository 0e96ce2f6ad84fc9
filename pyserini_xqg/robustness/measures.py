"""Robustness measures: how much a system's results move when its queries are attacked.

Per query, comparing the clean run with an attacked run (same qids):
- the score drop on any measure (absolute, and relative to the clean score),
- hurt / helped: the attacked score is lower / higher than the clean one,
- top-k overlap of the two rankings: Jaccard@k and rank-biased overlap (RBO, Webber,
  Moffat and Zobel 2010, extrapolated form for lists cut at the same depth).
``summarise`` averages these over queries, per language and per group of languages
(family, genus, script, resource class from ``io.languages``).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Mapping

from ..io.languages import LANGUAGES
from ..io.runs import Run

GROUPINGS = ("language", "family", "genus", "script", "resource_class")


def jaccard_at_k(a: list[str], b: list[str], k: int) -> float:
    """|top-k(a) & top-k(b)| / |top-k(a) | top-k(b)|; 1.0 for two empty lists."""
    x, y = set(a[:k]), set(b[:k])
    return len(x & y) / len(x | y) if x | y else 1.0


def rbo(a: list[str], b: list[str], p: float = 0.9, depth: int | None = None) -> float:
    """Extrapolated rank-biased overlap of two rankings cut at ``depth`` (default: the shorter)."""
    k = min(len(a), len(b)) if depth is None else min(depth, len(a), len(b))
    if k == 0:
        return 1.0 if not a and not b else 0.0
    seen_a, seen_b, overlap, total = set(), set(), 0, 0.0
    for d in range(1, k + 1):
        x, y = a[d - 1], b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        total += (overlap / d) * p ** d
    return (overlap / k) * p ** k + (1 - p) / p * total


def per_query(clean: Mapping[str, float], attacked: Mapping[str, float], clean_run: Run, attacked_run: Run,
              k: int = 10, p: float = 0.9) -> dict[str, dict[str, float]]:
    """qid -> {clean, attacked, drop, hurt, helped, jaccard, rbo} for the queries of ``clean``."""
    out = {}
    for qid, before in clean.items():
        after = attacked.get(qid, 0.0)
        a = [d for d, _ in clean_run.get(qid, [])]
        b = [d for d, _ in attacked_run.get(qid, [])]
        out[qid] = {"clean": before, "attacked": after, "drop": before - after,
                    "hurt": float(after < before), "helped": float(after > before),
                    "jaccard": jaccard_at_k(a, b, k), "rbo": rbo(a, b, p, depth=k)}
    return out


def group_of(lang: str, grouping: str) -> str:
    if grouping == "language":
        return lang
    value = getattr(LANGUAGES[lang], grouping)
    return f"class {value}" if grouping == "resource_class" else str(value)


def summarise(rows: Mapping[str, Mapping[str, float]], qid_lang: Mapping[str, str],
              grouping: str = "language") -> dict[str, dict[str, float]]:
    """Mean of each per-query value by group, plus the relative drop of the group's means."""
    groups: dict[str, list[Mapping[str, float]]] = defaultdict(list)
    for qid, row in rows.items():
        groups[group_of(qid_lang[qid], grouping)].append(row)
    out = {}
    for group, members in groups.items():
        mean = {key: statistics.fmean(r[key] for r in members) for key in members[0]}
        mean["relative_drop"] = mean["drop"] / mean["clean"] if mean["clean"] else 0.0
        mean["queries"] = len(members)
        out[group] = mean
    return out


def mean_per_query(tables: list[Mapping[str, float]]) -> dict[str, float]:
    """qid -> the mean of its values over the ``tables`` that have it (seeds, training runs), in qid order of
    first appearance."""
    values: dict[str, list[float]] = defaultdict(list)
    for table in tables:
        for qid, value in table.items():
            values[qid].append(value)
    return {qid: statistics.fmean(v) for qid, v in values.items()}


def over_seeds(summaries: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, tuple[float, float]]]:
    """(mean, standard deviation) of every summarised value across the seeds that have the group (a seed
    may change no query of a group)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for group in dict.fromkeys(g for s in summaries for g in s):
        having = [s[group] for s in summaries if group in s]
        out[group] = {}
        for key in having[0]:
            values = [h[key] for h in having]
            out[group][key] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
    return out

