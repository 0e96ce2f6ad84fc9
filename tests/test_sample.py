"""The built-in sample: complete, consistent, and derived from its authoring sources."""
import json
import unicodedata

from pyserini_xqg.io.collection import load_answers, load_corpus, load_qrels, load_topics
from pyserini_xqg.io.languages import LANGUAGES, XOR_TYDI
from pyserini_xqg.io.sample import SAMPLE, SPLITS, Sample, build

sample = Sample()


def test_derived_files_are_up_to_date():
    for rel, text in build().items():
        assert (SAMPLE / rel).read_text(encoding="utf-8") == text, f"{rel} is stale: run python -m pyserini_xqg.io.sample"


def test_passages():
    corpus = load_corpus(sample.corpus)
    assert len(corpus) >= 100
    for p in corpus.values():
        assert 80 <= len(p.text.split()) <= 150, p.docid
        assert p.title


def test_languages_cover_xor_tydi_and_three_other_families():
    langs = sample.languages
    assert set(XOR_TYDI) <= set(langs) and len(langs) >= 10
    xor_families = {LANGUAGES[c].family for c in XOR_TYDI}
    low = [c for c in langs if c not in XOR_TYDI and LANGUAGES[c].resource_class in ("0", "1", "2", "3")]
    assert len({LANGUAGES[c].family for c in low} - xor_families) >= 3
    for code in langs:
        lang = LANGUAGES[code]
        assert lang.iso639_3 and lang.script != "unknown" and lang.resource_class in ("0", "1", "2", "3", "4", "5")


def test_queries_qrels_answers_consistent():
    corpus = load_corpus(sample.corpus)
    for split in SPLITS:
        qrels = load_qrels(sample.qrels(split), set(corpus))
        answers = load_answers(sample.answers(split))
        for lang in sample.languages:
            native = load_topics(sample.topics(split, lang))
            english = load_topics(sample.topics(split, lang, english=True))
            assert len(native) >= 30 and list(native) == list(english)
            for qid, text in native.items():
                assert text != english[qid] and unicodedata.is_normalized("NFC", text)
                assert qid in qrels and any(a in corpus[d].text for d in qrels[qid] for a in answers[qid]), qid
    dev = {q.split("-", 1)[1] for q in load_qrels(sample.qrels("dev"))}
    train = {q.split("-", 1)[1] for q in load_qrels(sample.qrels("train"))}
    assert dev and train and not dev & train


def test_queries_are_in_their_script():
    scripts = {"ar": "ARABIC", "bn": "BENGALI", "ja": ("CJK", "HIRAGANA", "KATAKANA"), "ko": "HANGUL",
               "ru": "CYRILLIC", "te": "TELUGU", "am": "ETHIOPIC", "kk": "CYRILLIC"}
    for lang, names in scripts.items():
        names = names if isinstance(names, tuple) else (names,)
        for text in load_topics(sample.topics("dev", lang)).values():
            letters = [c for c in text if c.isalpha()]
            share = sum(any(n in unicodedata.name(c, "") for n in names) for c in letters) / len(letters)
            assert share > 0.5, (lang, text)
    yoruba = "".join(load_topics(sample.topics("dev", "yo")).values())
    assert any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", yoruba))  # tone marks kept


def test_authoring_sources_parse():
    rows = [json.loads(line) for line in (SAMPLE / "src" / "passages.jsonl").read_text().splitlines()]
    assert all(len(r["questions"]) == 3 and all(q["answer"] in r["contents"] for q in r["questions"]) for r in rows)


def test_reference_queries_are_labelled_and_disjoint_from_dev_and_train():
    from pyserini_xqg.io.generated import read_generated

    records = list(read_generated(sample.reference_queries))
    assert len(records) == 100 * len(sample.languages)
    assert all(len(r["queries"]) >= 2 and r["provenance"]["backend"] == "hand-written" for r in records)
    assert "not model output" in records[0]["provenance"]["note"]
    used = {t for split in SPLITS for lang in sample.languages for t in load_topics(sample.topics(split, lang)).values()}
    assert not used & {q for r in records for q in r["queries"]}
