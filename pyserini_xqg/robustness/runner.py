"""Systems on clean and attacked topics: the robustness report of ``robustness`` and ``study``."""
from __future__ import annotations

import statistics
from typing import Callable, Mapping

from ..eval.evaluation import evaluate
from ..eval.significance import compare
from ..io.runs import Run
from ..io.collection import load_qrels, relevant_passages
from .adversarial import ADVERSARIAL, adversarial_topics, budget_curve, sample_queries, success_by_group
from .attacks import NotApplicable, attack_topics
from .measures import GROUPINGS, over_seeds, per_query, summarise


def _attacked(attack: str, systems, topics, seed: int, rate: float, relevant, adversarial_options: dict,
              skipped: dict, log) -> tuple[dict[str, dict[str, str]], dict[str, list[dict]]]:
    """Each system's attacked topics for one seed (the same for every system but under ``adversarial``,
    where each is attacked with its own scores, or with those of ``transfer_from``), and the provenance."""
    if attack != ADVERSARIAL:
        same: dict[str, str] = {}
        for lang, ts in topics.items():
            try:
                same.update(attack_topics(ts, lang, attack, rate, seed)[0])
            except NotApplicable as err:
                skipped[lang] = str(err)
        return {name: same for name in systems}, {}
    source = adversarial_options.get("transfer_from")
    if source is not None and source not in systems:
        raise ValueError(f"--transfer-from {source!r} is not among the systems: {', '.join(systems)}")
    attacked, provenance = {}, {}
    settings = adversarial_options["settings"]
    for name in ([source] if source else systems):
        attacked[name], provenance[name] = {}, []
        for lang, ts in topics.items():
            out, records = adversarial_topics(sample_queries(ts, settings.queries), lang, systems[name], relevant,
                                              settings, seed, adversarial_options.get("reference"))
            attacked[name].update(out)
            provenance[name] += records
        log(f"adversarial against {name}, seed {seed}: "
            f"{sum(bool(r['edits']) for r in provenance[name])} of {len(provenance[name])} queries edited")
    if source:
        attacked = {name: attacked[source] for name in systems}
    return attacked, provenance


