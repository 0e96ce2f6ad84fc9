"""The demo: every system on the built-in sample, offline, with a per-language table."""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import augment, dense, generate, models, sparse
from .data import load_answers, load_corpus, load_topics, write_text_atomic
from .encoders import Embedder, QueryEncoder
from .evaluation import DEFAULT_MEASURES, evaluate, markdown, write_json
from .runs import read_run, write_run
from .sample import Sample

SPLIT = "dev"
PAPER_A = 0.01            # the paper's setting: agg = sum, a = 0.01
SWEEP_A = (0.1, 0.2, 0.3, 0.5)  # search-time a over the side-by-side (mean) index


def run_demo(output: str | Path = "runs/demo", model: str = models.BUILTIN_MODEL, k: int = 100,
             cache_dir: str | None = None, log=print) -> dict:
    """BM25 (native, translate-test), dense and dense+xQG runs for every sample language."""
    out = Path(output)
    sample = Sample()
    langs = sample.languages
    started = time.time()

    log(f"[1/5] built-in retriever {model}")
    embedder = Embedder(model, cache_dir=cache_dir)

    log("[2/5] xQG queries: the sample's hand-written reference queries through the file back end")
    queries = generate.run(sample.corpus, out / "xqg-queries.jsonl", f"file:{sample.reference_queries}", langs)

    log("[3/5] indexes: Lucene BM25 (English analyzer), dense, dense+xQG (fused sum; side-by-side mean)")
    bm25_index = sparse.build_index(sample.corpus, out / "indexes" / "bm25")
    dense_index = dense.build_index(sample.corpus, out / "indexes" / "dense", embedder)
    fused = augment.build_index(sample.corpus, queries, out / "indexes" / "xqg-sum", embedder, PAPER_A, "sum")
    side = augment.build_index(sample.corpus, queries, out / "indexes" / "xqg-mean-side-by-side", embedder,
                               agg="mean", layout="side-by-side")

    log(f"[4/5] search: {len(langs)} languages")
    native = {q: t for lang in langs for q, t in load_topics(sample.topics(SPLIT, lang)).items()}
    english = {q: t for lang in langs for q, t in load_topics(sample.topics(SPLIT, lang, english=True)).items()}
    qid_lang = {q: q.split("-", 1)[0] for q in native}
    qids = list(native)
    qvec = QueryEncoder(embedder=embedder).encode_batch([native[q] for q in qids])
    systems = {  # name in tables -> (run file stem, search)
        "bm25 (native)": ("bm25-native", lambda: sparse.search(bm25_index, native, k)),
        "bm25 (translate-test)": ("bm25-translate-test", lambda: sparse.search(bm25_index, english, k)),
        "dense": ("dense", lambda: dense.search_vectors(dense_index, qids, qvec, k)),
        f"dense+xQG (sum, a={PAPER_A})": ("xqg-sum-a0.01", lambda: dense.search_vectors(fused, qids, qvec, k)),
    }
    for a in SWEEP_A:
        systems[f"dense+xQG (mean, a={a})"] = (
            f"xqg-mean-a{a}", lambda a=a: dense.search_vectors(side, qids, augment.side_by_side_queries(qvec, a), k))
    runs = {}
    for name, (stem, search) in systems.items():
        path = write_run(search(), out / "runs" / f"{SPLIT}.{stem}.trec", tag=stem, k=k)
        runs[name] = read_run(path)

    log("[5/5] evaluate")
    corpus = load_corpus(sample.corpus)
    results = evaluate(runs, qid_lang, sample.qrels(SPLIT), load_answers(sample.answers(SPLIT)),
                       {d: p.text for d, p in corpus.items()}, DEFAULT_MEASURES)
    meta = json.loads((side / "meta.json").read_text())["xqg"]
    report = [f"# pyserini_xqg demo: built-in sample, {SPLIT} split\n",
              f"{len(corpus)} English passages; {len(native)} queries in {len(langs)} languages "
              f"({', '.join(langs)}); encoder {model}. xQG folds in {meta['queries']} hand-written reference "
              f"queries ({meta['n_per_passage']['min']} per passage, all languages), not model output.\n"]
    for measure in DEFAULT_MEASURES:
        report.append(markdown(results, measure))
    write_text_atomic(out / "report.md", "\n".join(report))
    write_json(results, DEFAULT_MEASURES, out / "results.json")
    log("\n" + markdown(results, "R@2kt") + "\n" + markdown(results, "nDCG@10"))
    log(f"runs, results.json and report.md in {out} ({time.time() - started:.0f} s)")
    return json.loads((out / "results.json").read_text())
