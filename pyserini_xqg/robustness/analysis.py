"""The study's analysis: each system's per-query drop by kind of attack, its mean by language group with bootstrap
intervals, the effects between systems (paired t-test, Holm), per budget pooled over the training seeds, and the
positive control."""
from __future__ import annotations

import statistics
import zlib
from collections import defaultdict

from ..eval.significance import bootstrap_ci, compare, holm
from ..io.languages import LANGUAGES
from ..perturb import paraphrase
from . import pooling
from .adversarial import ADVERSARIAL
from .systems import EFFECTS, SYSTEMS, TRAINED, Settings, Trained, training_runs


KINDS = ("random", ADVERSARIAL, "paraphrase", "paraphrase, worst case")
"""The study's kinds of attack, each analysed apart: random noise (the average over the rule-based attacks),
the adversarial search, and paraphrases (model attacks) in the average case and in the worst case."""


SEEN, UNSEEN = "random noise the defences saw", "random noise the defences never saw"
"""With ``--defences``, the random attacks split by whether they are among the defences' noise (``--noise``); the
adversarial and paraphrase attacks are never seen."""


def kind_of(attack: str, seen: tuple[str, ...] = ()) -> str:
    """The attack's kind (``KINDS``); with the defences' ``seen`` attacks, a random one is ``SEEN`` or ``UNSEEN``."""
    if attack == ADVERSARIAL:
        return ADVERSARIAL
    if paraphrase.is_model_attack(attack):
        return KINDS[3] if attack.endswith(paraphrase.WORST) else KINDS[2]
    return (SEEN if attack in seen else UNSEEN) if seen else KINDS[0]


