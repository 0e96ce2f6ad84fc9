"""Systems on clean and attacked topics: the robustness report of ``robustness`` and ``study``."""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Callable, Mapping

from ..eval.evaluation import evaluate
from ..eval.significance import compare
from ..io.collection import load_qrels, relevant_passages
from ..io.journal import Journal
from ..io.runs import Run
from ..perturb import paraphrase
from ..perturb.attacks import NotApplicable, attack_topics, changed
from .adversarial import (ADVERSARIAL, adversarial_topics, budget_curve, relevant_ranks, sample_queries,
                          success_by_group)
from .measures import GROUPINGS, mean_per_query, over_seeds, per_query, summarise


def _attacked(attack: str, systems, topics, seed: int, rate: float, relevant, adversarial_options: dict,
              log, cells: Cells, device: str = "cpu") -> dict:
    """One seed of ``attack``: each system's attacked topics (the same for every system but under
    ``adversarial``, where each is attacked with its own scores, or with those of ``transfer_from``), the
    provenance of the adversarial search, and the languages the attack does not apply to, with the reason.

    A random or model attack keeps only the queries it changed (``attacks.changed``), and counts them per
    language; the adversarial attack keeps every query it searched, since one it could not change is its
    result, not a no-op. Its search is journalled per system and language in ``cells``, so that a killed run
    resumes without searching again what it had found."""
    skipped, counts = {}, {}
    words, reference = adversarial_options.get("paraphrase", paraphrase.Settings()), adversarial_options.get("reference")
    if is_worst_paraphrase(attack, adversarial_options):
        return _worst_paraphrases(attack, systems, topics, seed, relevant, adversarial_options, device)
    if attack != ADVERSARIAL:
        same: dict[str, str] = {}
        models = {}
        for lang, ts in topics.items():
            try:
                out, records = attack_topics(ts, lang, attack, rate, seed, words, reference, device)
            except NotApplicable as err:
                skipped[lang] = str(err)
                continue
            made = changed(ts, out)
            same.update(made)
            counts[lang] = {"queries": len(ts), "changed": len(made)}
            if paraphrase.is_model_attack(attack):
                models[lang] = paraphrase.models_of(records)
        return {"topics": {EVERY: same}, "provenance": {}, "skipped": skipped, "changed": counts, "models": models}
    source = adversarial_options.get("transfer_from")
    if source is not None and source not in systems:
        raise ValueError(f"--transfer-from {source!r} is not among the systems: {', '.join(systems)}")
    attacked, provenance = {}, {}
    settings = adversarial_options["settings"]
    for name in ([source] if source else systems):
        attacked[name], provenance[name] = {}, []
        for lang, ts in topics.items():
            found = cells.get((attack, seed, "topics", name, lang), lambda name=name, lang=lang, ts=ts: dict(zip(
                ("topics", "records"), adversarial_topics(sample_queries(ts, settings.queries), lang, systems[name],
                                                          relevant, settings, seed, adversarial_options.get("reference")))),
                              [name])
            out, records = found["topics"], found["records"]
            attacked[name].update(out)
            provenance[name] += records
            counts.setdefault(lang, {"queries": len(out), "changed": 0})["changed"] += sum(r["changed"] for r in records)
        log(f"adversarial against {name}, seed {seed}: "
            f"{sum(bool(r['edits']) for r in provenance[name])} of {len(provenance[name])} queries edited")
    if source:
        attacked = {name: attacked[source] for name in systems}
    return {"topics": attacked, "provenance": provenance, "skipped": skipped, "changed": counts}


def is_worst_paraphrase(attack: str, adversarial_options: dict) -> bool:
    """A paraphrase attack that picks, per system, the candidate that most lowers its objective."""
    return paraphrase.is_model_attack(attack) and (attack.endswith(paraphrase.WORST) or adversarial_options.get(
        "paraphrase", paraphrase.Settings()).pick == "worst")


