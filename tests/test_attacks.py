"""Attacks: script preserved, rate respected, deterministic by seed, clear refusal where they do not apply."""
import unicodedata

import pytest

from pyserini_xqg.io.collection import load_topics
from pyserini_xqg.io.sample import Sample
from pyserini_xqg.perturb.attacks import ATTACKS, NotApplicable, attack_topics, graphemes

from .conftest import write

SAMPLE = Sample()


def topics(lang, n=20):
    return dict(list(load_topics(SAMPLE.topics("dev", lang)).items())[:n])


def scripts_of(text):
    return {unicodedata.name(c).split()[0] for c in text if c.isalpha()}


@pytest.mark.parametrize("attack", ["char-insert", "char-delete", "char-substitute", "char-swap", "keyboard-typo"])
@pytest.mark.parametrize("lang", ["ar", "ru", "te", "bn"])
def test_character_attacks_keep_the_script_and_are_deterministic(attack, lang):
    clean = topics(lang)
    out, prov = attack_topics(clean, lang, attack, rate=0.1, seed=3)
    assert list(out) == list(clean)
    assert out == attack_topics(clean, lang, attack, rate=0.1, seed=3)[0]
    assert out != attack_topics(clean, lang, attack, rate=0.1, seed=4)[0]
    for qid, text in out.items():
        assert scripts_of(text) <= scripts_of(clean[qid]) | {"LATIN"}  # Latin names in the query may stay
        # combining marks never end up without a base letter
        assert not any(unicodedata.combining(g[0]) for g in graphemes(text))
    assert sum(p["edit_distance"] > 0 for p in prov) >= len(prov) * 0.8


def test_rate_sets_the_number_of_edits():
    clean = topics("sw")
    letters = {q: sum(g[0].isalpha() for g in graphemes(t)) for q, t in clean.items()}
    for rate in (0.05, 0.2):
        _, prov = attack_topics(clean, "sw", "char-substitute", rate=rate, seed=0)
        for p in prov:
            assert p["edit_distance"] <= max(1, round(letters[p["qid"]] * rate))
    low = sum(p["edit_distance"] for p in attack_topics(clean, "sw", "char-delete", rate=0.05)[1])
    high = sum(p["edit_distance"] for p in attack_topics(clean, "sw", "char-delete", rate=0.3)[1])
    assert high > 3 * low


def test_combining_marks_stay_with_their_base_in_yoruba():
    out, _ = attack_topics({"q": "Ọ̀yọ́ ni ìlú ńlá"}, "yo", "char-swap", rate=0.5, seed=1)
    assert sorted(graphemes(out["q"])) == sorted(graphemes("Ọ̀yọ́ ni ìlú ńlá"))


