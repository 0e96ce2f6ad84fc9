"""``evaluate``: runs scored per language, with paired tests against a baseline."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import ANSWERS_HELP, add_collection_argument, from_collection
from ..io.collection import load_answers, load_corpus, load_qrels, load_query_languages, load_topics
from ..io.files import DataError
from ..io.languages import check_language
from ..io.runs import read_run
from .evaluation import DEFAULT_MEASURES, evaluate, is_recall_kt
from .report import comparisons, markdown, write_all
from .significance import TESTS


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", nargs="+", required=True, help="run files (name=path to set the row name)")
    add_collection_argument(p, "--qrels, --answers, --corpus and --topics")
    p.add_argument("--qrels", help="required without --collection")
    p.add_argument("--answers", nargs="+", help=ANSWERS_HELP + ": needed for R@kt; lang groups queries")
    p.add_argument("--corpus", help="corpus: passage texts for R@kt")
    p.add_argument("--measures", nargs="+", default=list(DEFAULT_MEASURES),
                   help=f"default: {' '.join(DEFAULT_MEASURES)}")
    p.add_argument("--baseline", help="row name (or run file stem) every other run is tested against")
    p.add_argument("--test", choices=TESTS, default=TESTS[0], help="paired test over queries (default t)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm correction")
    p.add_argument("--topics", nargs="+", help="LANG=PATH (or PATH): the queries the runs answer, each with its "
                   "language (which otherwise comes from --answers)")
    p.add_argument("--query-set", choices=QUERY_SETS, default=QUERY_SETS[0],
                   help="complete: every judged query, 0 where a run has none (trec_eval -c, as Pyserini); run: only "
                   "the queries the runs answer (those of --topics, else the runs' own). Default complete")
    p.add_argument("--output", help="folder for results.{md,csv,tex,json} and per-query.tsv")


def evaluate_runs(args: argparse.Namespace) -> None:
    from_collection(args, ("qrels",), ("answers", "corpus", "topics"))
    runs = {}
    for spec in args.run:
        name, _, path = spec.rpartition("=") if "=" in spec else (Path(spec).stem, "", spec)
        runs[name] = read_run(path)
    qrels = load_qrels(args.qrels)
    answers = load_answers(args.answers) if args.answers else None
    needs_text = any(is_recall_kt(m) for m in args.measures)
    if needs_text and (answers is None or not args.corpus):
        raise DataError(args.qrels, None, "R@kt measures need --answers and --corpus")
    texts = {d: p.text for d, p in load_corpus(args.corpus).items()} if needs_text else None
    languages = {**(load_query_languages(args.answers) if args.answers else {}), **_topic_languages(args.topics or [])}
    if args.query_set == "complete":
        qid_lang = {**{q: "all" for q in qrels}, **languages}
    else:
        asked = languages if args.topics else {q: None for run in runs.values() for q in run}
        qid_lang = {q: languages.get(q, "all") for q in asked}
    note = coverage_note(runs, qid_lang, args.query_set)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    results = evaluate(runs, qid_lang, args.qrels, answers, texts, args.measures)
    if args.output:
        cells = write_all(results, args.measures, args.output, args.baseline, args.test, args.alpha, note)
    else:
        cells = comparisons(results, args.measures, args.baseline, args.test, args.alpha)
    for m in args.measures:
        print(markdown(results, m, cells[m]))
    if note:
        print(f"Note: {note}")


QUERY_SETS = ("complete", "run")


def _topic_languages(specs: list[str]) -> dict[str, str]:
    """qid -> language from ``LANG=PATH`` topic files (``PATH`` alone: language ``all``)."""
    out = {}
    for spec in specs:
        lang, _, path = spec.rpartition("=") if "=" in spec else ("all", "", spec)
        lang = lang if lang == "all" else check_language(lang)
        out.update({q: lang for q in load_topics(path)})
    return out


def coverage_note(runs: dict, qid_lang: dict[str, str], query_set: str) -> str:
    """One line where a run answers only part of the queries scored: how many count as 0, and the way out."""
    short = {name: len(set(qid_lang) - set(run)) for name, run in runs.items()}
    short = {name: n for name, n in short.items() if n}
    if not short:
        return ""
    told = "; ".join(f"run {name!r} answers {len(qid_lang) - n:,} of the {len(qid_lang):,} queries scored, so "
                     f"{n:,} count as 0" for name, n in short.items())
    way_out = ("(--query-set complete: trec_eval -c, Pyserini's convention; --query-set run scores only the "
               "queries the runs answer)" if query_set == "complete" else "(those of --topics that it lacks)")
    return f"{told} {way_out}"
