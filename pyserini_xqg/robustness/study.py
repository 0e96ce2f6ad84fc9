"""The robustness study in one command: does xQG make a dense retriever more robust to attacked
queries, by language family, than standard multilingual fine-tuning does?

Four dense systems: dense (the starting encoder), dense+xQG (its index augmented with generated
queries), fine-tuned dense (``train-encoder`` on the collection's train split) and fine-tuned
dense+xQG; beside them BM25 (with the Lucene analyzer of the passages' language) and a BM25+dense
hybrid (RRF), and, on clean queries only, BM25 on the queries' human translations into the passages'
language, the pivot (translate-test). Each of the six runs on the clean topics and on every
applicable attack over several seeds (``runner.run_robustness``). A system's *drop* on a query is
clean minus attacked score; the main table averages each query's drop over the attacks that apply
to its language, then over the queries of a family. The effects table tests, per family, the
difference of two systems' per-query drops (paired t-test, Holm over every cell of the table): xQG's
effect, fine-tuning's, xQG's on top of fine-tuning, and xQG against fine-tuning head to head.

The study in three parts: ``systems`` builds the systems (training, generation, indexes; each step's output kept
in the study folder, so a rerun skips what is done), ``runner`` attacks and scores them, ``analysis`` tests the
effects (per budget, pooled over the training seeds), and ``study_report`` writes the report from it.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from ..eval.report import curve, grouped_bars
from ..generate.queries import parse_generator
from ..index import dense as dense_index
from ..io.collection import load_answers, load_corpus, load_language_topics, load_topics
from ..io.files import write_text_atomic
from ..io import provenance
from ..perturb import paraphrase
from ..perturb.noise import attacks_label
from ..search import lucene
from .adversarial import ADVERSARIAL
from .runner import cell_seconds, run_robustness
from .analysis import analyse_budgets
from .study_report import dose_plot, dose_plot_name, drop_plot_name, markdown
from .systems import (BM25, DENSE, FT, REUSED_ACROSS, TIMINGS, TRAINED, TRANSLATE_TEST, XQG, Collection, Settings,
                      Timings, build_systems, fingerprints, training_runs)


def report_stem(collection: Collection, settings: Settings, adversarial: dict | None) -> str:
    """The name of this run's reports, e.g. ``study.rule-attacks.defences.3f2a1c`` (see ``provenance.report_stem``)."""
    options = {k: asdict(v) for k, v in (adversarial or {}).items() if k in ("settings", "paraphrase")}
    transfer = (adversarial or {}).get("transfer_from")
    labels = [attacks_label(settings.attacks), *["defences"] * settings.defences, *[f"transfer-{transfer}"] * bool(transfer)]
    identity = {**asdict(settings), **asdict(collection), "adversarial": options, "transfer_from": transfer}
    for name in REUSED_ACROSS:
        identity.pop(name)
    return provenance.report_stem("study", labels, identity)


def run_study(collection: Collection, settings: Settings, log=print, adversarial: dict | None = None,
              argv: list[str] | None = None) -> dict:
    """Build the systems, attack them, and write this run's report (``report_stem``: .md, .json, plots)."""
    started, run = time.time(), provenance.record(argv, device=settings.device)
    out = Path(settings.output)
    stem = report_stem(collection, settings, adversarial)
    out.mkdir(parents=True, exist_ok=True)
    topics = load_language_topics(collection.topics)
    parse_generator(collection.generator)  # a bad spec fails here, not after training
    systems = build_systems(collection, settings, log)
    texts = {d: p.text for d, p in load_corpus(collection.corpus).items()}
    references = {}
    if collection.topics_pivot:  # translate-test: the human translations never see an attack
        translated = {q: t for path in collection.topics_pivot.values() for q, t in load_topics(path).items()}
        references[TRANSLATE_TEST] = lucene.search(out / "indexes" / BM25, translated, settings.hits)
    if adversarial:  # a paraphrase attack runs in both cases: its plain name picks at random
        adversarial = {**adversarial, "paraphrase": replace(adversarial["paraphrase"], pick="random")}
    if adversarial and adversarial.get("reference"):
        paraphrase.warn_if_attacked(adversarial["reference"], {DENSE: settings.model, **{
            run.name(FT): str(out / "encoders" / run.folder(FT)) for run in training_runs(settings)}}, log)
    attacks = [x for a in settings.attacks  # a paraphrase attack in the average case and in the worst
               for x in ((a, a + paraphrase.WORST) if paraphrase.is_model_attack(a) else (a,))]
    attacking = time.time()
    report = run_robustness(systems, topics, attacks, settings.seeds, settings.rate, collection.qrels,
                            load_answers(collection.answers), texts, settings.measures, baseline=DENSE, log=log,
                            references=references, adversarial=adversarial, journal=out / "cells.jsonl",
                            fingerprints=fingerprints(systems, settings), device=settings.device)
    attacking = time.time() - attacking
    budgets = analyse_budgets(report, settings)
    analysis = budgets[max(budgets)]["analysis"]  # the largest budget's, pooled over the seeds: the tables' own
    meta = {**asdict(settings), **asdict(collection), "languages": list(topics), "queries": sum(map(len, topics.values())),
            "seconds": time.time() - started,
            "adversarial": asdict(adversarial["settings"]) if adversarial else None, "report": stem}
    meta["run"] = {**run, "seconds": round(meta["seconds"])}
    meta["positive_control"] = [b["positive_control"] for b in budgets.values() if b["positive_control"]]
    meta["coverage"] = json.loads((out / "indexes" / XQG / dense_index.META).read_text())["xqg"]["coverage"]
    folders = {run.folder(role) for run in training_runs(settings) for role in TRAINED}
    meta["time"] = {"steps": Timings(out / TIMINGS).steps, "attacks": cell_seconds(out / "cells.jsonl", systems),
                    "dtypes": {p.parent.name: dtype for p in (out / "encoders").glob("*/training.json")
                               if p.parent.name in folders and (dtype := json.loads(p.read_text()).get("dtype"))},
                    "attacking": round(attacking, 1), "this_run": round(meta["seconds"], 1)}
    for m in (m for m in settings.measures if m in analysis):
        grouped_bars(analysis[m]["family"]["drop"], f"mean {m} drop", f"{m} drop by language family, per system "
                     "(95% bootstrap intervals)", out / drop_plot_name(stem, m), errors=analysis[m]["family"]["drop_ci"])
    dose_plot(budgets, settings.measures[0], out / dose_plot_name(stem, settings.measures[0]))
    if ADVERSARIAL in report["attacks"] and report["attacks"][ADVERSARIAL][ADVERSARIAL]["budget_curve"]:
        curve(report["attacks"][ADVERSARIAL][ADVERSARIAL]["budget_curve"], "success rate",
              out / f"{stem}.adversarial-budget.png", xlabel="budget (edits)")
    write_text_atomic(out / f"{stem}.json", json.dumps({"settings": meta, "analysis": analysis, "budgets": budgets,
                                                        "robustness": report}, indent=1, ensure_ascii=False) + "\n")
    text = markdown(report, budgets, meta, settings)
    write_text_atomic(out / f"{stem}.md", provenance.header(meta["run"]) + text)
    log(text[:text.index("\n## Clean scores")])
    log(f"{stem}.md, {stem}.json and plots in {out} ({meta['seconds']:.0f} s)")
    return {"analysis": analysis, "budgets": budgets, "robustness": report, "settings": meta}
