"""Cost and strength of the adversarial attack (run by hand; not a unit test).

Attacks the dense retriever (the built-in mE5-small) with its own scores, and prints queries
attacked per second, candidate encodings per query, the success rate, and the mean nDCG@10 drop
next to random char-swap with as many edits as the budget.

    python benchmarks/adversarial.py --collection sample --output runs/bench-adversarial
    python benchmarks/adversarial.py --collection afriqa --data ../shared/data/afriqa \
        --dense runs/study-afriqa/indexes/dense --queries 100 --output runs/bench-adversarial-afriqa

``--queries N``: the first N queries of each language (default all); ``--dense``: an existing
dense index of the collection, else one is built in the output folder.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pyserini_xqg.encode.embedder import Embedder
from pyserini_xqg.encode.models import BUILTIN_MODEL
from pyserini_xqg.eval.evaluation import evaluate
from pyserini_xqg.index import dense as dense_index
from pyserini_xqg.io.collection import load_language_topics, load_qrels, relevant_passages
from pyserini_xqg.io.sample import Sample
from pyserini_xqg.robustness.adversarial import Settings, adversarial_topics, random_swaps
from pyserini_xqg.search import dense

AFRIQA = ("bem", "ha", "ig", "rw", "tw", "zu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collection", choices=["sample", "afriqa"], default="sample")
    ap.add_argument("--data", default="../shared/data/afriqa")
    ap.add_argument("--dense")
    ap.add_argument("--queries", type=int)
    ap.add_argument("--budget", type=int, default=3)
    ap.add_argument("--max-candidates", type=int, default=64)
    ap.add_argument("--output", default="runs/bench-adversarial")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if args.collection == "sample":
        s = Sample()
        corpus, qrels = s.corpus, s.qrels("dev")
        paths = {lang: s.topics("dev", lang) for lang in s.languages}
    else:
        data = Path(args.data)
        corpus, qrels = data / "corpus.jsonl", data / "qrels.txt"
        paths = {lang: data / f"queries.{lang}.tsv" for lang in AFRIQA}
    topics = {lang: dict(list(ts.items())[:args.queries]) for lang, ts in load_language_topics(paths).items()}
    relevant = relevant_passages(load_qrels(qrels))
    embedder = Embedder(BUILTIN_MODEL)
    index = Path(args.dense) if args.dense else dense_index.build_index(corpus, out / "dense", embedder,
                                                                      title=args.collection == "sample")
    vectors = dense.QueryVectors(embedder)

    def search(ts):
        return dense.batch_search(index, list(ts), vectors(list(ts.values())), 100)

    settings = Settings(budget=args.budget, max_candidates=args.max_candidates)
    started, encodings, records, attacked, randomly = time.time(), 0, [], {}, {}
    for lang, ts in topics.items():
        out_topics, provenance = adversarial_topics(ts, lang, search, relevant, settings,
                                                    log=lambda line, lang=lang: print(f"{lang}: {line}", flush=True))
        attacked.update(out_topics)
        records += provenance
        encodings += sum(r.get("candidate_encodings", 0) for r in provenance)
        randomly.update(random_swaps(ts, args.budget))
    seconds = time.time() - started
    clean = {q: t for ts in topics.values() for q, t in ts.items()}
    qid_lang = {q: lang for lang, ts in topics.items() for q in ts}
    scores = evaluate({"clean": search(clean), "adversarial": search(attacked), "char-swap": search(randomly)},
                      qid_lang, qrels, measures=["nDCG@10"]).per_query
    drop = {name: statistics.fmean(scores["clean"]["nDCG@10"][q] - scores[name]["nDCG@10"][q]
                                   for q in scores["clean"]["nDCG@10"]) for name in ("adversarial", "char-swap")}
    live = [r for r in records if "skipped" not in r and r["success_step"] != 0]
    print(f"{args.collection}: {len(clean)} queries in {len(topics)} languages, budget {args.budget}, "
          f"at most {args.max_candidates} candidates per query and step, {embedder.describe()['dtype']}")
    print(f"attack time {seconds:.1f} s: {len(clean) / seconds:.2f} queries/s, "
          f"{encodings / len(clean):.1f} candidate encodings per query")
    print(f"success rate (first relevant passage out of the top 10, of {len(live)} queries that had one there): "
          f"{statistics.fmean(r['success'] for r in live):.3f}")
    print(f"mean nDCG@10 drop: adversarial {drop['adversarial']:.3f}, random char-swap with {args.budget} edits "
          f"{drop['char-swap']:.3f}")


if __name__ == "__main__":
    main()
