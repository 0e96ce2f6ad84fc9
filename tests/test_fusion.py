"""Fusion of run files through pyserini.fusion, with ties broken by docid."""
import pytest

from pyserini_xqg.search.fusion import fuse


def test_rrf():
    a = {"q": [("d1", 9.0), ("d2", 8.0), ("d3", 7.0)]}
    b = {"q": [("d3", 0.9), ("d1", 0.8), ("d4", 0.7)]}
    fused = fuse([a, b], "rrf", rrf_k=60)["q"]
    assert [d for d, _ in fused] == ["d1", "d3", "d2", "d4"]
    assert fused[0][1] == pytest.approx(round(1 / 61 + 1 / 62, 6))


def test_normalised_interpolation_and_ties():
    a = {"q": [("d1", 10.0), ("d2", 0.0)]}
    b = {"q": [("d2", 1.0), ("d1", 0.0)]}
    fused = fuse([a, b], "interpolation", weight=0.5)["q"]
    assert fused == [("d1", 0.5), ("d2", 0.5)]  # a tie: docid order
    assert [d for d, _ in fuse([a, b], "interpolation", weight=0.8)["q"]] == ["d1", "d2"]
    with pytest.raises(ValueError, match="exactly two"):
        fuse([a, b, a], "interpolation")


@pytest.mark.parametrize("method", ["rrf", "interpolation"])
def test_a_run_that_retrieved_nothing_fuses_as_no_hits(method):
    """BM25 retrieves nothing for a query whose every term was edited away: the fused run is the other run's
    ranking, and two empty runs fuse to an empty run."""
    a = {"q1": [("d1", 3.0), ("d2", 2.0)], "q2": [("d3", 1.0)]}
    fused = fuse([a, {}], method)
    assert {q: [d for d, _ in hits] for q, hits in fused.items()} == {"q1": ["d1", "d2"], "q2": ["d3"]}
    assert fuse([{}, {"q1": []}], method) == {}