def _worst_paraphrases(attack: str, systems, topics, seed: int, relevant, options: dict, device: str = "cpu") -> dict:
    """The worst-case paraphrase of each query for each system (or for ``transfer_from``, replayed on all): the
    candidates and the meaning filter once per language, the pick per system. Unchanged queries are left out."""
    words, reference, source = options["paraphrase"], options.get("reference"), options.get("transfer_from")
    if source is not None and source not in systems:
        raise ValueError(f"--transfer-from {source!r} is not among the systems: {', '.join(systems)}")
    attacked: dict = {name: {} for name in ([source] if source else systems)}
    provenance: dict = {name: [] for name in attacked}
    counts, models = {}, {}
    for lang, ts in topics.items():
        worst = paraphrase.worst_topics(ts, lang, attack, words, seed, {name: systems[name] for name in attacked},
                                        relevant, reference, device=device)
        for name, (out, records) in worst.items():
            attacked[name].update(changed(ts, out))
            provenance[name] += records
        counts[lang] = {"queries": len(ts), "changed": len(changed(ts, out))}
        models[lang] = paraphrase.models_of(records)
    if source:
        attacked = {name: attacked[source] for name in systems}
    return {"topics": attacked, "provenance": provenance, "skipped": {}, "changed": counts, "models": models}


EVERY = "*"
"""The attacked topics' key where they are the same for every system (random and model attacks)."""


def _for_each(attacked: dict, systems) -> dict:
    """``attacked`` with its topics per system: those made once for every system (``EVERY``) handed to each."""
    if EVERY not in attacked["topics"]:
        return attacked
    return {**attacked, "topics": {name: attacked["topics"][EVERY] for name in systems}}


class Cells:
    """The finished (attack, seed), (attack, seed, system) and adversarial (attack, seed, "topics", system,
    language) cells of a robustness run, journalled (``io.journal``) so that a killed run resumes without redoing
    them, and a run with more systems reuses those of the systems it shares. A journal made with other
    ``settings`` (topics, measures, ...) is started over; a cell made by a system is reused only while the system's
    ``fingerprints`` entry (what identifies it: its index, its encoder) is the same."""

    def __init__(self, path: str | os.PathLike | None, settings: dict, fingerprints: Mapping | None = None,
                 log=print):
        self.settings, self.cells, self.made_by = json.loads(json.dumps(settings, default=str)), {}, {}
        self.fingerprints = json.loads(json.dumps(fingerprints or {}, default=str))
        self.journal = None
        if path is None:
            return
        path = Path(path)
        self.journal = Journal(path, key=lambda r: tuple(r["cell"]))  # refuses a foreign file, drops a torn line
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        if any(r["settings"] != self.settings for r in records):
            log(f"{path}: cells of other settings; starting over")
            self.journal.close()
            path.unlink()
            self.journal, records = Journal(path, key=lambda r: tuple(r["cell"])), []
        for r in records:  # the last record of a cell wins: one remade for a changed system comes later
            self.cells[tuple(r["cell"])], self.made_by[tuple(r["cell"])] = r["value"], r.get("systems", {})

    def has(self, cell: tuple, systems=()) -> bool:
        """The cell is kept, made by ``systems`` as they are now."""
        made_by = self.made_by.get(cell, {})
        return cell in self.cells and all(s in made_by and made_by[s] == self.fingerprints.get(s) for s in systems)

    def get(self, cell: tuple, make: Callable[[], dict], systems=()) -> dict:
        if not self.has(cell, systems):
            started = time.perf_counter()
            value = make()
            self.put(cell, value, time.perf_counter() - started, systems)
        return self.cells[cell]

    def put(self, cell: tuple, value: dict, seconds: float, systems=()) -> None:
        """Keep a finished cell, the fingerprints of the ``systems`` that made it, and how long it took to make
        (``cell_seconds`` reads it back)."""
        value = json.loads(json.dumps(value))  # what a resumed run reads back, exactly
        made_by = {s: self.fingerprints.get(s) for s in systems}
        if self.journal is not None:
            self.journal.write([{"cell": list(cell), "settings": self.settings, "systems": made_by, "value": value,
                                 "seconds": round(seconds, 2)}])
        self.cells[cell], self.made_by[cell] = value, made_by


def cell_seconds(journal: str | os.PathLike, systems=None) -> dict[str, dict[str, float]]:
    """attack -> ``topics`` (making the attacked topics, over seeds) and each system (its searches and its
    share of the scoring) -> seconds, from a run's journal: what each cell cost when it was last made, for the
    ``systems`` given (default: every system in the journal)."""
    last = {tuple(r["cell"]): r for r in map(json.loads, Path(journal).read_text(encoding="utf-8").splitlines())}
    found: dict[str, dict[str, float]] = {}
    for cell, record in last.items():
        attack, part = cell[0], (cell[2] if len(cell) == 3 else "topics")
        if part != "topics" and systems is not None and part not in systems:
            continue
        found.setdefault(attack, {}).setdefault(part, 0.0)
        found[attack][part] += record.get("seconds", 0.0)
    return found


