"""The translation layer on tiny random models of every family: the plugin's output against transformers'
documented calls written out here, language codes in and out, refusals before generation, seeded sampling,
and CTranslate2 against transformers. Random models often emit nothing: ids are compared, empty or not."""
import re

import pytest

from pyserini_xqg.translate import Decoding, load_translator

QUERIES = ["Where is the Nile?", "Who created the Korean alphabet Hangul in the fifteenth century?", "Lake Baikal"]
SHORT = Decoding(max_new_tokens=12, batch_size=2)  # two batches: sorted by length, order restored
# family -> (target language, source language's token, target language's token)
CASES = {"nllb": ("ha", "eng_Latn", "hau_Latn"), "m2m100": ("ha", "__en__", "__ha__"),
         "mbart50": ("sw", "en_XX", "sw_KE"), "marian": ("ha", None, ">>hau<<"), "mt5": ("ha", None, None)}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def translators(tiny_seq2seq):
    made = {}

    def get(family: str, ct2: bool = False):
        if (family, ct2) not in made:
            path = tiny_seq2seq(family, ct2)
            made[family, ct2] = load_translator(f"ct2:{path}" if ct2 else str(path))
        return made[family, ct2]

    return get


def _reference(family: str, path, texts: list[str], max_new_tokens: int):
    """transformers' documented call for each family, written out: (generated ids, decoded texts)."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    options = {}
    if family == "nllb":
        tokenizer.src_lang = "eng_Latn"
        options["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids("hau_Latn")
    elif family == "m2m100":
        tokenizer.src_lang = "en"
        options["forced_bos_token_id"] = tokenizer.get_lang_id("ha")
    elif family == "mbart50":
        tokenizer.src_lang = "en_XX"
        options["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids("sw_KE")
    elif family == "marian":
        texts = [f">>hau<< {t}" for t in texts]
    else:
        texts = [f"Translate from English to Hausa: {t}" for t in texts]
    inputs = tokenizer(texts, return_tensors="pt", padding=True)
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=1, do_sample=False, **options)
    # transformers 5 leaves M2M100's __xx__ codes out of its special tokens, so decoding keeps them: skip it
    decoded = tokenizer.batch_decode(out[:, 2:] if family == "m2m100" else out, skip_special_tokens=True)
    ids = []
    for row in out[:, 1:].tolist():  # without the decoder's start token, up to the end token, no padding
        row = row[:row.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in row else row
        ids.append([i for i in row if i != tokenizer.pad_token_id])
    return ids, [" ".join(t.split()) for t in decoded], tokenizer


@pytest.mark.parametrize("family", CASES)
def test_greedy_output_is_the_documented_transformers_call(family, translators, tiny_seq2seq):
    tgt, src_token, tgt_token = CASES[family]
    tr = translators(family)
    assert tr.family == ("prompted" if family == "mt5" else family)
    ids, texts, tokenizer = _reference(family, tiny_seq2seq(family), QUERIES, SHORT.max_new_tokens)
    ours = tr.token_ids(QUERIES, "en", tgt, SHORT, progress=False)
    assert ours == [[row] for row in ids]
    assert tr.translate(QUERIES, "en", tgt, SHORT, progress=False) == [[t] for t in texts]
    encoded = tr.source_ids(QUERIES, "en", tgt)
    if src_token:  # the source language's code leads the encoded source
        assert all(row[0] == tokenizer.convert_tokens_to_ids(src_token) for row in encoded)
    if tgt_token and family != "marian":  # the first generated token is the target's code
        assert all(row[0] == tokenizer.convert_tokens_to_ids(tgt_token) for row in ids)
    if family == "marian":
        assert all(row[0] == tokenizer.convert_tokens_to_ids(">>hau<<") for row in encoded)
    if family == "mt5":
        assert tokenizer.decode(encoded[0]) == "Translate from English to Hausa: Where is the Nile?</s>"


@pytest.mark.parametrize("family, lang", [("nllb", "la"), ("m2m100", "bem"), ("mbart50", "bem"), ("marian", "bem")])
def test_uncovered_language_is_refused_before_generation(family, lang, translators, monkeypatch):
    tr = translators(family)
    monkeypatch.setattr(tr, "_generate", lambda *a: pytest.fail("generation started"))
    name = {"la": "Latin (la)", "bem": "Bemba (bem)"}[lang]
    label = {"nllb": "NLLB-200", "m2m100": "M2M100", "mbart50": "mBART-50", "marian": "Marian"}[family]
    with pytest.raises(ValueError, match=rf"^{label} model .* does not cover {re.escape(name)}$"):
        tr.translate(QUERIES, "en", lang, progress=False)
    if family != "marian":  # a multi-target Marian model reads any source
        with pytest.raises(ValueError, match="does not cover"):
            tr.check(lang, "en")
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        tr.check("en", "xx")


def test_language_codes_come_from_the_tokenizers_own_list(translators):
    nllb, m2m, mbart, marian, mt5 = (translators(f) for f in CASES)
    assert nllb.codes("ha", "en") == ("hau_Latn", "eng_Latn")
    assert nllb.codes("hau", "zh") == ("hau_Latn", "zho_Hans")  # ISO 639-3 in; the language's own script first
    assert nllb.codes("bem", "tw") == ("bem_Latn", "twi_Latn")
    assert m2m.codes("en", "yo") == ("en", "yo") and mbart.codes("en", "sw") == ("en_XX", "sw_KE")
    assert marian.codes("en", "fr") == (None, ">>fr<<")  # no >>fra<<: its ISO 639-1 code
    assert mt5.codes("yo", "ha") == ("Yoruba", "Hausa")


def test_codes_come_from_the_language_table_and_marian_from_its_tokenizer(translators):
    pytest.importorskip("iso639")
    nllb = translators("nllb")
    assert nllb.codes("sw", "en") == ("swh_Latn", "eng_Latn")  # a macrolanguage: the member NLLB uses
    assert nllb.codes("ar", "fa") == ("arb_Arab", "pes_Arab")  # several members: CLDR's alias decides
    assert translators("marian").codes("en", "sw") == (None, ">>swh<<")


def test_without_python_iso639_a_marian_macrolanguage_asks_for_its_member(translators, monkeypatch):
    from pyserini_xqg.translate import codes

    monkeypatch.setattr(codes, "_iso639", lambda: None)
    codes._macrolanguage_relatives.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"does not cover Swahili \(sw\) \(or .* pip install python-iso639\)"):
            translators("marian").check("en", "sw")
        assert translators("marian").codes("en", "swh") == (None, ">>swh<<")
    finally:
        codes._macrolanguage_relatives.cache_clear()


def test_seeded_sampling_repeats_and_gives_num_candidates(translators):
    tr = translators("nllb")
    sampled = Decoding(num_candidates=3, sample=True, top_k=50, seed=1, max_new_tokens=8, batch_size=2)
    first = tr.token_ids(QUERIES, "en", "ha", sampled, progress=False)
    assert [len(c) for c in first] == [3, 3, 3]
    assert tr.token_ids(QUERIES, "en", "ha", sampled, progress=False) == first
    other = tr.token_ids(QUERIES, "en", "ha", Decoding(**{**sampled.__dict__, "seed": 2}), progress=False)
    assert other != first
    beams = tr.translate(QUERIES, "en", "ha", Decoding(num_candidates=2, max_new_tokens=8), progress=False)
    assert [len(c) for c in beams] == [2, 2, 2]
    prov = tr.provenance("en", "ha", sampled)
    assert prov["backend"] == "transformers" and (prov["source_code"], prov["target_code"]) == ("eng_Latn", "hau_Latn")
    assert prov["decoding"] == {"num_candidates": 3, "sample": True, "top_k": 50, "top_p": 1.0, "seed": 1,
                                "max_new_tokens": 8, "batch_size": 2}


@pytest.mark.parametrize("family", ["nllb", "marian"])
def test_ctranslate2_equals_transformers_greedy(family, translators):
    from .tiny_models import sample_texts

    texts = QUERIES + sample_texts()[-40::8]  # the sample's last topics: several scripts
    tgt = CASES[family][0]
    hf, ct2 = translators(family), translators(family, ct2=True)
    assert ct2.family == family and ct2.provenance("en", tgt)["backend"] == "ctranslate2"
    for decoding in (SHORT, Decoding(max_new_tokens=24)):  # 12 tokens: most candidates run to the limit
        assert ct2.token_ids(texts, "en", tgt, decoding, progress=False) == \
            hf.token_ids(texts, "en", tgt, decoding, progress=False)
    assert ct2.translate(texts, "en", tgt, SHORT, progress=False) == hf.translate(texts, "en", tgt, SHORT, progress=False)
    sampled = Decoding(num_candidates=2, sample=True, seed=3, max_new_tokens=8)
    once = ct2.translate(QUERIES, "en", tgt, sampled, progress=False)
    assert [len(c) for c in once] == [2, 2, 2] and ct2.translate(QUERIES, "en", tgt, sampled, progress=False) == once


def test_marian_single_pair_models_check_their_declared_languages(tmp_path):
    from .tiny_models import build

    declared = load_translator(str(build("marian", tmp_path / "pair", targets=(), source_lang="en", target_lang="ha")))
    named = load_translator(str(build("marian", tmp_path / "opus-mt-en-yo", targets=())))
    assert declared.codes("en", "ha") == ("en", "ha") and named.codes("en", "yo") == ("en", "yo")
    assert not any(t.startswith(">>") for t in declared.tokenizer.convert_ids_to_tokens(
        declared.source_ids(QUERIES, "en", "ha")[0]))
    with pytest.raises(ValueError, match=r"translates en -> ha: its target language is not Yoruba \(yo\)"):
        declared.check("en", "yo")
    with pytest.raises(ValueError, match=r"translates en -> yo: its source language is not Hausa \(ha\)"):
        named.check("ha", "yo")


def test_prompt_template_empty_outputs_and_loading_errors(translators, tiny_seq2seq, tmp_path, monkeypatch):
    custom = load_translator(str(tiny_seq2seq("mt5")), template="{text} in {target_language} from {source_language}")
    assert custom.tokenizer.decode(custom.source_ids(["Lake Baikal"], "en", "yo")[0]) == \
        "Lake Baikal in Yoruba from English</s>"
    assert custom.provenance("en", "yo")["prompt"] == "{text} in {target_language} from {source_language}"
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) language"):
        load_translator(str(tiny_seq2seq("mt5")), template="Into {language}: {text}")
    tr = translators("nllb")  # a candidate of only the target's code and the end token reads as ""
    monkeypatch.setattr(tr, "_generate", lambda batch, prefix, *a: [[prefix + [tr.tokenizer.eos_token_id]]
                                                                     for _ in batch])
    assert tr.translate(QUERIES, "en", "ha", progress=False) == [[""], [""], [""]]
    with pytest.raises(ValueError, match=r"missing: cannot load the translation model's tokenizer"):
        load_translator(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"no CTranslate2 model \(model.bin\) here"):
        load_translator(f"ct2:{tmp_path}")
    with pytest.raises(ValueError, match="top_p"):
        Decoding(top_p=0)

