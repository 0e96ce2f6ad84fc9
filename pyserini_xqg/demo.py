"""The demo: every baseline on the built-in sample, offline, with a per-language table."""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import dense, models, sparse
from .data import load_answers, load_corpus, load_topics, write_text_atomic
from .encoders import Embedder
from .evaluation import DEFAULT_MEASURES, evaluate, markdown, write_json
from .runs import read_run, write_run
from .sample import Sample

SPLIT = "dev"


def run_demo(output: str | Path = "runs/demo", model: str = models.BUILTIN_MODEL, k: int = 100,
             cache_dir: str | None = None, log=print) -> dict:
    """BM25 (native, translate-test) and dense runs for every sample language; returns the results JSON."""
    out = Path(output)
    sample = Sample()
    langs = sample.languages
    started = time.time()

    log(f"[1/4] built-in retriever {model}")
    embedder = Embedder(model, cache_dir=cache_dir)

    log("[2/4] indexes: Lucene BM25 (English analyzer) and dense FAISS")
    bm25_index = sparse.build_index(sample.corpus, out / "indexes" / "bm25")
    dense_index = dense.build_index(sample.corpus, out / "indexes" / "dense", embedder)

    log(f"[3/4] search: {len(langs)} languages x 3 systems")
    topics = {lang: load_topics(sample.topics(SPLIT, lang)) for lang in langs}
    topics_en = {lang: load_topics(sample.topics(SPLIT, lang, english=True)) for lang in langs}
    native = {q: t for lang in langs for q, t in topics[lang].items()}
    english = {q: t for lang in langs for q, t in topics_en[lang].items()}
    qid_lang = {q: lang for lang in langs for q in topics[lang]}
    systems = {  # name in tables -> (run file stem, search)
        "bm25 (native)": ("bm25-native", lambda: sparse.search(bm25_index, native, k)),
        "bm25 (translate-test)": ("bm25-translate-test", lambda: sparse.search(bm25_index, english, k)),
        "dense": ("dense", lambda: dense.search(dense_index, native, k,
                                                query_encoder=dense.QueryEncoder(embedder=embedder))),
    }
    runs = {}
    for name, (stem, search) in systems.items():
        path = write_run(search(), out / "runs" / f"{SPLIT}.{stem}.trec", tag=stem, k=k)
        runs[name] = read_run(path)

    log("[4/4] evaluate")
    corpus = load_corpus(sample.corpus)
    results = evaluate(runs, qid_lang, sample.qrels(SPLIT), load_answers(sample.answers(SPLIT)),
                       {d: p.text for d, p in corpus.items()}, DEFAULT_MEASURES)
    report = [f"# pyserini_xqg demo: built-in sample, {SPLIT} split\n",
              f"{len(corpus)} English passages; {len(native)} queries in {len(langs)} languages "
              f"({', '.join(langs)}); encoder {model}.\n"]
    for measure in DEFAULT_MEASURES:
        report.append(markdown(results, measure))
    write_text_atomic(out / "report.md", "\n".join(report))
    write_json(results, DEFAULT_MEASURES, out / "results.json")
    log("\n" + markdown(results, "R@2kt") + "\n" + markdown(results, "nDCG@10"))
    log(f"runs, results.json and report.md in {out} ({time.time() - started:.0f} s)")
    return json.loads((out / "results.json").read_text())
