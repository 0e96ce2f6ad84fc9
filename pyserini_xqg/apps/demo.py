"""The demo: every system on the built-in sample, offline, with per-language tables and pictures."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..encode import models
from ..encode.embedder import Embedder
from ..eval import report
from ..eval.evaluation import DEFAULT_MEASURES, evaluate
from ..generate.queries import generate_queries
from ..index import dense as dense_index, lucene as lucene_index, xqg
from ..io.collection import load_answers, load_corpus, load_query_languages, load_topics
from ..io import provenance
from ..io.files import write_text_atomic
from ..io.runs import read_run, write_run
from ..io.sample import Sample
from ..search import dense, lucene
from ..search.fusion import fuse, hybrid_search

SPLIT = "dev"
PAPER_A = 0.01                  # the paper's setting: agg = sum, a = 0.01
SWEEP_A = (0.1, 0.2, 0.3, 0.5)  # search-time a over the side-by-side (mean) index
FUSE_A = 0.3                    # the xQG run fused with BM25
BASELINE = "dense"


def run_demo(output: str | Path = "runs/demo", model: str = models.BUILTIN_MODEL, k: int = 100,
             cache_dir: str | None = None, log=print, argv: list[str] | None = None) -> dict:
    """BM25, dense, dense+xQG and fused runs for every sample language; tables, plots, report.

    ``argv``: the command line the report's record quotes (default: ``demo --output OUTPUT``)."""
    out = Path(output)
    sample = Sample()
    langs = sample.languages
    started, run = time.time(), provenance.record(argv or ["demo", "--output", str(output)])

    log(f"[1/5] built-in retriever {model}")
    embedder = Embedder(model, cache_dir=cache_dir)

    log("[2/5] xQG queries: the sample's hand-written reference queries through the file back end")
    queries = generate_queries(sample.corpus, out / "xqg-queries.jsonl", f"file:{sample.reference_queries}", langs)

    log("[3/5] indexes: Lucene BM25 (English analyzer), dense, dense+xQG (fused sum; side-by-side mean)")
    bm25 = lucene_index.build_index(sample.corpus, out / "indexes" / "bm25")
    plain = dense_index.build_index(sample.corpus, out / "indexes" / "dense", embedder)
    fused, side = xqg.build_indexes(sample.corpus, queries, [
        xqg.Variant(out / "indexes" / "xqg-sum", PAPER_A, "sum"),
        xqg.Variant(out / "indexes" / "xqg-mean-side-by-side", agg="mean", layout="side-by-side")], embedder,
        passages_from=plain)  # the dense index's passage vectors, not a second and third encoding

    log(f"[4/5] search: {len(langs)} languages")
    native = {q: t for lang in langs for q, t in load_topics(sample.topics(SPLIT, lang)).items()}
    english = {q: t for lang in langs for q, t in load_topics(sample.topics(SPLIT, lang, english=True)).items()}
    languages = load_query_languages(sample.answers(SPLIT))
    qid_lang = {q: languages[q] for q in native}
    qids = list(native)
    qvec = embedder.queries([native[q] for q in qids])
    runs: dict = {}

    def record(name: str, stem: str, run) -> None:
        path = write_run(run, out / "runs" / f"{SPLIT}.{stem}.trec", tag=stem, k=k)
        runs[name] = read_run(path)

    record("bm25 (native)", "bm25-native", lucene.search(bm25, native, k))
    record("bm25 (translate-test)", "bm25-translate-test", lucene.search(bm25, english, k))
    record(BASELINE, "dense", dense.batch_search(plain, qids, qvec, k))
    record(f"dense+xQG (sum, a={PAPER_A})", "xqg-sum-a0.01", dense.batch_search(fused, qids, qvec, k))
    for a in SWEEP_A:
        record(f"dense+xQG (mean, a={a})", f"xqg-mean-a{a}",
               dense.batch_search(side, qids, xqg.side_by_side_queries(qvec, a), k))
    xqg_run = f"dense+xQG (mean, a={FUSE_A})"
    record("bm25+dense (RRF)", "bm25-dense-rrf", fuse([runs["bm25 (native)"], runs[BASELINE]], "rrf", k=k))
    record("bm25+xQG (RRF)", "bm25-xqg-rrf", fuse([runs["bm25 (native)"], runs[xqg_run]], "rrf", k=k))
    record("bm25+dense (HybridSearcher)", "bm25-dense-hybrid", hybrid_search(plain, bm25, native, k=k))
    record("bm25+xQG (HybridSearcher)", "bm25-xqg-hybrid",
           hybrid_search(side, bm25, native, k=k, a=FUSE_A))

    log("[5/5] evaluate: paired t-tests against dense, Holm-corrected")
    corpus = load_corpus(sample.corpus)
    results = evaluate(runs, qid_lang, sample.qrels(SPLIT), load_answers(sample.answers(SPLIT)),
                       {d: p.text for d, p in corpus.items()}, DEFAULT_MEASURES)
    cells = report.write_all(results, DEFAULT_MEASURES, out, baseline=BASELINE)
    report.bar_chart(results, "nDCG@10", out / "ndcg-by-language.png",
                     ["bm25 (native)", BASELINE, f"dense+xQG (sum, a={PAPER_A})", xqg_run, "bm25+xQG (RRF)"])
    table = results.table("nDCG@10")
    report.curve({"dense+xQG (mean), side-by-side": [(0.0, table[BASELINE]["avg"])]
                  + [(a, table[f"dense+xQG (mean, a={a})"]["avg"]) for a in SWEEP_A]},
                 "nDCG@10 (macro avg)", out / "ndcg-vs-a.png")
    meta = json.loads((side / "meta.json").read_text())["xqg"]
    text = [f"# pyserini_xqg demo: built-in sample, {SPLIT} split\n",
            f"{len(corpus)} English passages; {len(native)} queries in {len(langs)} languages "
            f"({', '.join(langs)}); encoder {model}. xQG folds in {meta['queries']} hand-written reference "
            f"queries ({meta['n_per_passage']['min']} per passage, all languages), not model output.\n",
            (out / "results.md").read_text(encoding="utf-8"),
            "\n![nDCG@10 per language](ndcg-by-language.png)\n\n![nDCG@10 against a](ndcg-vs-a.png)\n"]
    write_text_atomic(out / "report.md", provenance.header({**run, "seconds": round(time.time() - started)})
                      + "\n".join(text))
    log("\n" + report.markdown(results, "R@2kt", cells["R@2kt"]) + "\n" + report.markdown(results, "nDCG@10", cells["nDCG@10"]))
    log(f"runs, results (md, csv, tex, json, per-query), plots and report.md in {out} ({time.time() - started:.0f} s)")
    return json.loads((out / "results.json").read_text())
