"""TREC runs: ties broken by docid, byte-identical reruns, clear errors."""
import pytest

from pyserini_xqg.io.files import DataError
from pyserini_xqg.io.runs import format_run, read_run, write_run

from .conftest import write


def test_ties_broken_by_docid_and_reruns_identical(tmp_path):
    hits = {"q1": [("d9", 1.0), ("d2", 1.0), ("d5", 2.0), ("d1", 1.0000001)]}
    text = format_run(hits, "t")
    assert [line.split()[2] for line in text.splitlines()] == ["d5", "d1", "d2", "d9"]
    assert text.splitlines()[0] == "q1 Q0 d5 1 2.000000 t"
    shuffled = {"q1": list(reversed(hits["q1"]))}
    a = write_run(hits, tmp_path / "a.trec", "t").read_bytes()
    b = write_run(shuffled, tmp_path / "b.trec", "t").read_bytes()
    assert a == b
    assert read_run(tmp_path / "a.trec")["q1"][0] == ("d5", 2.0)
    assert len(format_run(hits, "t", k=2).splitlines()) == 2


def test_read_run_errors(tmp_path):
    with pytest.raises(DataError, match=r"r.trec:2: expected TREC run"):
        read_run(write(tmp_path / "r.trec", "q1 Q0 d1 1 1.0 t\nq1 d2 2 0.5 t\n"))
    with pytest.raises(DataError, match=r"s.trec:1: score 'high' is not a number"):
        read_run(write(tmp_path / "s.trec", "q1 Q0 d1 1 high t\n"))
