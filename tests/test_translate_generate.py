"""Translate-generate xQG: a file's or a QG model's English questions, translated by a tiny NLLB model into
each target language; records, provenance, resuming and refusals."""
import hashlib
import json

import pytest

from pyserini_xqg.generate.queries import FileGenerator, HFGenerator, generate_queries as run
from pyserini_xqg.generate.translated import TranslatedGenerator
from pyserini_xqg.io.files import DataError
from pyserini_xqg.translate import Decoding, load_translator

from .conftest import read_jsonl, write

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DEC = Decoding(max_new_tokens=8)
ENGLISH = {"d1": ["Where does the Nile flow?", "Which sea does the Nile reach?"], "d2": ["How high is Mount Fuji?"],
           "d3": ["Which lake is the deepest?"], "d4": ["Who created the Korean alphabet?"]}


@pytest.fixture
def english(tmp_path):
    """Reference questions in the released shape (as AfriQA's reference-queries.train.en.jsonl), d5 and d6 without."""
    rows = [{"docid": d, "generated_queries": {"en": q, **({"sw": ["Mto Nile uko wapi?"]} if d == "d1" else {})}}
            for d, q in ENGLISH.items()]
    return write(tmp_path / "reference-queries.en.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def by_key(records):
    keys = [(r["docid"], r["lang"]) for r in records]
    assert len(keys) == len(set(keys)), "duplicate records"
    return {(r["docid"], r["lang"]): r for r in records}


def expected(translator, questions: dict[str, list[str]], lang: str) -> dict[str, list[str]]:
    """The translator's output for every source question, grouped back by passage, empty ones left out."""
    flat = [q for qs in questions.values() for q in qs]
    out = iter(translator.translate(flat, "en", lang, DEC, progress=False))
    return {d: [c for _ in qs for c in next(out) if c] for d, qs in questions.items()}


def test_file_questions_translated_into_every_language_and_resumed(tiny_seq2seq, mini_corpus, english, tmp_path):
    nllb = str(tiny_seq2seq("nllb"))
    make = lambda decoding=DEC: TranslatedGenerator(FileGenerator(english), nllb, "en", decoding, batch_size=2)  # noqa: E731
    full = by_key(read_jsonl(run(mini_corpus, tmp_path / "q.jsonl", make(), ["ha", "yo", "en"], progress=False)))
    assert set(full) == {(d, lang) for d in ENGLISH for lang in ("ha", "yo", "en")}  # d5, d6 have no questions
    translator = load_translator(nllb)
    for lang in ("ha", "yo"):
        assert {d: full[d, lang]["queries"] for d in ENGLISH} == expected(translator, ENGLISH, lang)
    assert any(full[d, "ha"]["queries"] for d in ENGLISH)  # the tiny model emits something here
    assert {d: full[d, "en"]["queries"] for d in ENGLISH} == ENGLISH  # the source language stays as it is
    source = {"backend": "file", "source": str(english), "format": "released",  # and the import's own, as for file:
              "imports": [{"source": str(english), "sha256": hashlib.sha256(english.read_bytes()).hexdigest(),
                           "n": None, "langs": ["en"]}]}
    provenance = full["d1", "ha"]["provenance"]
    assert provenance == {"generator": source, "translator": translator.provenance("en", "ha", DEC)}
    assert (provenance["translator"]["source_code"], provenance["translator"]["target_code"]) == ("eng_Latn", "hau_Latn")
    assert full["d1", "en"]["provenance"] == {"generator": source, "translator": None}

    # a run stopped after one language, then completed; a killed run (a torn last line), then resumed
    part = tmp_path / "part.jsonl"
    run(mini_corpus, part, make(), ["ha"], progress=False)
    assert by_key(read_jsonl(run(mini_corpus, part, make(), ["ha", "yo", "en"], progress=False))) == full
    killed = tmp_path / "killed.jsonl"
    lines = (tmp_path / "q.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    killed.write_text("".join(lines[:5]) + lines[5][:30], encoding="utf-8")
    assert by_key(read_jsonl(run(mini_corpus, killed, make(), ["ha", "yo", "en"], progress=False))) == full

    with pytest.raises(DataError, match="q.jsonl:1: was made with other settings"):
        run(mini_corpus, tmp_path / "q.jsonl", make(Decoding(max_new_tokens=9)), ["ha", "yo", "en"], progress=False)
    with pytest.raises(ValueError, match=r"NLLB-200 model .* does not cover Latin \(la\)"):
        run(mini_corpus, tmp_path / "latin.jsonl", make(), ["ha", "la"], progress=False)
    assert not (tmp_path / "latin.jsonl").exists()  # refused before anything was written


def test_qg_model_questions_translated(tiny_seq2seq, tiny_mt5, mini_corpus, tmp_path):
    nllb = str(tiny_seq2seq("nllb"))
    options = dict(n=2, max_new_tokens=6, batch_size=2, seed=3)
    plain = read_jsonl(run(mini_corpus, tmp_path / "en.jsonl", f"hf:{tiny_mt5}", ["en"], progress=False, **options))
    questions = {r["docid"]: [q for q in r["queries"] if q] for r in plain}
    qg = HFGenerator(tiny_mt5, **options)
    out = by_key(read_jsonl(run(mini_corpus, tmp_path / "ha.jsonl", TranslatedGenerator(qg, nllb, "en", DEC), ["ha"],
                                progress=False)))
    assert {d: out[d, "ha"]["queries"] for d in questions} == expected(load_translator(nllb), questions, "ha")
    assert out["d1", "ha"]["provenance"]["generator"] == qg.provenance
    assert out["d1", "ha"]["provenance"]["translator"]["target_code"] == "hau_Latn"


def test_cli_translate_generate(tiny_seq2seq, mini_corpus, english, tmp_path, capsys):
    from pyserini_xqg.__main__ import main

    nllb = str(tiny_seq2seq("nllb"))
    out = tmp_path / "cli.jsonl"
    args = ["generate", "--corpus", str(mini_corpus), "--output", str(out), "--generator", f"file:{english}",
            "--langs", "ha", "--translate-with", nllb, "--source-lang", "eng", "--translate-max-new-tokens", "8"]
    assert main(args) == 0
    records = by_key(read_jsonl(out))
    assert {d: records[d, "ha"]["queries"] for d in ENGLISH} == expected(load_translator(nllb), ENGLISH, "ha")
    assert records["d2", "ha"]["provenance"]["translator"]["decoding"] == {**DEC.__dict__}
    assert main([*args, "--engine", "ray"]) == 2
    assert "--translate-with runs on --engine local" in capsys.readouterr().err
    assert main(["generate", "--corpus", str(mini_corpus), "--output", str(tmp_path / "x.jsonl"), "--generator",
                 f"file:{english}", "--langs", "ha", "--source-lang", "en"]) == 2
    assert "give both" in capsys.readouterr().err
