"""Robustness measures: how much a system's results move when its queries are attacked.

Per query, comparing the clean run with an attacked run (same qids):
- the score drop on any measure (absolute, and relative to the clean score),
- hurt / helped: the attacked score is lower / higher than the clean one,
- top-k overlap of the two rankings: Jaccard@k and rank-biased overlap (RBO, Webber,
  Moffat and Zobel 2010, extrapolated form for lists cut at the same depth).
``summarise`` averages these over queries, per language and per group of languages
(family, script, resource class from resources/languages.tsv).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Callable, Mapping

from .languages import LANGUAGES
from .runs import Run

GROUPINGS = ("language", "family", "script", "resource_class")


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


def over_seeds(summaries: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, tuple[float, float]]]:
    """(mean, standard deviation) of every summarised value across seeds."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for group in summaries[0]:
        out[group] = {}
        for key in summaries[0][group]:
            values = [s[group][key] for s in summaries]
            out[group][key] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
    return out


def run_study(systems: Mapping[str, Callable[[dict[str, str]], Run]], topics: Mapping[str, dict[str, str]],
              attacks: list[str], seeds: list[int], rate: float, qrels_path, answers, texts,
              measures=("R@2kt", "nDCG@10"), k: int = 10, baseline: str | None = None,
              groupings=GROUPINGS, log=print) -> dict:
    """Every system on clean and attacked topics of every language; the robustness report as a dict.

    The report holds the clean results (``clean``: ``Results.to_json``), per attack the
    summaries by grouping with their spread over seeds (``attacks``), each query's drop
    averaged over seeds (``per_query_drop``: attack -> system -> measure -> qid) and the
    attacks refused per language with the reason (``not_applicable``).

    ``systems``: name -> search(topics) -> run; ``topics``: language -> qid -> text. With a
    ``baseline``, each system's per-query drop (mean over seeds) is compared with the baseline's by
    a paired t-test per language, Holm-corrected over systems and languages.
    """
    from .attacks import NotApplicable, attack_topics
    from .evaluation import evaluate
    from .significance import compare

    qid_lang = {q: lang for lang, ts in topics.items() for q in ts}
    clean_topics = {q: t for ts in topics.values() for q, t in ts.items()}
    clean_runs = {name: search(clean_topics) for name, search in systems.items()}
    clean = evaluate(clean_runs, qid_lang, qrels_path, answers, texts, measures)
    report: dict = {"measures": list(measures), "seeds": seeds, "rate": rate, "k": k, "attacks": {},
                    "not_applicable": {}, "clean": clean.to_json(measures), "per_query_drop": {}}
    for attack in attacks:
        applicable, skipped = {}, {}
        for seed in seeds:
            for lang, ts in topics.items():
                try:
                    applicable.setdefault(seed, {}).update(attack_topics(ts, lang, attack, rate, seed)[0])
                except NotApplicable as err:
                    skipped[lang] = str(err)
        report["not_applicable"][attack] = skipped
        if not any(applicable.values()):
            continue
        log(f"attack {attack}: {len(applicable[seeds[0]])} queries x {len(seeds)} seeds")
        per_seed = {name: [] for name in systems}  # name -> [measure -> qid -> row] per seed
        for seed in seeds:
            attacked_topics = applicable[seed]
            runs = {name: search(attacked_topics) for name, search in systems.items()}
            scored = evaluate(runs, {q: qid_lang[q] for q in attacked_topics}, qrels_path, answers, texts, measures)
            for name in systems:
                per_seed[name].append({m: per_query({q: clean.per_query[name][m][q] for q in attacked_topics},
                                                    scored.per_query[name][m], clean_runs[name], runs[name], k)
                                       for m in measures})
        entry = {}
        for name in systems:
            entry[name] = {m: {g: over_seeds([summarise(rows[m], qid_lang, g) for rows in per_seed[name]])
                               for g in groupings} for m in measures}
        drops = {name: {m: {q: statistics.fmean(rows[m][q]["drop"] for rows in per_seed[name])
                            for q in per_seed[name][0][m]} for m in measures} for name in systems}
        report["per_query_drop"][attack] = drops
        if baseline:
            entry["drop_vs_baseline"] = {
                m: [{"system": s, "language": l, **c.__dict__}
                    for (s, l), c in compare({n: drops[n][m] for n in systems}, qid_lang, baseline).items()]
                for m in measures}
        report["attacks"][attack] = entry
    return report


def markdown(report: dict, grouping: str = "family") -> str:
    """Per attack and measure: clean -> attacked (drop, mean over seeds ± sd) by ``grouping``."""
    lines = []
    for attack, entry in report["attacks"].items():
        systems = [s for s in entry if s != "drop_vs_baseline"]
        for m in report["measures"]:
            groups = list(entry[systems[0]][m][grouping])
            lines += [f"\n**{attack}**, {m} by {grouping}: clean → attacked (drop ± sd over {len(report['seeds'])} seeds)\n",
                      "| system | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
            for s in systems:
                cells = []
                for g in groups:
                    v = entry[s][m][grouping][g]
                    cells.append(f"{v['clean'][0]:.3f} → {v['attacked'][0]:.3f} ({v['drop'][0]:+.3f} ± {v['drop'][1]:.3f})")
                lines.append(f"| {s} | " + " | ".join(cells) + " |")
        skipped = report["not_applicable"].get(attack)
        if skipped:
            lines.append(f"\nNot applicable: {', '.join(sorted(skipped))}.")
    return "\n".join(lines) + "\n"