def test_orthographic_attacks():
    out, _ = attack_topics(topics("yo", 5), "yo", "strip-marks")
    assert all(not any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", t)) for t in out.values())
    out, _ = attack_topics(topics("bn", 5), "bn", "strip-marks")
    assert all("\u09be" not in t and "\u09bf" not in t for t in out.values())  # vowel signs ā, i gone
    out, _ = attack_topics(topics("ko", 5), "ko", "nfd")
    assert all(t != unicodedata.normalize("NFC", t) for t in out.values())   # Hangul decomposed to jamo
    out, _ = attack_topics(topics("te", 5), "te", "romanize")
    assert all(t.isascii() for t in out.values())


def test_orthography_decides_as_well_as_script():
    """Swahili is written in Latin script without diacritics: stripping marks would change nothing, so it is refused."""
    sw = topics("sw", 10)
    assert all(unicodedata.normalize("NFD", t) == t for t in sw.values())  # the premise, checked on the data
    with pytest.raises(NotApplicable, match="leaves every one of its 10 queries unchanged"):
        attack_topics(sw, "sw", "strip-marks")
    with pytest.raises(NotApplicable, match="leaves every one"):
        attack_topics(sw, "sw", "nfd")
    out, _ = attack_topics({"q": "Ọ̀yọ́ ni ìlú ńlá", "r": "Ilu wo"}, "yo", "strip-marks")  # one query is enough
    assert out == {"q": "Oyo ni ilu nla", "r": "Ilu wo"}  # Yoruba tone marks and under-dots are diacritics


def test_word_attacks():
    clean = topics("sw")
    shuffled, _ = attack_topics(clean, "sw", "word-shuffle", rate=0.2)
    assert all(sorted(shuffled[q].split()) == sorted(clean[q].split()) for q in clean)
    dropped, _ = attack_topics(clean, "sw", "word-drop", rate=0.2)
    assert all(0 < len(dropped[q].split()) < len(clean[q].split()) for q in clean)


@pytest.mark.parametrize("attack, lang, reason", [
    ("word-drop", "ja", "not separated by spaces"),
    ("romanize", "sw", "already written in Latin script"),
    ("strip-marks", "am", "no separable diacritics"),
    ("keyboard-typo", "ja", "no keyboard layout"),
])
def test_refuses_where_it_does_not_apply(attack, lang, reason):
    with pytest.raises(NotApplicable, match=reason):
        attack_topics({"q": "anything"}, lang, attack)


def test_file_variants_and_errors(tmp_path):
    variants = write(tmp_path / "v.tsv", "q1\tMto Nile uko wapi?\nq2\tZiwa refu?\n")
    out, prov = attack_topics({"q1": "Nile iko wapi?", "q2": "Ziwa gani?"}, "sw", f"file:{variants}")
    assert out == {"q1": "Mto Nile uko wapi?", "q2": "Ziwa refu?"} and prov[0]["attack"] == "file"
    with pytest.raises(Exception, match="no variant for 1 queries"):
        attack_topics({"q3": "x"}, "sw", f"file:{variants}")
    with pytest.raises(ValueError, match="unknown attack"):
        attack_topics({"q": "x"}, "sw", "nope")
    assert set(ATTACKS) >= {"char-insert", "keyboard-typo", "strip-marks", "romanize", "word-shuffle"}


def test_attack_cli(tmp_path, capsys):
    import json

    from pyserini_xqg.__main__ import main

    out = tmp_path / "ar.typo.tsv"
    assert main(["attack", "--topics", str(SAMPLE.topics("dev", "ar")), "--lang", "ar", "--attack", "keyboard-typo",
                 "--rate", "0.1", "--seed", "7", "--output", str(out)]) == 0
    attacked = load_topics(out)
    assert list(attacked) == list(load_topics(SAMPLE.topics("dev", "ar")))
    prov = [json.loads(line) for line in open(f"{out}.provenance.jsonl")]
    assert prov[0]["params"] == {"rate": 0.1, "seed": 7, "level": "character"}
    assert main(["attack", "--topics", str(SAMPLE.topics("dev", "ja")), "--lang", "ja", "--attack", "word-drop",
                 "--output", str(tmp_path / "x.tsv")]) == 2
    assert "does not apply to Japanese" in capsys.readouterr().err


def test_a_prompted_paraphraser_gets_its_template_and_is_seeded(tiny_mt5):
    """The translation families are tested in test_paraphrase and test_translate; a model of none is prompted."""
    from pyserini_xqg.perturb.paraphrase import Settings

    clean, words = topics("sw", 2), Settings(num_candidates=1)
    out, prov = attack_topics(clean, "sw", f"paraphrase:{tiny_mt5}", paraphrase=words)
    assert list(out) == list(clean) and prov[0]["attack"] == "paraphrase"
    made = prov[0]["params"]["paraphraser"]
    assert (made["family"], made["prompt"], made["source_code"]) == ("prompted", "paraphrase: {text}", "Swahili")
    assert all(r["changed"] == (r["perturbed"] != r["original"]) and r["made"] == 1 for r in prov)
    assert out == attack_topics(clean, "sw", f"paraphrase:{tiny_mt5}", seed=0, paraphrase=words)[0]  # seeded


def _dictd(folder, name, entries):
    """A dictd dictionary in the format FreeDict ships (.index with base64 offsets, gzipped .dict.dz)."""
    import gzip

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def b64(n):
        out = ""
        while True:
            out = alphabet[n % 64] + out
            n //= 64
            if not n:
                return out

    data, index = b"\n00-database-info\nTest dictionary\n", []
    index.append(f"00databaseinfo\t{b64(1)}\t{b64(len(data) - 1)}")
    for word, body in entries:
        raw = f"{word} /pron/ <n>\n{body}\n".encode()
        index.append(f"{word}\t{b64(len(data))}\t{b64(len(raw))}")
        data += raw
    (folder / f"{name}.index").write_text("\n".join(sorted(index)) + "\n")
    with gzip.open(folder / f"{name}.dict.dz", "wb") as f:
        f.write(data)


def test_code_switch_reads_freedict_dictd_files(tmp_path, monkeypatch):
    from pyserini_xqg.perturb.attacks import Dictionary, dictionary_languages

    _dictd(tmp_path, "freedict-swh-eng", [("mto", "1.\nriver\n2.\npillow"), ("ziwa", "1.\nlake (body of water)\n2.\nbreast"),
                                          ("mji", "\ntown, city")])
    monkeypatch.setenv("PYSERINI_XQG_DICTD", str(tmp_path))
    assert Dictionary(tmp_path / "freedict-swh-eng.index").translate("Ziwa") == "lake"
    assert dictionary_languages() == ["sw"]
    clean = {"q1": "Mto Nile unapita katika mji gani?", "q2": "Ziwa lipi lina kina kirefu?"}
    out, prov = attack_topics(clean, "sw", "code-switch", rate=1.0, seed=0)
    assert out == {"q1": "river Nile unapita katika town gani?", "q2": "lake lipi lina kina kirefu?"}
    assert prov[0]["params"]["level"] == "word"
    half, _ = attack_topics(clean, "sw", "code-switch", rate=0.5, seed=0)
    assert sum(a != b for a, b in zip(half["q1"].split(), clean["q1"].split())) == 1
    with pytest.raises(NotApplicable, match="no FreeDict ben-eng dictionary"):
        attack_topics({"q": "x"}, "bn", "code-switch")
