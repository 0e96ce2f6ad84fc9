"""Language metadata: every ISO 639-1/639-3 code resolves, and each field agrees with its published source.

The expectations are read from the sources themselves (data/languages/, python-iso639, language_data's
CLDR files, transformers' tokenizer code lists), not typed in: the shipped table must equal a fresh
rebuild, and each field is checked against its source by a route of its own (Glottolog's family trees
rather than its Family_ID column; the model codes parsed back into ISO 639 codes).
"""
import csv
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import defaultdict
from functools import cache
from importlib import resources
from pathlib import Path

import iso639
import pytest
from language_data.name_data import CODE_TO_NAMES

from pyserini_xqg.io.files import RESOURCES, DataError
from pyserini_xqg.io.languages import LANGUAGES, XOR_TYDI, check_language, model_code

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "languages"
ISSUE = ("ha", "hau", "ig", "yo", "zu", "rw", "tw", "bem", "sw", "am", "te", "ja", "kk", "en")
MODELS = ("flores200", "m2m100", "mbart50")


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def iso(code):
    """python-iso639's entry for an ISO 639-1 or 639-3 code."""
    return iso639.Language.from_part1(code) if len(code) == 2 else iso639.Language.from_part3(code)


@cache
def glottolog():
    return {r["ID"]: r for r in read_csv(DATA / "glottolog" / "languages.csv")}


@cache
def glottolog_roots():
    """glottocode -> the root of its tree in classification.nex (each family's Newick tree)."""
    roots = {}
    for line in (DATA / "glottolog" / "classification.nex").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*tree (\S+) = \[&R\] (.*);$", line)
        if m:
            labels = re.findall(r"[a-z0-9]{4}[0-9]{4}", m.group(2))
            for label in labels:
                roots[label] = labels[-1]  # in Newick the root's label comes last
    return roots


@cache
def wals_by_iso():
    out = defaultdict(set)
    for r in read_csv(DATA / "wals" / "languages.csv"):
        for code in r["ISO_codes"].split():
            out[code].add(r["Genus"])
    return out


@cache
def wals_by_glottocode():
    out = defaultdict(set)
    for r in read_csv(DATA / "wals" / "languages.csv"):
        if r["Glottocode"] and r["Genus"]:
            out[r["Glottocode"]].add(r["Genus"])
    return out


@cache
def lang2tax():
    out = defaultdict(set)
    for line in (DATA / "joshi2020" / "lang2tax.txt").read_text(encoding="utf-8").splitlines():
        name, cls = line.rsplit(",", 1)
        out[name.casefold()].add(cls)
    return out


