"""Robustness measures: overlap, RBO, drops and grouping by language family."""
import pytest

from pyserini_xqg.robustness import jaccard_at_k, over_seeds, per_query, rbo, summarise


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
    assert set(by_family) == {"Niger-Congo", "Afro-Asiatic"}
    nc = by_family["Niger-Congo"]
    assert nc["clean"] == 0.75 and nc["attacked"] == 0.5 and nc["relative_drop"] == pytest.approx(0.25 / 0.75)
    assert nc["hurt"] == 0.5 and nc["helped"] == 0.5 and nc["queries"] == 2
    assert set(summarise(rows, langs, "resource_class")) == {"class 2", "class 5"}
    spread = over_seeds([by_family, summarise(per_query(clean, clean, runs, runs), langs, "family")])
    assert spread["Niger-Congo"]["drop"][0] == pytest.approx(0.125) and spread["Niger-Congo"]["drop"][1] > 0
