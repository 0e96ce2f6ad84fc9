"""xQG when only some passages have generated queries (run by hand; not a unit test).

On AfriQA dev (questions in six African languages, 5,361 English passages), the human train
questions in ``reference-queries.train.jsonl`` stand in for generated queries: they cover
about 28% of the passages and few of the dev-relevant ones. Each system is tested against
plain dense per language (paired t-test, Holm over every cell of a measure).

    python benchmarks/partial_coverage.py --data ../shared/data/afriqa --output runs/partial-coverage \
        [--dense runs/study-afriqa/indexes/dense]

``--dense``: an existing dense index of the corpus (the built-in encoder, ``--no-title``) whose
passage vectors are reused; without it one is built. One side-by-side index per
(agg, shrinkage, calibration) serves every ``a`` (``index.xqg``). Prints nDCG@10 and R@2kt tables.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss

from pyserini_xqg.encode.embedder import Embedder
from pyserini_xqg.io import provenance
from pyserini_xqg.io.files import write_text_atomic
from pyserini_xqg.encode.models import BUILTIN_MODEL
from pyserini_xqg.eval.evaluation import evaluate
from pyserini_xqg.eval.report import comparisons, markdown
from pyserini_xqg.index import dense, xqg
from pyserini_xqg.io.collection import load_answers, load_corpus, load_language_topics
from pyserini_xqg.search.dense import batch_search

LANGS = ("bem", "ha", "ig", "rw", "tw", "zu")
SETTINGS = {  # (agg, shrinkage k, calibrate) -> the a values searched
    ("sum", 0.0, False): (0.01, 0.03),    # 0.01: the paper's
    ("mean", 0.0, False): (0.1, 0.3),     # 0.3: the README's recommended setting
    ("mean", 4.0, False): (0.3, 0.5),
    ("sum", 0.0, True): (0.01, 0.03),
    ("mean", 0.0, True): (0.1, 0.3, 0.5),
    ("mean", 4.0, True): (0.3, 0.5),
}
MEASURES = ("nDCG@10", "R@2kt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/afriqa")
    ap.add_argument("--generated", help="generated queries (default: DATA/reference-queries.train.jsonl)")
    ap.add_argument("--output", default="runs/partial-coverage")
    ap.add_argument("--dense", help="an existing dense index of the corpus to reuse")
    ap.add_argument("--hits", type=int, default=100)
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    corpus_path = data / "corpus.jsonl"
    generated = Path(args.generated or data / "reference-queries.train.jsonl")
    start = time.time()

    embedder = Embedder(BUILTIN_MODEL)
    plain = Path(args.dense) if args.dense else dense.build_index(corpus_path, out / "dense", embedder, title=False)
    variants = [xqg.Variant(out / f"xqg-{agg}-k{k:g}-{'cal' if c else 'raw'}", agg=agg, layout="side-by-side",
                            shrinkage=k, calibrate=c) for agg, k, c in SETTINGS]
    xqg.build_indexes(corpus_path, generated, variants, embedder, title=False, passages_from=plain)
    meta = dense.read_meta(variants[0].index)["xqg"]

    topics = load_language_topics({lang: data / f"queries.{lang}.tsv" for lang in LANGS})
    qids = [q for lang in LANGS for q in topics[lang]]
    qid_lang = {q: lang for lang in LANGS for q in topics[lang]}
    vectors = embedder.queries([topics[qid_lang[q]][q] for q in qids])

    runs = {"dense": batch_search(plain, qids, vectors, args.hits)}
    for v, ((agg, k, c), alphas) in zip(variants, SETTINGS.items()):
        for a in alphas:
            name = f"xQG {agg} a={a}" + (f" k={k:g}" if k else "") + (" calibrated" if c else "")
            runs[name] = batch_search(v.index, qids, xqg.side_by_side_queries(vectors, a), args.hits)

    # why calibration: a query's score against generated queries vs against passages (raw mean index: [E(p) ; m(p)])
    raw = faiss.read_index(str(out / "xqg-mean-k0-raw" / "index"))
    stored = raw.reconstruct_n(0, raw.ntotal)
    P, M = stored[:, :embedder.dimension], stored[:, embedder.dimension:]
    covered = (M != P).any(1)
    similarity = (f"mean score of a dev query against a covered passage's m(p): {(vectors @ M[covered].T).mean():.3f}; "
                  f"against passages: {(vectors @ P.T).mean():.3f}\n")

    corpus = load_corpus(corpus_path)
    results = evaluate(runs, qid_lang, data / "qrels.txt", load_answers(data / "answers.jsonl"),
                       {d: p.text for d, p in corpus.items()}, MEASURES)
    cells = comparisons(results, MEASURES, "dense")
    c = meta["coverage"]
    lines = [similarity, f"xQG queries: {meta['queries']} from {generated.name}, on {c['passages']} of {c['of']} passages "
             f"({c['fraction']:.1%}). Marks: significantly better / worse than dense (paired t-test, Holm over "
             f"every cell of the measure, p < 0.05).\n"]
    for m in MEASURES:
        worse = {s: sum(cell.significant and cell.delta < 0 for (sys, _), cell in cells[m].items() if sys == s)
                 for s in runs if s != "dense"}
        lines += [markdown(results, m, cells[m]),
                  f"{m}: languages significantly worse than dense: " +
                  ", ".join(f"{s}: {n}" for s, n in worse.items()) + "\n"]
    lines.append(f"wall time: {time.time() - start:.0f} s\n")
    text = "\n".join(lines)
    run = {**provenance.record(program=f"python {sys.argv[0]}"), "seconds": round(time.time() - start)}
    write_text_atomic(out / "report.md", provenance.header(run) + text)
    print(text)


if __name__ == "__main__":
    main()