def run_robustness(systems: Mapping[str, Callable[[dict[str, str]], Run]], topics: Mapping[str, dict[str, str]],
                   attacks: list[str], seeds: list[int], rate: float, qrels_path, answers, texts,
                   measures=("R@2kt", "nDCG@10"), k: int = 10, baseline: str | None = None,
                   groupings=GROUPINGS, log=print, references: Mapping[str, Run] | None = None,
                   adversarial: dict | None = None, journal: str | os.PathLike | None = None,
                   fingerprints: Mapping | None = None, device: str = "cpu") -> dict:
    """Every system on clean and attacked topics of every language; the robustness report as a dict.

    The report holds the clean results (``clean``: ``Results.to_json``), per attack the
    summaries by grouping with their spread over seeds (``attacks``), each query's drop
    averaged over the seeds that changed it (``per_query_drop``: attack -> system -> measure -> qid),
    per language how many queries each seed changed (``changed``), and the attacks refused per
    language with the reason (``not_applicable``). A query that an attack left unchanged is not in
    its drops: it was not attacked.

    ``systems``: name -> search(topics) -> run; ``topics``: language -> qid -> text; ``references``:
    runs scored with the clean results only (e.g. translate-test, which never reads the queries). With a
    ``baseline``, each system's per-query drop (mean over seeds) is compared with the baseline's by
    a paired t-test per language, Holm-corrected over systems and languages.

    The attack ``adversarial`` (``robustness.adversarial``) takes ``adversarial``: {settings, reference,
    transfer_from}; its entry adds, per system, the success rate and the first relevant passage's rank
    (``success``) and, white-box, the success rate against the budget (``budget_curve``).

    ``journal``: a JSONL file that keeps every finished cell, so that a rerun with the same topics and settings
    resumes where a killed run stopped, and one with more systems reuses the cells of those it had, while their
    ``fingerprints`` (name -> what identifies the system beyond its name) are the same.
    ``device`` runs the model attacks' models; it is not among what a cell is reused by.
    """
    qid_lang = {q: lang for lang, ts in topics.items() for q in ts}
    clean_topics = {q: t for ts in topics.values() for q, t in ts.items()}
    clean_runs = {name: search(clean_topics) for name, search in systems.items()}
    clean = evaluate({**clean_runs, **(references or {})}, qid_lang, qrels_path, answers, texts, measures)
    report: dict = {"measures": list(measures), "seeds": seeds, "rate": rate, "k": k, "attacks": {},
                    "not_applicable": {}, "changed": {}, "clean": clean.to_json(measures), "per_query_drop": {}}
    adversarial = adversarial or {}
    targeted = ADVERSARIAL in attacks or any(is_worst_paraphrase(a, adversarial) for a in attacks)
    relevant = relevant_passages(load_qrels(qrels_path)) if targeted else {}
    cells = Cells(journal, {"topics": topics, "rate": rate, "measures": list(measures), "k": k, "qrels": str(qrels_path),
                            "adversarial": {key: v for key, v in adversarial.items() if key != "reference"},
                            "reference": paraphrase.describe_encoder(adversarial.get("reference"))}, fingerprints, log)
    for attack in attacks:
        attack_seeds = seeds[:1] if attack == ADVERSARIAL else seeds  # a search, not noise: one seed
        def make(seed: int) -> dict:
            return _attacked(attack, systems, topics, seed, rate, relevant, adversarial, log, cells, device)
        # the adversarial search keeps its own cells, one per system and language (``_attacked``); the worst-case
        # paraphrases are made per system, the other attacks' topics once for every system
        by = list(systems) if is_worst_paraphrase(attack, adversarial) else []
        attacked = {seed: _for_each(make(seed) if attack == ADVERSARIAL else
                                    cells.get((attack, seed), lambda seed=seed: make(seed), by), systems)
                    for seed in attack_seeds}
        first = attacked[attack_seeds[0]]
        report["not_applicable"][attack] = first["skipped"]
        if first.get("models"):
            report.setdefault("models", {})[attack] = first["models"]
        report["changed"][attack] = {lang: {"queries": c["queries"],
                                            "changed": [attacked[s]["changed"][lang]["changed"] for s in attack_seeds]}
                                     for lang, c in first["changed"].items()}
        if not any(attacked[seed]["topics"][name] for seed in attack_seeds for name in systems):
            continue
        log(f"attack {attack}: {len(first['topics'][next(iter(systems))])} queries changed x {len(attack_seeds)} seeds")
        per_seed = {name: [] for name in systems}  # name -> [measure -> qid -> row] per seed
        for seed in attack_seeds:
            topics_of = attacked[seed]["topics"]
            pending = [name for name in systems if not cells.has((attack, seed, name), [name])]
            if pending:
                runs, took = {}, {}
                for name in pending:
                    started = time.perf_counter()
                    runs[name] = systems[name](topics_of[name])
                    took[name] = time.perf_counter() - started
                started = time.perf_counter()
                scored = evaluate(runs, {q: qid_lang[q] for q in topics_of[pending[0]]}, qrels_path, answers,
                                  texts, measures)
                scoring = (time.perf_counter() - started) / len(pending)
                for name in pending:
                    qids = topics_of[name]
                    cells.put((attack, seed, name), {
                        "rows": {m: per_query({q: clean.per_query[name][m][q] for q in qids
                                               if q in clean.per_query[name][m]},  # R@kt skips yes/no
                                              scored.per_query[name][m], clean_runs[name], runs[name], k)
                                 for m in measures},
                        "ranks": relevant_ranks(clean_runs[name], runs[name], relevant, qids, k)
                        if attack == ADVERSARIAL else {}}, took[name] + scoring, [name])
            for name in systems:
                per_seed[name].append(cells.cells[(attack, seed, name)])
        entry = {}
        for name in systems:
            entry[name] = {m: {g: over_seeds([summarise(cell["rows"][m], qid_lang, g) for cell in per_seed[name]
                                              if cell["rows"][m]])
                               for g in groupings} for m in measures}
        drops = {name: {m: mean_per_query([{q: row["drop"] for q, row in cell["rows"][m].items()}
                                           for cell in per_seed[name]]) for m in measures}
                 for name in systems}
        report["per_query_drop"][attack] = drops
        if baseline:
            entry["drop_vs_baseline"] = {
                m: [{"system": s, "language": l, **c.__dict__}
                    for (s, l), c in compare({n: drops[n][m] for n in systems}, qid_lang, baseline).items()]
                for m in measures}
        if attack == ADVERSARIAL:  # the worst case: who was broken, how far, and at what budget
            provenance = {name: [attacked[seed]["provenance"][name] for seed in attack_seeds]
                          for name in first["provenance"]}
            entry[ADVERSARIAL] = {
                "transfer_from": adversarial.get("transfer_from"), "seeds": attack_seeds,
                "queries": len(first["topics"][next(iter(systems))]),
                "success": {name: success_by_group([cell["ranks"] for cell in per_seed[name]], qid_lang, groupings, k)
                            for name in systems},
                "budget_curve": {name: budget_curve(p, adversarial["settings"].budget) for name, p in provenance.items()},
                "candidate_encodings_per_query": {
                    name: statistics.fmean(sum(x.get("candidate_encodings", 0) for x in r) / len(r) for r in p if r)
                    for name, p in provenance.items()}}
        report["attacks"][attack] = entry
    if cells.journal is not None:
        cells.journal.close()
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
        lines.append(changed_line(report["changed"].get(attack, {}), ADVERSARIAL in entry))
        skipped = report["not_applicable"].get(attack)
        if skipped:
            lines.append(f"\nNot applicable: {', '.join(sorted(skipped))}.")
    return "\n".join(lines) + "\n"


def changed_counts(counts: dict) -> str:
    """Per language, the queries an attack changed (mean over seeds) of those it was given: ``sw 48/50, ...``."""
    return ", ".join(f"{lang} {statistics.fmean(c['changed']):.4g}/{c['queries']}" for lang, c in counts.items())


def changed_line(counts: dict, adversarial: bool = False) -> str:
    """The markdown line under an attack's tables: the queries it changed, and which count in its drops."""
    cells = changed_counts(counts)
    kept = ("every query searched counts in the drops" if adversarial else
            "the drops are over these; a query left unchanged was not attacked")
    return f"\nQueries changed, of those attacked: {cells} ({kept})." if cells else ""


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