def run_robustness(systems: Mapping[str, Callable[[dict[str, str]], Run]], topics: Mapping[str, dict[str, str]],
                   attacks: list[str], seeds: list[int], rate: float, qrels_path, answers, texts,
                   measures=("R@2kt", "nDCG@10"), k: int = 10, baseline: str | None = None,
                   groupings=GROUPINGS, log=print, references: Mapping[str, Run] | None = None,
                   adversarial: dict | None = None) -> dict:
    """Every system on clean and attacked topics of every language; the robustness report as a dict.

    The report holds the clean results (``clean``: ``Results.to_json``), per attack the
    summaries by grouping with their spread over seeds (``attacks``), each query's drop
    averaged over seeds (``per_query_drop``: attack -> system -> measure -> qid) and the
    attacks refused per language with the reason (``not_applicable``).

    ``systems``: name -> search(topics) -> run; ``topics``: language -> qid -> text; ``references``:
    runs scored with the clean results only (e.g. translate-test, which never reads the queries). With a
    ``baseline``, each system's per-query drop (mean over seeds) is compared with the baseline's by
    a paired t-test per language, Holm-corrected over systems and languages.

    The attack ``adversarial`` (``robustness.adversarial``) takes ``adversarial``: {settings, reference,
    transfer_from}; its entry adds, per system, the success rate and the first relevant passage's rank
    (``success``) and, white-box, the success rate against the budget (``budget_curve``).
    """
    qid_lang = {q: lang for lang, ts in topics.items() for q in ts}
    clean_topics = {q: t for ts in topics.values() for q, t in ts.items()}
    clean_runs = {name: search(clean_topics) for name, search in systems.items()}
    clean = evaluate({**clean_runs, **(references or {})}, qid_lang, qrels_path, answers, texts, measures)
    report: dict = {"measures": list(measures), "seeds": seeds, "rate": rate, "k": k, "attacks": {},
                    "not_applicable": {}, "clean": clean.to_json(measures), "per_query_drop": {}}
    relevant = relevant_passages(load_qrels(qrels_path)) if ADVERSARIAL in attacks else {}
    for attack in attacks:
        skipped: dict[str, str] = {}
        attack_seeds = seeds[:1] if attack == ADVERSARIAL else seeds  # a search, not noise: one seed
        attacked = {seed: _attacked(attack, systems, topics, seed, rate, relevant, adversarial or {}, skipped, log)
                    for seed in attack_seeds}
        report["not_applicable"][attack] = skipped
        if not any(attacked[seed][0][name] for seed in attack_seeds for name in systems):
            continue
        log(f"attack {attack}: {len(attacked[seeds[0]][0][next(iter(systems))])} queries x {len(attack_seeds)} seeds")
        per_seed = {name: [] for name in systems}  # name -> [measure -> qid -> row] per seed
        attacked_runs = {name: [] for name in systems}
        for seed in attack_seeds:
            topics_of = attacked[seed][0]
            runs = {name: search(topics_of[name]) for name, search in systems.items()}
            qids = topics_of[next(iter(systems))]
            scored = evaluate(runs, {q: qid_lang[q] for q in qids}, qrels_path, answers, texts, measures)
            for name in systems:
                attacked_runs[name].append(runs[name])
                per_seed[name].append({m: per_query({q: clean.per_query[name][m][q] for q in qids
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
        if attack == ADVERSARIAL:  # the worst case: who was broken, how far, and at what budget
            provenance = {name: [attacked[seed][1][name] for seed in attack_seeds] for name in attacked[seeds[0]][1]}
            attacked_langs = {q: qid_lang[q] for q in qids}
            entry[ADVERSARIAL] = {
                "transfer_from": adversarial.get("transfer_from"), "seeds": attack_seeds,
                "queries": len(attacked_langs),
                "success": {name: success_by_group(clean_runs[name], attacked_runs[name], relevant, attacked_langs,
                                                   groupings, k) for name in systems},
                "budget_curve": {name: budget_curve(p, adversarial["settings"].budget) for name, p in provenance.items()},
                "candidate_encodings_per_query": {
                    name: statistics.fmean(sum(x.get("candidate_encodings", 0) for x in r) / len(r) for r in p if r)
                    for name, p in provenance.items()}}
        report["attacks"][attack] = entry
    return report


def markdown(report: dict, grouping: str = "family") -> str:
    """Per attack and measure: clean -> attacked (drop, mean over seeds ± sd) by ``grouping``."""
    lines = []
    for attack, entry in report["attacks"].items():
        systems = [s for s in entry if s not in ("drop_vs_baseline", ADVERSARIAL)]
        for m in report["measures"]:
            groups = list(entry[systems[0]][m][grouping])
            lines += [f"\n**{attack}**, {m} by {grouping}: clean → attacked (drop ± sd over {len(entry.get(ADVERSARIAL, {}).get('seeds', report['seeds']))} seeds)\n",
                      "| system | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
            for s in systems:
                cells = []
                for g in groups:
                    v = entry[s][m][grouping][g]
                    cells.append(f"{v['clean'][0]:.3f} → {v['attacked'][0]:.3f} ({v['drop'][0]:+.3f} ± {v['drop'][1]:.3f})")
                lines.append(f"| {s} | " + " | ".join(cells) + " |")
        if ADVERSARIAL in entry:
            lines += success_markdown(entry[ADVERSARIAL], grouping)
        skipped = report["not_applicable"].get(attack)
        if skipped:
            lines.append(f"\nNot applicable: {', '.join(sorted(skipped))}.")
    return "\n".join(lines) + "\n"


def success_markdown(entry: dict, grouping: str, level: str = "") -> list[str]:
    """The adversarial attack's success rate (and the first relevant passage's rank before → after) by group."""
    success = {s: entry["success"][s][grouping] for s in entry["success"]}
    groups = sorted({g for v in success.values() for g in v})
    lines = [f"\n{level + ' ' if level else ''}**adversarial** success rate by {grouping.replace('_', ' ')} "
             "(rank of the first relevant passage before → after)\n",
             "| system | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += [f"| {s} | " + " | ".join(f"{v[g]['success_rate']:.2f} ({v[g]['rank_before']:.1f} → "
                                         f"{v[g]['rank_after']:.1f})" if g in v else "" for g in groups) + " |"
              for s, v in success.items()]
    return lines
