"""Systems on clean and attacked topics: the robustness report of ``robustness`` and ``study``."""
from __future__ import annotations

import statistics
from typing import Callable, Mapping

from ..eval.evaluation import evaluate
from ..eval.significance import compare
from ..io.runs import Run
from .attacks import NotApplicable, attack_topics
from .measures import GROUPINGS, over_seeds, per_query, summarise


def run_robustness(systems: Mapping[str, Callable[[dict[str, str]], Run]], topics: Mapping[str, dict[str, str]],
                   attacks: list[str], seeds: list[int], rate: float, qrels_path, answers, texts,
                   measures=("R@2kt", "nDCG@10"), k: int = 10, baseline: str | None = None,
                   groupings=GROUPINGS, log=print, references: Mapping[str, Run] | None = None) -> dict:
    """Every system on clean and attacked topics of every language; the robustness report as a dict.

    The report holds the clean results (``clean``: ``Results.to_json``), per attack the
    summaries by grouping with their spread over seeds (``attacks``), each query's drop
    averaged over seeds (``per_query_drop``: attack -> system -> measure -> qid) and the
    attacks refused per language with the reason (``not_applicable``).

    ``systems``: name -> search(topics) -> run; ``topics``: language -> qid -> text; ``references``:
    runs scored with the clean results only (e.g. translate-test, which never reads the queries). With a
    ``baseline``, each system's per-query drop (mean over seeds) is compared with the baseline's by
    a paired t-test per language, Holm-corrected over systems and languages.
    """
    qid_lang = {q: lang for lang, ts in topics.items() for q in ts}
    clean_topics = {q: t for ts in topics.values() for q, t in ts.items()}
    clean_runs = {name: search(clean_topics) for name, search in systems.items()}
    clean = evaluate({**clean_runs, **(references or {})}, qid_lang, qrels_path, answers, texts, measures)
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
                per_seed[name].append({m: per_query({q: clean.per_query[name][m][q] for q in attacked_topics
                                                     if q in clean.per_query[name][m]},  # R@kt skips yes/no
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