@cache
def aliases():
    lines = [l for l in (DATA / "joshi-aliases.tsv").read_text(encoding="utf-8").splitlines() if not l.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


@cache
def cldr_scripts():
    """BCP 47 code -> (primary scripts, secondary scripts), from CLDR's supplementalData.xml."""
    xml = resources.files("language_data").joinpath("data/supplementalData.xml").read_bytes()
    out = defaultdict(lambda: ([], []))
    for el in ET.fromstring(xml).iter("language"):
        if el.get("scripts"):
            out[el.get("type")][el.get("alt") == "secondary"].extend(el.get("scripts").split())
    return out


@cache
def macro_members():
    members = defaultdict(set)
    for lang in LANGUAGES.values():
        macro = iso(lang.iso639_3).macrolanguage
        if macro:
            members[macro].add(lang.iso639_3)
    return members


@cache
def name_index():
    """language_data's English name index (CLDR, IANA, Wiktionary names): normalised name -> ISO 639-3."""
    import marisa_trie

    trie = marisa_trie.BytesTrie()
    trie.load(str(resources.files("language_data").joinpath("data/trie/en/name_to_language.marisa")))
    out = {}
    for key, value in trie.items():
        try:
            out[key] = iso(value.decode()).part3
        except (iso639.LanguageNotFoundError, ValueError):
            pass
    return out


@cache
def tokenizer_codes():
    """field -> the language codes transformers' tokenizer for that model family ships."""
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES as m2m100
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as mbart50
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as nllb

    return {"flores200": tuple(nllb), "m2m100": tuple(m2m100["m2m100"]), "mbart50": tuple(mbart50)}


# each family's code: an ISO 639-3 code and a script (hau_Latn), an ISO 639 code (ha, ast), an ISO 639-1
# code and a region (sw_KE)
CODE_FORMS = {"flores200": r"([a-z]{3})_([A-Z][a-z]{3})", "m2m100": r"([a-z]{2,3})()",
              "mbart50": r"([a-z]{2})_[A-Z]{2}()"}


def code_language(field, code):
    """python-iso639's entry for the language a model code names, and the code's script ("" if none);
    (None, "") if the code names no ISO 639 language."""
    m = re.fullmatch(CODE_FORMS[field], code)
    assert m, (field, code)
    try:
        return iso(m.group(1)), m.group(2)
    except iso639.LanguageNotFoundError:
        return None, ""


@cache
def cldr_aliases():
    """ISO 639 code -> CLDR's replacement for it (cldr/aliases.json, CLDR v40's languageAlias)."""
    data = json.loads((DATA / "cldr" / "aliases.json").read_text(encoding="utf-8"))
    assert data["supplemental"]["version"]["_cldrVersion"] == "40"
    return {k: v["_replacement"] for k, v in data["supplemental"]["metadata"]["alias"]["languageAlias"].items()}


def plain(name):
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


@cache
def pseudo_families():
    """Glottolog's non-genealogical top-level nodes, named after the categories of codes.csv."""
    genealogical = {"Family", "Pseudo Family", "Language", "Pseudo Language", "Dialect", "Pseudo Dialect",
                    "Spoken L1 Language"}
    categories = {r["Name"] for r in read_csv(DATA / "glottolog" / "codes.csv") if r["Parameter_ID"] == "category"}
    return {g for g, r in glottolog().items() if r["Level"] == "family" and r["Name"] in categories - genealogical}


def glottolog_family(glottocode):
    """The family name by way of classification.nex: a dialect's language, then its tree's root."""
    language = glottolog()[glottocode]["Language_ID"] or glottocode  # a dialect's language
    top = glottolog_roots().get(language, language)  # not in a tree: an isolate, its own family
    return "unknown" if top in pseudo_families() else glottolog()[top]["Name"]


# ---- the issue's codes ------------------------------------------------------------------------------

def test_the_issue_codes_resolve_and_639_3_aliases_are_the_same_language():
    for code in ISSUE:
        entry = iso(code)
        lang = LANGUAGES[code]
        assert check_language(code) == lang.code == (entry.part1 or entry.part3)
        assert lang.iso639_3 == entry.part3 and lang.iso639_1 == (entry.part1 or "")
        assert LANGUAGES[entry.part3] is lang and entry.part3 in LANGUAGES
    assert LANGUAGES["hau"] is LANGUAGES["ha"] and check_language("hau") == "ha" and check_language("HAU") == "ha"
    assert check_language("bem") == "bem"  # no ISO 639-1 code: the 639-3 one is canonical
    canonical = list(LANGUAGES)
    assert "ha" in canonical and "hau" not in canonical and len(canonical) == len(set(canonical)) == len(LANGUAGES)
    assert {code: LANGUAGES[code].iso639_3 for code in ("ha", "ig", "yo", "zu", "rw", "tw", "sw", "am", "te", "ja",
                                                        "kk", "en")} == {
        "ha": "hau", "ig": "ibo", "yo": "yor", "zu": "zul", "rw": "kin", "tw": "twi", "sw": "swa", "am": "amh",
        "te": "tel", "ja": "jpn", "kk": "kaz", "en": "eng"}


def test_genus_separates_bantu_from_kwa_igboid_and_defoid():
    """The issue's reason for a genus: one Glottolog family (Atlantic-Congo), several WALS genera."""
    niger_congo = ("zu", "rw", "bem", "sw", "ig", "yo", "tw")
    assert len({LANGUAGES[c].family for c in niger_congo}) == 1
    bantu = {LANGUAGES[c].genus for c in ("zu", "rw", "bem", "sw")}
    assert len(bantu) == 1 and "unknown" not in bantu
    assert len({LANGUAGES[c].genus for c in ("ig", "yo", "tw")} | bantu) == 4
    akan = [r for r in read_csv(DATA / "wals" / "languages.csv") if "aka" in r["ISO_codes"].split()]
    assert LANGUAGES["tw"].genus == akan[0]["Genus"] and akan[0]["Subfamily"] == "Kwa"  # Twi: Akan's genus, in Kwa


def test_names_read_naturally_and_come_from_iso_or_cldr():
    for code in ISSUE:
        lang = LANGUAGES[code]
        assert "(" not in lang.name and lang.name in (iso(code).name, CODE_TO_NAMES[lang.code]["en"])
    assert LANGUAGES["sw"].name == CODE_TO_NAMES["sw"]["en"] and iso("sw").name != LANGUAGES["sw"].name
    assert LANGUAGES["bem"].name == CODE_TO_NAMES["bem"]["en"] and "(" in iso("bem").name


# ---- every row against its sources ------------------------------------------------------------------

def test_one_row_per_active_individual_or_macrolanguage_code():
    expected = {l.part3: l for l in iso639.ALL_LANGUAGES
                if l.status == "A" and l.scope in ("I", "M") and not "qaa" <= l.part3 <= "qtz"}
    table = {lang.iso639_3: lang for lang in LANGUAGES.values()}
    assert set(table) == set(expected) and len(table) > 7000
    for code, lang in table.items():
        assert lang.iso639_1 == (expected[code].part1 or "")
    for special in ("und", "mul", "mis", "zxx"):
        assert iso639.Language.from_part3(special).scope == "S" and special not in LANGUAGES
    assert "qaa" not in LANGUAGES and "qtz" not in LANGUAGES  # reserved for local use


def test_every_name_is_the_iso_reference_name_or_the_unqualified_cldr_name():
    names = [lang.name for lang in LANGUAGES.values()]
    assert len(names) == len(set(names))
    for lang in LANGUAGES.values():
        reference = iso(lang.iso639_3).name
        if lang.name != reference:
            assert "(" in reference and "(" not in lang.name and lang.name == CODE_TO_NAMES[lang.code]["en"], lang


def test_every_family_is_the_root_of_its_glottolog_tree():
    by_iso = {r["ISO639P3code"]: g for g, r in glottolog().items() if r["ISO639P3code"]}
    members = macro_members()
    for lang in LANGUAGES.values():
        if lang.iso639_3 in by_iso:
            assert lang.glottocode == by_iso[lang.iso639_3]
            assert lang.family == glottolog_family(lang.glottocode), lang
        else:  # Glottolog has no such languoid: a macrolanguage whose members agree, or unknown
            assert lang.glottocode == "unknown"
            known = {LANGUAGES[m].family for m in members[lang.iso639_3]} - {"unknown"}
            assert lang.family == (known.pop() if len(known) == 1 else "unknown"), lang
    assert LANGUAGES["sw"].family == glottolog_family(by_iso["swh"]) == glottolog_family(by_iso["swc"])
    assert LANGUAGES["tw"].family == glottolog_family(glottolog()[LANGUAGES["tw"].glottocode]["Language_ID"])


def test_pseudo_families_are_unknown_not_a_family():
    sign = next(g for g in pseudo_families() if glottolog()[g]["Name"] == "Sign Language")
    signed = [r["ISO639P3code"] for r in glottolog().values() if r["Family_ID"] == sign and r["ISO639P3code"]]
    assert len(signed) > 100 and all(LANGUAGES[c].family == "unknown" for c in signed if c in LANGUAGES)


def test_every_genus_is_walss():
    for lang in LANGUAGES.values():
        row = glottolog().get(lang.glottocode, {})
        tiers = [wals_by_iso().get(lang.iso639_3), wals_by_glottocode().get(lang.glottocode),
                 wals_by_glottocode().get(row.get("Language_ID"))]
        found = next((t for t in tiers if t), None)
        if found:
            assert lang.genus == (next(iter(found)) if len(found) == 1 else "unknown"), lang
        elif lang.genus != "unknown":  # only a macrolanguage takes its members' genus, when they agree
            members = {LANGUAGES[m].genus for m in macro_members()[lang.iso639_3]} - {"unknown"}
            assert iso(lang.iso639_3).scope == "M" and members == {lang.genus}, lang
    for code in ("ha", "ig", "yo", "zu", "rw", "bem", "am", "te", "ja", "kk", "en"):
        assert {LANGUAGES[code].genus} == wals_by_iso()[LANGUAGES[code].iso639_3], code


def test_unknown_where_no_source_gives_a_field():
    """aab (Alumu-Tesu): Glottolog classifies it, WALS has no row and CLDR no scripts: genus and script unknown."""
    alumu = LANGUAGES["aab"]
    assert "aab" not in wals_by_iso() and alumu.glottocode not in wals_by_glottocode()
    assert "aab" not in cldr_scripts() and alumu.genus == "unknown" and alumu.scripts == ()
    assert alumu.script == "unknown" and alumu.family == glottolog_family(alumu.glottocode) != "unknown"
    # Twi: CLDR lists scripts for Akan (ak), none for tw; Glottolog files Twi as a dialect of Akan, so Akan's
    assert "tw" not in cldr_scripts() and glottolog()[LANGUAGES["tw"].glottocode]["Level"] == "dialect"
    assert LANGUAGES["tw"].scripts == tuple(cldr_scripts()["ak"][0]) == ("Latn",)
    fields = ("family", "genus", "resource_class")
    counts = {f: sum(getattr(l, f) == "unknown" for l in LANGUAGES.values()) for f in fields}
    assert all(0 < n < len(LANGUAGES) for n in counts.values())


def test_scripts_are_cldrs_primary_first():
    iso_of = {g["ID"]: g["ISO639P3code"] for g in glottolog().values() if g["ISO639P3code"]}
    for lang in LANGUAGES.values():
        primary, secondary = cldr_scripts().get(lang.code, ([], []))
        row = glottolog().get(lang.glottocode, {})
        if not primary + secondary and row.get("Level") == "dialect" and iso_of.get(row.get("Language_ID")) in LANGUAGES:
            parent = LANGUAGES[iso_of[row["Language_ID"]]]  # a dialect CLDR lacks: its language's scripts
            primary, secondary = cldr_scripts().get(parent.code, ([], []))
        assert list(lang.scripts) == list(dict.fromkeys(primary or secondary)), lang
    assert LANGUAGES["ha"].scripts == ("Latn", "Arab") and LANGUAGES["kk"].script == "Cyrl"
    assert LANGUAGES["ja"].script == "Jpan" and LANGUAGES["am"].script == "Ethi" and LANGUAGES["te"].script == "Telu"


def test_resource_classes_are_joshis():
    classes = lang2tax()
    # the issue's languages: the class of the lang2tax.txt line named like the language
    for code in ISSUE:
        lang = LANGUAGES[code]
        assert {lang.resource_class} == classes[lang.name.casefold()], code
    assert LANGUAGES["sw"].resource_class == "2" and LANGUAGES["ja"].resource_class == "5"
    # every class in the table is the class of a lang2tax name of that language, or of its alias
    named = defaultdict(set)
    for a in aliases():
        assert a["joshi_name"] in classes and a["note"] and a["iso639_3"] in LANGUAGES
        named[a["iso639_3"]].add(a["joshi_name"])
    from language_data.names import normalize_name

    by_code = defaultdict(set)  # lang2tax names that language_data's name index gives to a code
    for name in classes:
        if normalize_name(name) in name_index():
            by_code[name_index()[normalize_name(name)]].add(name)
    by_plain = defaultdict(set)
    for name in classes:
        by_plain[plain(name)].add(name)
    for lang in LANGUAGES.values():
        if lang.resource_class != "unknown" and lang.iso639_3 not in named:
            entry, row = iso(lang.iso639_3), glottolog().get(lang.glottocode, {})
            own = [entry.name, re.sub(r"\s*\([^)]*\)", "", entry.name), CODE_TO_NAMES.get(lang.code, {}).get("en", ""),
                   row.get("Name", ""), *(n.print for n in entry.other_names or [])]
            own = {plain(n) for n in own if n}
            matches = [n for p in own for n in by_plain.get(p, ())] + sorted(by_code[lang.iso639_3])
            assert any(classes[n] == {lang.resource_class} for n in matches), lang
    for code, names in named.items():
        assert {LANGUAGES[code].resource_class} == set().union(*(classes[n] for n in names))
    assert sum(l.resource_class != "unknown" for l in LANGUAGES.values()) > 1500


# ---- the translation models' language codes ------------------------------------------------------------

def test_the_issue_languages_get_nllbs_codes():
    codes = ("ha", "sw", "ar", "fa", "ms", "tw", "bem")
    expected = ("hau_Latn", "swh_Latn", "arb_Arab", "pes_Arab", "zsm_Latn", "twi_Latn", "bem_Latn")
    assert tuple(LANGUAGES[c].flores200 for c in codes) == expected
    assert tuple(model_code(c, "nllb") for c in codes) == expected
    assert set(expected) <= set(tokenizer_codes()["flores200"])
    assert (LANGUAGES["sw"].m2m100, LANGUAGES["sw"].mbart50) == ("sw", "sw_KE")
    assert (LANGUAGES["ha"].m2m100, LANGUAGES["ha"].mbart50) == ("ha", "unknown")
    assert LANGUAGES["hau"] is LANGUAGES["ha"] and model_code("hau", "m2m100") == "ha"


def test_every_model_code_is_the_tokenizers_and_names_the_language_or_its_member():
    for field in MODELS:
        listed = set(tokenizer_codes()[field])
        for lang in LANGUAGES.values():
            code = getattr(lang, field)
            if code == "unknown":
                continue
            assert code in listed, (field, lang)
            named, script = code_language(field, code)
            if named.part3 != lang.iso639_3:  # a macrolanguage: a member without an ISO 639-1 code of its own
                assert named.macrolanguage == lang.iso639_3 and not named.part1, (field, lang, code)
                assert not [c for c in listed if (code_language(field, c)[0] or named).part3 == lang.iso639_3]
            if script and sum(code_language(field, c)[0] == named for c in listed) > 1:  # several scripts
                assert script == (lang.script if lang.scripts else LANGUAGES[named.part3].script), (field, lang)
    covered = {f: sum(getattr(l, f) != "unknown" for l in LANGUAGES.values()) for f in MODELS}
    assert covered["flores200"] > 200 and covered["m2m100"] > 95 and covered["mbart50"] > 50


def test_a_language_gets_its_own_code_and_no_code_names_is_unknown():
    for field in MODELS:
        own, via_member = defaultdict(list), defaultdict(list)
        for code in tokenizer_codes()[field]:
            named, _ = code_language(field, code)
            if named is None:  # M2M100's ns (Northern Sotho is nso), NLLB's retired ajp: no language
                assert code in ("ns", "ajp_Arab") and code not in {getattr(l, field) for l in LANGUAGES.values()}
                continue
            own[named.part3].append(code)
            if named.macrolanguage and not named.part1:
                via_member[named.macrolanguage].append(code)
        for lang in LANGUAGES.values():
            code = getattr(lang, field)
            if len(own[lang.iso639_3]) == 1:
                assert code == own[lang.iso639_3][0], (field, lang)
            elif not own[lang.iso639_3] and not via_member[lang.iso639_3]:
                assert code == "unknown", (field, lang)
    # an individual language never takes its macrolanguage's code; a member with an ISO 639-1 code is no variety
    assert LANGUAGES["swh"].m2m100 == "unknown" and LANGUAGES["sw"].m2m100 == "sw"
    assert LANGUAGES["ms"].mbart50 == "unknown" and LANGUAGES["id"].mbart50 in tokenizer_codes()["mbart50"]
    assert LANGUAGES["no"].flores200 == "unknown" and LANGUAGES["nb"].flores200 in tokenizer_codes()["flores200"]
    assert {LANGUAGES["bem"].m2m100, LANGUAGES["bem"].mbart50, LANGUAGES["tw"].m2m100} == {"unknown"}


def test_cldr_picks_the_member_a_macrolanguage_code_stands_for():
    """fa: NLLB has pes_Arab and prs_Arab; CLDR replaces pes by fa and prs by fa-AF, so fa is pes."""
    assert cldr_aliases()["pes"] == "fa" and cldr_aliases()["prs"] == "fa-AF"
    assert LANGUAGES["fa"].flores200 == "pes_Arab" and LANGUAGES["prs"].flores200 == "prs_Arab"
    assert LANGUAGES["fa"].flores200 != LANGUAGES["prs"].flores200 in tokenizer_codes()["flores200"]
    # wherever several members have codes, the one taken is the one CLDR replaces by the bare macrolanguage code
    for field in MODELS:
        members = defaultdict(set)  # macrolanguage -> its members with codes (no ISO 639-1 code of their own)
        for named in filter(None, (code_language(field, c)[0] for c in tokenizer_codes()[field])):
            if named.macrolanguage and not named.part1:
                members[named.macrolanguage].add(named.part3)
        decided = 0
        for macro, used in members.items():
            lang, named = LANGUAGES[macro], None
            code = getattr(lang, field)
            if code != "unknown":
                named = code_language(field, code)[0].part3
            if len(used) > 1 and named in used:
                assert cldr_aliases()[named] == lang.code, (field, lang)
                decided += 1
        assert decided >= (5 if field == "flores200" else 0)
    assert [LANGUAGES[c].flores200 for c in ("ar", "ms", "ku", "az", "lv")] == [
        "arb_Arab", "zsm_Latn", "kmr_Latn", "azj_Latn", "lvs_Latn"]


def test_several_scripts_are_decided_by_the_primary_script():
    assert LANGUAGES["zh"].script == "Hans" and LANGUAGES["zh"].flores200 == "zho_Hans"
    assert LANGUAGES["ks"].script == "Arab" and LANGUAGES["ks"].flores200 == "kas_Arab"
    assert {"zho_Hant", "kas_Deva"} <= set(tokenizer_codes()["flores200"])
    # Central Kanuri has knc_Arab and knc_Latn but no CLDR script: unresolved
    assert LANGUAGES["knc"].scripts == () and LANGUAGES["knc"].flores200 == "unknown"


def test_model_code_names_the_language_and_family_it_does_not_cover():
    assert model_code("sw", "nllb") == "swh_Latn" and model_code("sw", "mbart50") == "sw_KE"
    assert model_code("swa", "m2m100") == "sw"
    with pytest.raises(DataError, match=r"NLLB-200 does not cover Norwegian \(no\)"):
        model_code("no", "nllb")
    with pytest.raises(DataError, match=r"M2M100 does not cover Bemba \(bem\)"):
        model_code("bem", "m2m100")
    with pytest.raises(DataError, match=r"topics\.tsv:2: mBART-50 does not cover Hausa \(ha\)"):
        model_code("ha", "mbart50", "topics.tsv", 2)
    with pytest.raises(DataError, match="unknown language code 'xq'"):
        model_code("xq", "nllb")
    with pytest.raises(ValueError, match="unknown model family 'opus'; expected one of nllb, m2m100, mbart50"):
        model_code("sw", "opus")


def test_xor_tydi_and_the_sample_order():
    from pyserini_xqg.io.sample import Sample

    assert XOR_TYDI == ("ar", "bn", "fi", "ja", "ko", "ru", "te")
    assert Sample().languages == ["ar", "bn", "fi", "ja", "ko", "ru", "te", "sw", "yo", "am", "jv", "kk"]


# ---- the shipped table is current ---------------------------------------------------------------------

def test_the_shipped_table_equals_a_rebuild_from_the_sources():
    spec = importlib.util.spec_from_file_location("build_languages", ROOT / "scripts" / "build_languages.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.OUT == RESOURCES / "languages.tsv"
    assert (RESOURCES / "languages.tsv").read_text(encoding="utf-8") == build.render(), \
        "stale: run python scripts/build_languages.py"
    assert (RESOURCES / "languages.tsv").stat().st_size < 1_500_000


def test_the_sources_are_the_files_the_readme_records():
    table = re.findall(r"^\| ([\w/.-]+) \| ([0-9a-f]{64}) \|$", (DATA / "README.md").read_text(encoding="utf-8"), re.M)
    assert len(table) == 11
    for rel, digest in table:
        assert hashlib.sha256((DATA / rel).read_bytes()).hexdigest() == digest, rel


def test_the_runtime_reads_only_the_table():
    code = ("import sys; from pyserini_xqg.io.languages import LANGUAGES; LANGUAGES['hau'];"
            "print(sorted(m for m in ('iso639', 'language_data', 'marisa_trie') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# ---- unknown codes and the command ---------------------------------------------------------------------

@pytest.mark.parametrize("code", ["xq", "zzz"])
def test_made_up_codes_are_refused_with_suggestions(code):
    with pytest.raises(iso639.LanguageNotFoundError):
        iso(code)  # no standard knows it
    assert code not in LANGUAGES
    with pytest.raises(DataError, match=rf"topics\.tsv:3: unknown language code '{code}'; did you mean \w+ \("):
        check_language(code, "topics.tsv", 3)


def test_suggestions_are_close_codes_and_names():
    with pytest.raises(DataError, match=r"did you mean hau \(Hausa\)"):
        check_language("hua")
    with pytest.raises(DataError, match=r"did you mean ha \(Hausa\)"):
        check_language("hausa")


def test_languages_command_prints_a_tsv(capsys):
    from pyserini_xqg.__main__ import main

    assert main(["languages", *ISSUE]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split("\t")
    assert header[:6] == ["code", "name", "family", "genus", "script", "resource_class"]
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert len(rows) == len(ISSUE) and rows[0] == rows[1]  # ha and hau: one language
    for code, row in zip(ISSUE, rows):
        lang = LANGUAGES[code]
        assert row == {"code": lang.code, "name": lang.name, "family": lang.family, "genus": lang.genus,
                       "script": lang.script, "resource_class": lang.resource_class, "iso639_3": lang.iso639_3,
                       "glottocode": lang.glottocode, "scripts": " ".join(lang.scripts) or "unknown",
                       "flores200": lang.flores200, "m2m100": lang.m2m100, "mbart50": lang.mbart50}
    assert main(["languages", "ha", "sw", "ar", "fa", "ms", "tw", "bem"]) == 0
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].split("\t").index("flores200")
    assert [line.split("\t")[column] for line in lines[1:]] == [
        "hau_Latn", "swh_Latn", "arb_Arab", "pes_Arab", "zsm_Latn", "twi_Latn", "bem_Latn"]
    assert main(["languages", "aab"]) == 0 and "\tunknown\t" in capsys.readouterr().out
    assert main(["languages", "ha", "xq"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error:")
    assert "unknown language code 'xq'; did you mean" in captured.err
