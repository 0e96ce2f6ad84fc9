"""Reproduction matrices: XOR-TyDi loaders on files in the official format, and the sample matrix end to end."""
import json

import pytest
import yaml

from pyserini_xqg.io.collection import load_corpus
from pyserini_xqg.io.files import DataError
from pyserini_xqg.__main__ import main
from pyserini_xqg.apps.reproduce import load_matrix, run_matrix, split_xor_tydi

from .conftest import write

PASSAGES = [("1", "The Nile flows north through Egypt into the Mediterranean Sea.", "Nile"),
            ("2", "Lake Baikal in Siberia is the deepest lake on Earth.", "Lake Baikal"),
            ("3", "Mount Fuji is the highest mountain in Japan.", "Mount Fuji")]
QUESTIONS = [("q1-ar", "ar", "Nile Egypt نهر", ["Nile"]), ("q2-ar", "ar", "Baikal بحيرة", ["Baikal"]),
             ("q3-ja", "ja", "Fuji 山", ["Fuji"]), ("q4-ja", "ja", "yes or no?", ["yes"]),
             ("q5-fi", "fi", "Nile joki", ["Nile"])]


@pytest.fixture
def xor_dir(tmp_path):
    d = tmp_path / "xor"
    d.mkdir()
    write(d / "psgs_w100.tsv", "id\ttext\ttitle\n" + "".join(f"{i}\t{t}\t{ti}\n" for i, t, ti in PASSAGES))
    write(d / "xor_dev_retrieve_eng_span.jsonl", "".join(
        json.dumps({"id": q, "lang": l, "question": text, "answers": a}, ensure_ascii=False) + "\n"
        for q, l, text, a in QUESTIONS))
    return d


def test_xor_tydi_files_load(xor_dir, tmp_path):
    corpus = load_corpus(xor_dir / "psgs_w100.tsv")
    assert corpus["2"].title == "Lake Baikal"
    split_xor_tydi(xor_dir / "xor_dev_retrieve_eng_span.jsonl", tmp_path / "w", ["ar", "ja"])
    assert (tmp_path / "w" / "topics" / "ar.tsv").read_text() == "q1-ar\tNile Egypt نهر\nq2-ar\tBaikal بحيرة\n"
    answers = (tmp_path / "w" / "answers.jsonl").read_text().splitlines()
    assert len(answers) == 4 and json.loads(answers[0]) == {"qid": "q1-ar", "lang": "ar", "answers": ["Nile"]}
    bad = write(tmp_path / "bad.jsonl", '{"id": "x", "lang": "ar"}\n')
    with pytest.raises(DataError, match="bad.jsonl:1: expected XOR-TyDi JSON"):
        split_xor_tydi(bad, tmp_path / "w2", ["ar"])


def test_xor_tydi_matrix_shape_and_a_small_run(xor_dir, tmp_path):
    paper = load_matrix("xor-tydi")
    assert paper["languages"] == ["ar", "bn", "fi", "ja", "ko", "ru", "te"]
    expected = {s["name"]: s.get("expected") for s in paper["systems"]}
    assert expected["mBERT xDR"] == {"R@2kt": {"avg": 0.442}, "R@5kt": {"avg": 0.518}}
    small = dict(paper, systems=[dict(paper["systems"][0], expected={"R@2kt": {"ar": 1.0, "ja": 1.0}})],
                 languages=["ar", "ja"])
    path = write(tmp_path / "small.yaml", yaml.safe_dump(small, allow_unicode=True))
    result = run_matrix(str(path), main, str(xor_dir), tmp_path / "work", log=lambda *a: None)
    assert result["ok"]
    rows = {(r["language"], r["measure"]): r for r in result["rows"]}
    assert rows[("ja", "R@2kt")]["measured"] == 1.0  # the yes/no question is skipped, as officially
    with pytest.raises(DataError, match="needs --data"):
        run_matrix("xor-tydi", main, None, tmp_path / "w3", log=lambda *a: None)


def test_sample_matrix_end_to_end(tmp_path, e5_dir):
    result = run_matrix("sample", main, None, tmp_path, log=lambda *a: None)
    assert result["ok"], [r for r in result["rows"] if not r["ok"]]
    assert any(r["expected"] is not None for r in result["rows"] if r["system"].startswith("mE5"))


def test_unknown_matrix():
    with pytest.raises(DataError, match="known: sample, xor-tydi"):
        load_matrix("nope")
