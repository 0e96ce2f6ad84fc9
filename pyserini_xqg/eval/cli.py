"""``evaluate``: runs scored per language, with paired tests against a baseline."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..io.collection import load_answers, load_corpus, load_qrels, load_query_languages
from ..io.files import DataError
from ..io.runs import read_run
from .evaluation import DEFAULT_MEASURES, evaluate, is_recall_kt
from .report import comparisons, markdown, write_all
from .significance import TESTS


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", nargs="+", required=True, help="run files (name=path to set the row name)")
    p.add_argument("--qrels", required=True)
    p.add_argument("--answers", help="answers JSONL (qid, lang, answers): needed for R@kt; lang groups queries")
    p.add_argument("--corpus", help="corpus: passage texts for R@kt")
    p.add_argument("--measures", nargs="+", default=list(DEFAULT_MEASURES),
                   help=f"default: {' '.join(DEFAULT_MEASURES)}")
    p.add_argument("--baseline", help="row name (or run file stem) every other run is tested against")
    p.add_argument("--test", choices=TESTS, default=TESTS[0], help="paired test over queries (default t)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm correction")
    p.add_argument("--output", help="folder for results.{md,csv,tex,json} and per-query.tsv")


def evaluate_runs(args: argparse.Namespace) -> None:
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
    qid_lang = {**{q: "all" for q in qrels}, **(load_query_languages(args.answers) if args.answers else {})}
    results = evaluate(runs, qid_lang, args.qrels, answers, texts, args.measures)
    if args.output:
        cells = write_all(results, args.measures, args.output, args.baseline, args.test, args.alpha)
    else:
        cells = comparisons(results, args.measures, args.baseline, args.test, args.alpha)
    for m in args.measures:
        print(markdown(results, m, cells[m]))
