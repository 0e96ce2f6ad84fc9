"""Real-data check of xQG on XQuAD (run by hand; not a unit test).

Questions in each of XQuAD's 11 non-English languages retrieve the 240 English
paragraphs. A paragraph's *other* questions stand in for generated queries
(leave-one-out): a question's own translations never augment its paragraph while
that question is evaluated. Because the augmentation then differs per question, the
scores use the side-by-side identity of ``index.xqg``: score = (1 - a) q.p + a q.m(p),
with m(p) the sum or mean of the paragraph's query vectors minus the question's own.

    python benchmarks/xquad.py --data ../shared/data/xquad --output runs/xquad

Prints R@2kt, R@5kt and nDCG@10 per language for dense and dense+xQG at several a,
and encoding throughput (passages/s) without and with augmentation.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from pyserini_xqg.encode.embedder import Embedder
from pyserini_xqg.io import provenance
from pyserini_xqg.io.files import write_text_atomic
from pyserini_xqg.encode.models import BUILTIN_MODEL
from pyserini_xqg.eval.evaluation import evaluate
from pyserini_xqg.eval.report import markdown
from pyserini_xqg.index import dense, xqg
from pyserini_xqg.io.collection import load_answers, load_corpus, load_qrels, load_topics

LANGS = ("ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
SETTINGS = [("sum", 0.01), ("sum", 0.03), ("mean", 0.1), ("mean", 0.3), ("mean", 0.5)]
MEASURES = ("R@2kt", "R@5kt", "nDCG@10")


def cached(path: Path, compute):
    if path.exists():
        return np.load(path)
    vectors = compute()
    np.save(path, vectors)
    return vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/xquad")
    ap.add_argument("--output", default="runs/xquad")
    ap.add_argument("--encoder", default=BUILTIN_MODEL)
    ap.add_argument("--hits", type=int, default=100)
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    embedder = Embedder(args.encoder)
    corpus = load_corpus(data / "corpus.jsonl")
    docids = list(corpus)
    qrels = load_qrels(data / "qrels.txt", set(docids))
    topics = {lang: load_topics(data / f"queries.{lang}.tsv") for lang in LANGS}
    qids = list(topics[LANGS[0]])
    home = {q: docids.index(next(iter(qrels[q]))) for q in qids}

    P = cached(out / "passages.npy", lambda: embedder.passages([corpus[d].text for d in docids]))
    Q = {lang: cached(out / f"queries.{lang}.npy",
                      lambda lang=lang: embedder.queries([topics[lang][q] for q in qids]))
         for lang in LANGS}

    # per-paragraph sums of query vectors, per language and pooled; per-question own contribution
    rows = np.array([home[q] for q in qids])
    count = np.bincount(rows, minlength=len(docids)).astype(np.float32)

    def paragraph_sum(V):
        S = np.zeros((len(docids), V.shape[1]), dtype=np.float32)
        np.add.at(S, rows, V)
        return S

    S = {lang: paragraph_sum(Q[lang]) for lang in LANGS}
    S_all = sum(S.values())
    Q_all_own = sum(Q.values())  # a question's own translations, all languages

    answers = load_answers(data / "answers.en.jsonl")
    texts = {d: p.text for d, p in corpus.items()}
    runs, qid_lang = {}, {}

    def run_of(lang, scores):
        top = np.argsort(-scores, axis=1)[:, :args.hits]
        return {f"{lang}:{q}": [(docids[j], float(scores[i, j])) for j in top[i]] for i, q in enumerate(qids)}

    def leave_one_out(lang, S_pool, own, n_pool, n_own, agg, a):
        """Scores with each paragraph's pooled queries, minus the question's own ones (n_own of them)."""
        q = Q[lang]
        here = np.arange(len(qids)), rows
        aug = q @ S_pool.T
        aug[here] -= (q * own).sum(1)
        if agg == "mean":
            n = np.broadcast_to(n_pool, aug.shape).copy()
            n[here] -= n_own
            aug = aug / np.maximum(n, 1)
        return (1 - a) * (q @ P.T) + a * aug

    for lang in LANGS:
        for q in qids:
            qid_lang[f"{lang}:{q}"] = lang
        runs.setdefault("dense", {}).update(run_of(lang, Q[lang] @ P.T))
        for agg, a in SETTINGS:
            runs.setdefault(f"xQG target-lang {agg} a={a}", {}).update(
                run_of(lang, leave_one_out(lang, S[lang], Q[lang], count, 1, agg, a)))
        for agg, a in (("sum", 0.01), ("mean", 0.3)):
            runs.setdefault(f"xQG all-langs {agg} a={a}", {}).update(
                run_of(lang, leave_one_out(lang, S_all, Q_all_own, count * len(LANGS), len(LANGS), agg, a)))

    # evaluation: rename qids back per language for qrels/answers lookups
    qrels_path = out / "qrels.prefixed.txt"
    qrels_path.write_text("".join(f"{lang}:{q} 0 {d} {r}\n" for lang in LANGS for q in qids for d, r in qrels[q].items()))
    prefixed_answers = {f"{lang}:{q}": answers[q] for lang in LANGS for q in qids}
    results = evaluate(runs, qid_lang, qrels_path, prefixed_answers, texts, MEASURES)
    report = [markdown(results, m) for m in MEASURES]

    # throughput: plain dense index vs xQG index (target-language queries of all 11 languages folded in)
    generated = out / "reference-queries.jsonl"
    generated.write_text("".join(json.dumps({"docid": docids[home[q]], "lang": lang, "queries": [topics[lang][q]],
                                             "provenance": {"backend": "xquad-questions"}}, ensure_ascii=False) + "\n"
                                 for lang in LANGS for q in qids))
    t = time.time()
    dense.build_index(data / "corpus.jsonl", out / "index-dense", embedder, progress=False)
    plain = len(docids) / (time.time() - t)
    t = time.time()
    xqg.build_index(data / "corpus.jsonl", generated, out / "index-xqg", embedder, agg="mean", a=0.3,
                        progress=False)
    augmented = len(docids) / (time.time() - t)
    report.append(f"encoding throughput ({embedder.describe()['dtype']}, 2 cores): dense {plain:.1f} passages/s; "
                  f"dense+xQG with {len(qids) * len(LANGS)} generated queries ({len(qids) * len(LANGS) / len(docids):.0f} "
                  f"per passage) {augmented:.2f} passages/s\n")
    text = "\n".join(report)
    run = {**provenance.record(program=f"python {sys.argv[0]}"), "seconds": round(time.time() - started)}
    write_text_atomic(out / "report.md", provenance.header(run) + text)
    print(text)


if __name__ == "__main__":
    main()
