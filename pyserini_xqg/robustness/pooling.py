"""Several training runs of the same systems (seeds), read as one: a robustness report's view with each trained
system under one name, its per-query scores and drops averaged over the runs, and how far the runs agree.

Pooling averages each query's drop (and clean score) over the seeds before the paired test; the test then sees
one value per query, so the queries, not the seeds, are its sample. Agreement counts the seeds whose own test
finds the pooled effect's sign and significance.
"""
from __future__ import annotations

import statistics
from typing import Iterable, Mapping

from .measures import mean_per_query


def _pooled(by_system: Mapping[str, dict], pools: Mapping[str, list[str]], measures: Iterable[str],
            leave_out: Iterable[str] = ()) -> dict:
    """system -> measure -> qid -> value, with each pool's members averaged under the pool's name; the systems of no
    pool kept as they are, the members of every pool and those in ``leave_out`` left out."""
    members = {m for names in pools.values() for m in names} | set(leave_out)
    out = {s: v for s, v in by_system.items() if s not in members}
    for name, names in pools.items():
        found = [by_system[n] for n in names if n in by_system]
        if found:
            out[name] = {m: mean_per_query([f[m] for f in found if m in f]) for m in measures}
    return out


def view(report: dict, pools: Mapping[str, list[str]], leave_out: Iterable[str] = ()) -> dict:
    """``report`` (``runner.run_robustness``) as if each pool (name -> the systems of one role over seeds) were one
    system: its clean scores and its drops per query averaged over the pool's members; the systems ``leave_out``
    names (other runs) left out. Every other part of the report is kept as it was run."""
    measures, leave_out = report["measures"], list(leave_out)
    clean = {**report["clean"], "per_query": _pooled(report["clean"]["per_query"], pools, measures, leave_out)}
    drops = {attack: _pooled(by_system, pools, measures, leave_out)
             for attack, by_system in report["per_query_drop"].items()}
    return {**report, "clean": clean, "per_query_drop": drops}


def mean_sd(values: list[float]) -> dict:
    """Mean and sample standard deviation (None for one value: one run has no spread to show), with the values."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "values": values}


def mean_sd_text(cell: Mapping) -> str:
    """``0.512 ± 0.010`` over several runs; ``0.512 (one seed)`` where there was one."""
    return f"{cell['mean']:.3f} ± {cell['sd']:.3f}" if cell["sd"] is not None else f"{cell['mean']:.3f} (one seed)"


def agreement(pooled: Mapping[str, Mapping[str, dict]], per_seed: list[Mapping[str, Mapping[str, dict]]]) -> dict:
    """effect -> group -> {"agree": seeds whose effect has the pooled sign and is significant, "seeds": how many
    had the effect, "deltas": each seed's}, for effect tables (effect -> group -> {delta, significant, ...})."""
    out: dict = {}
    for effect, groups in pooled.items():
        for group, cell in groups.items():
            cells = [seed[effect][group] for seed in per_seed if group in seed.get(effect, {})]
            sign = (cell["delta"] > 0) - (cell["delta"] < 0)
            out.setdefault(effect, {})[group] = {
                "agree": sum(c["significant"] and (c["delta"] > 0) - (c["delta"] < 0) == sign for c in cells),
                "seeds": len(cells), "deltas": [c["delta"] for c in cells]}
    return out
