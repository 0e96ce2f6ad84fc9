"""Loaders: clear errors naming file and line, NFC normalisation, both corpus formats."""
import unicodedata

import pytest

from pyserini_xqg.io.collection import load_answers, load_corpus, load_qrels, load_query_languages, load_topics
from pyserini_xqg.io.files import DataError
from pyserini_xqg.io.languages import check_language

from .conftest import write


def error(fn, *args):
    with pytest.raises(DataError) as info:
        fn(*args)
    return str(info.value)


def test_corpus_errors_name_file_and_line(tmp_path):
    bad = write(tmp_path / "c.jsonl", '{"id": "a", "contents": "x"}\n{"id": "b", "contents": "y"\n')
    assert error(load_corpus, bad) == f"{bad}:2: malformed JSON (Expecting ',' delimiter); expected one JSON object per line"
    dup = write(tmp_path / "d.jsonl", '{"id": "a", "contents": "x"}\n\n{"id": "a", "contents": "y"}\n')
    assert error(load_corpus, dup) == f"{dup}:3: duplicate passage id 'a'"
    empty = write(tmp_path / "e.jsonl", '{"id": "a", "contents": "  "}\n')
    assert "e.jsonl:1: empty passage text" in error(load_corpus, empty)
    missing = write(tmp_path / "m.jsonl", '{"id": "a", "body": "x"}\n')
    assert "m.jsonl:1: missing passage text: expected a field named 'contents' or 'text'" in error(load_corpus, missing)
    assert "file not found" in error(load_corpus, tmp_path / "nope.jsonl")


def test_psgs_w100_tsv_and_nfc(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Café Ọ̀yọ́")
    tsv = write(tmp_path / "psgs_w100.tsv", f"id\ttext\ttitle\n1\t{decomposed}\tOyo\n2\tSecond\tTwo\n")
    corpus = load_corpus(tsv)
    assert list(corpus) == ["1", "2"] and corpus["1"].title == "Oyo"
    assert corpus["1"].text == unicodedata.normalize("NFC", decomposed) != decomposed
    assert "expected id<TAB>text" in error(load_corpus, write(tmp_path / "x.tsv", "1 no tabs here\n"))


def test_topics(tmp_path):
    assert load_topics(write(tmp_path / "t.tsv", "q1\tWhere?\nq2\tWhen?\n")) == {"q1": "Where?", "q2": "When?"}
    assert load_topics(write(tmp_path / "t.jsonl", '{"id": "q1", "question": "Who?"}\n')) == {"q1": "Who?"}
    assert error(load_topics, write(tmp_path / "b.tsv", "q1\tA\tB\n")).endswith(
        "b.tsv:1: expected qid<TAB>text, found 3 tab-separated fields")
    assert "b2.tsv:2: duplicate query id 'q1'" in error(load_topics, write(tmp_path / "b2.tsv", "q1\tA\nq1\tB\n"))


def test_qrels_and_answers(tmp_path):
    qrels = write(tmp_path / "q.txt", "q1 0 d1 1\nq1 0 d9 1\n")
    assert load_qrels(qrels) == {"q1": {"d1": 1, "d9": 1}}
    assert error(load_qrels, qrels, {"d1"}) == f"{qrels}:2: qrels name passage 'd9', which is not in the corpus"
    assert "q2.txt:1: expected TREC qrels" in error(load_qrels, write(tmp_path / "q2.txt", "q1 d1 1\n"))
    assert load_answers(write(tmp_path / "a.jsonl", '{"qid": "q1", "answers": ["Nile"]}\n')) == {"q1": ["Nile"]}
    assert "a2.jsonl:1: expected 'answers'" in error(load_answers, write(tmp_path / "a2.jsonl", '{"qid": "q1", "answers": []}\n'))


def test_query_languages_come_from_the_answers_file(tmp_path):
    answers = write(tmp_path / "a.jsonl", '{"qid": "q1", "lang": "sw", "answers": ["x"]}\n{"id": "q2", "answers": ["y"]}\n')
    assert load_query_languages(answers) == {"q1": "sw", "q2": "all"}
    assert "a2.jsonl:1: missing query id" in error(load_query_languages, write(tmp_path / "a2.jsonl", '{"lang": "sw"}\n'))


def test_language_codes():
    assert check_language("sw") == "sw"
    assert "unknown language code 'xx'" in error(check_language, "xx")