def query_drops(report: dict, measure: str, kind: str = KINDS[0],
                seen: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """system -> qid -> drop averaged over the attacks of ``kind`` (``KINDS``, or ``SEEN`` / ``UNSEEN`` given the
    defences' ``seen`` attacks) that changed the query: the worst case and the paraphrases are kept apart from
    random noise."""
    collected: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for attack, by_system in report["per_query_drop"].items():
        if kind_of(attack, seen if kind in (SEEN, UNSEEN) else ()) != kind:
            continue
        for system, by_measure in by_system.items():
            for qid, drop in by_measure[measure].items():
                collected[system][qid].append(drop)
    return {s: {q: statistics.fmean(v) for q, v in qs.items()} for s, qs in collected.items()}


def by_group(values: dict[str, float], groups: dict[str, str]) -> dict[str, float]:
    """Mean per group, then ``all`` (the mean over every query)."""
    members: dict[str, list[float]] = defaultdict(list)
    for qid, v in values.items():
        members[groups[qid]].append(v)
    return {**{g: statistics.fmean(members[g]) for g in sorted(members)}, "all": statistics.fmean(values.values())}


def interval(values, key: str) -> list[float]:
    """The 95% bootstrap interval of the mean of ``values`` (over queries), seeded by ``key``, the cell's name:
    the same cell gets the same interval on every run."""
    return list(bootstrap_ci(values, seed=zlib.crc32(key.encode())))


def group_intervals(values: dict[str, float], groups: dict[str, str], key: str) -> dict[str, list[float]]:
    """``interval`` of each group's mean (as ``by_group``), then of ``all``."""
    members: dict[str, list[float]] = defaultdict(list)
    for qid, v in values.items():
        members[groups[qid]].append(v)
    return {**{g: interval(members[g], f"{key}|{g}") for g in sorted(members)},
            "all": interval(list(values.values()), f"{key}|all")}


def effects(drops: dict[str, dict[str, float]], groups: dict[str, str], alpha: float) -> dict:
    """effect -> group -> {delta, ci (95% bootstrap over queries), p, p_holm, significant}; Holm over every
    (effect, group) cell."""
    cells = []
    for effect, (system, against) in EFFECTS.items():
        if system not in drops or against not in drops:
            continue
        shared = sorted(set(drops[system]) & set(drops[against]))
        for mapping in (groups, {q: "all" for q in groups}):
            for (_, group), c in compare({system: drops[system], against: drops[against]}, mapping, against).items():
                differences = [drops[system][q] - drops[against][q] for q in shared if mapping[q] == group]
                cells.append((effect, group, c.delta, interval(differences, f"{effect}|{group}"), c.p))
    adjusted = holm([p for *_, p in cells])
    out: dict = defaultdict(dict)
    for (effect, group, delta, ci, p), ph in zip(cells, adjusted):
        out[effect][group] = {"delta": delta, "ci": ci, "p": p, "p_holm": ph, "significant": ph < alpha}
    return dict(out)


NOISE_AWARE = "noise-aware vs standard fine-tuning (noise-aware - fine-tuned)"


def positive_control(analysis: dict, measure: str, steps: int) -> dict | None:
    """Whether noise-aware fine-tuning significantly reduced the drop under the very noise it trained on (the
    seen attacks, over all queries), at this training budget: where it did not, the defences' comparison is
    inconclusive, not evidence that they fail. None without the defences."""
    cell = analysis.get(SEEN, {}).get(measure, {}).get("family", {}).get("effects", {}).get(NOISE_AWARE, {}).get("all")
    if cell is None:
        return None
    return {"steps": steps, "measure": measure, **cell, "passed": cell["significant"] and cell["delta"] < 0}


def part(analysis: dict, kind: str) -> dict:
    """The analysis of one kind of attack (``KINDS``, ``SEEN``, ``UNSEEN``): measure -> grouping -> tables."""
    if kind == KINDS[0]:  # random noise: the measures at the top level, beside the other kinds
        return {m: tables for m, tables in analysis.items() if "family" in tables}
    return analysis.get(kind, {})


def pooled_view(report: dict, settings: Settings, runs: list[Trained]) -> dict:
    """The report with the trained systems of ``runs`` (one budget, its seeds) under their plain names, pooled
    over the seeds (``pooling.view``), and those of every other run left out."""
    pools = {role: [run.name(role) for run in runs] for role in TRAINED}
    members = {name for names in pools.values() for name in names}
    others = [run.name(role) for run in training_runs(settings) for role in TRAINED if run.name(role) not in members]
    return pooling.view(report, pools, others)


def analyse_budgets(report: dict, settings: Settings) -> dict[int, dict]:
    """Per budget (train-encoder steps): the ``analysis`` of the trained systems pooled over the seeds; each effect's
    ``agreement`` over the seeds (kind -> measure -> ``pooling.agreement`` by family, for the effects of a trained
    system: the others are the same in every seed); the trained systems' ``clean``
    scores over seeds (system -> measure -> ``pooling.mean_sd``), and the ``positive_control``."""
    seen = tuple(settings.noise) if settings.defences else ()
    out = {}
    for steps in settings.steps:
        runs = [Trained(steps, seed) for seed in settings.train_seeds]
        pooled = analyse(pooled_view(report, settings, runs), settings.alpha, seen)
        seeds = [analyse(pooled_view(report, settings, [run]), settings.alpha, seen) for run in runs] if len(runs) > 1 \
            else [pooled]
        trained = lambda effects: {e: c for e, c in effects.items() if set(EFFECTS[e]) & set(TRAINED)}  # noqa: E731
        agreement = {kind: {m: pooling.agreement(trained(table["family"]["effects"]),
                                                 [part(a, kind)[m]["family"]["effects"] for a in seeds])
                            for m, table in part(pooled, kind).items()}
                     for kind in (*KINDS, SEEN, UNSEEN) if part(pooled, kind)}
        per_query = report["clean"]["per_query"]
        clean = {role: {m: pooling.mean_sd([statistics.fmean(per_query[run.name(role)][m].values()) for run in runs])
                        for m in report["measures"]} for role in TRAINED if runs[0].name(role) in per_query}
        control = positive_control(pooled, settings.measures[0], steps)
        if control is not None:
            control["seeds"] = agreement[SEEN][settings.measures[0]][NOISE_AWARE]["all"]
        out[steps] = {"analysis": pooled, "agreement": agreement, "clean": clean, "positive_control": control}
    return out


def analyse(report: dict, alpha: float = 0.05, seen: tuple[str, ...] = ()) -> dict:
    """Per measure and grouping (family, genus, resource class): mean drop table and effects with tests, for
    random noise (the main table), each other kind of attack, and (with the defences' ``seen`` attacks) the
    random attacks they saw and those they never saw."""
    qid_lang = report["clean"]["languages"]
    groupings = {"family": {q: LANGUAGES[l].family for q, l in qid_lang.items()},
                 "genus": {q: LANGUAGES[l].genus for q, l in qid_lang.items()},
                 "resource_class": {q: f"class {LANGUAGES[l].resource_class}" for q, l in qid_lang.items()}}
    out: dict = {}
    for kind in (*KINDS, *((SEEN, UNSEEN) if seen else ())):
        for m in report["measures"]:
            drops = query_drops(report, m, kind, seen)
            if not drops:
                continue
            table = {g: {"drop": {s: by_group(drops[s], groups) for s in SYSTEMS if s in drops},
                         "drop_ci": {s: group_intervals(drops[s], groups, f"{s}|{kind}|{m}")
                                     for s in SYSTEMS if s in drops},
                         "effects": effects(drops, groups, alpha)} for g, groups in groupings.items()}
            if kind == KINDS[0]:
                out[m] = table
            else:
                out.setdefault(kind, {})[m] = table
    return out
