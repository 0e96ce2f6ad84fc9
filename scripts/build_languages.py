"""Rebuild pyserini_xqg/resources/languages.tsv from the published sources in data/languages/.

    python scripts/build_languages.py            # write the table
    python scripts/build_languages.py --check    # exit 1 if the shipped table differs from a rebuild
    python scripts/build_languages.py --report   # also print the Joshi names that matched no code or conflict,
                                                 # and the model codes no rule could place (with notes)

Inputs (data/languages/README.md records version, commit, licence and sha256 of each):
  * python-iso639 (SIL's ISO 639-3 tables): the codes, ISO 639-1, reference names, macrolanguage members;
  * language_data (CLDR v40 + the IANA language subtag registry): English names and scripts;
  * Glottolog 5.1 CLDF languages.csv + codes.csv: glottocode and top-level family;
  * WALS 2020.4 CLDF languages.csv: genus;
  * Joshi et al. (2020) lang2tax.txt + joshi-aliases.tsv: resource class;
  * transformers (the tokenizers' language code lists of NLLB-200, M2M100 and mBART-50) and CLDR v40's
    language aliases (cldr/aliases.json: supplementalMetadata.xml's languageAlias entries as CLDR's JSON
    release, cldr-core 40.0.0, ships them): each model family's code.

One row per active ISO 639-3 individual or macrolanguage code (special codes, scope S, and the
reserved range qaa-qtz are not languages). A field that no source gives is ``unknown``; nothing is
filled in by hand except the reviewed Joshi name aliases. The rules, field by field:

  name           the ISO 639-3 reference name; where that carries a parenthesised qualifier
                 ("Swahili (macrolanguage)", "Bemba (Zambia)") and language_data's English name for
                 the code has none and is no other code's reference name, that name ("Swahili", "Bemba").
  family         Glottolog's top-level family (Family_ID) of the languoid with that ISO code; a
                 top-level languoid (an isolate) is its own family; Glottolog's pseudo-families
                 (the category codes of codes.csv: Bookkeeping, Sign Language, Pidgin, ...) are not
                 genealogical: ``unknown``. A macrolanguage Glottolog lacks takes its members' family
                 when every member that has one agrees.
  genus          WALS Genus of the rows listing the ISO code, else of the rows with the glottocode,
                 else (for a Glottolog dialect) of its language; several genera: ``unknown``;
                 macrolanguages as for family.
  scripts        CLDR languageData's scripts for the BCP 47 code (ISO 639-1 where one exists), in
                 CLDR's order: the primary ones, or the secondary ones where CLDR gives no primary;
                 for a code CLDR lacks that Glottolog files as a dialect of a language, that
                 language's CLDR scripts (Twi, a dialect of Akan: Akan's). Never a macrolanguage's.
  resource_class Joshi et al.'s class of the lang2tax.txt names that belong to the code. A name
                 belongs to the codes of joshi-aliases.tsv, else to the code(s) it matches at the
                 best rank: 0 the ISO reference name, 1 the CLDR name, 2 language_data's English
                 name index, 3 the other ISO names, the unqualified name or the Glottolog name, 4 any
                 of these without diacritics (names compared case-folded). A name several codes
                 match at its best rank belongs to none. A code keeps the names of its own best rank;
                 if their classes differ (lang2tax lists some languages twice), ``unknown``.
  flores200      the FLORES-200 code NLLB-200 uses (transformers' tokenization_nllb FAIRSEQ_LANGUAGE_CODES,
  m2m100         ``hau_Latn``), M2M100's (tokenization_m2m_100 FAIRSEQ_LANGUAGE_CODES["m2m100"], ``ha``) and
  mbart50        mBART-50's (tokenization_mbart50 FAIRSEQ_LANGUAGE_CODES, ``sw_KE``). A model code's language
                 part (before the ``_``; all of an M2M100 code) is an ISO 639-1 or 639-3 code. The rules:
                 1. the codes whose language part is the language's own code (ha, hau);
                 2. none, and the language is a macrolanguage: the codes of its members (ISO 639-3
                    membership) that have no ISO 639-1 code of their own (those are languages in their own
                    right: mBART-50's id_ID is Indonesian, not Malay; no, nb and nn stay apart); where several
                    members have codes, the member whose CLDR languageAlias replacement is the bare
                    macrolanguage code (pes -> fa wins over prs -> fa-AF), else none;
                 3. several codes left, differing in script (zho_Hans, zho_Hant): the one in the language's
                    primary CLDR script (``scripts``' first; for a macrolanguage without one, its chosen
                    member's), else none.
                 No code, or none chosen: ``unknown``. An individual language never takes its
                 macrolanguage's code (swh has no M2M100 code, sw has ``sw``). --report lists what stayed
                 unresolved, the model codes that name no language of the table, and the macrolanguages
                 whose one member with a code is not CLDR's (ps takes pbt_Arab; CLDR's ps is pbu).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import defaultdict
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "languages"
OUT = ROOT / "pyserini_xqg" / "resources" / "languages.tsv"
PINS = {"python-iso639": "2026.7.23", "language_data": "1.4.0",
        "transformers": "5.25.0"}  # setup.cfg's `languages` and `test` extras pin the same
MODELS = ("flores200", "m2m100", "mbart50")  # NLLB-200's, M2M100's and mBART-50's language codes
COLUMNS = ("iso639_3", "iso639_1", "name", "family", "genus", "scripts", "resource_class", "glottocode", *MODELS)
UNKNOWN = "unknown"


def check_versions() -> None:
    for package, version in PINS.items():
        have = metadata.version(package)
        if have != version:
            raise SystemExit(f"{package} {have} is installed; the table is built from {version} "
                             f"(pip install -e '.[languages]')")


def fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold().strip()


def unqualified(name: str) -> str:
    """'Bemba (Zambia)' -> 'Bemba'."""
    return re.sub(r"\s*\([^)]*\)", "", name).strip()


def read_csv(path: Path, **kwargs) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, **kwargs))


# ---- ISO 639 (python-iso639) -------------------------------------------------------------------------

def iso_languages() -> list:
    import iso639
    return sorted((lang for lang in iso639.ALL_LANGUAGES
                   if lang.status == "A" and lang.scope in ("I", "M") and not "qaa" <= lang.part3 <= "qtz"),
                  key=lambda lang: lang.part3)


# ---- CLDR and IANA (language_data) ---------------------------------------------------------------------

def language_data_names() -> dict[str, str]:
    """BCP 47 language subtag -> English name: CLDR v40's, else the IANA registry's first description.

    language_data puts CLDR names first and IANA's after them; only codes in its IANA registry are
    kept, since for the others its names come from Wiktionary or its own list."""
    from language_data.name_data import CODE_TO_NAMES
    registry = resources.files("language_data").joinpath("data/language-subtag-registry.txt").read_text("utf-8")
    subtags = set(re.findall(r"^Type: language\nSubtag: (\S+)$", registry, re.M))
    return {code: names["en"] for code, names in CODE_TO_NAMES.items() if code in subtags and "en" in names}


def cldr_scripts() -> dict[str, list[str]]:
    """BCP 47 language subtag -> ISO 15924 scripts, from CLDR's supplementalData.xml languageData."""
    xml = resources.files("language_data").joinpath("data/supplementalData.xml").read_bytes()
    primary, secondary = defaultdict(list), defaultdict(list)
    for el in ET.fromstring(xml).iter("language"):
        if el.get("type") and el.get("scripts"):
            target = secondary if el.get("alt") == "secondary" else primary
            target[el.get("type")] += [s for s in el.get("scripts").split() if s not in target[el.get("type")]]
    return {code: primary.get(code) or secondary[code] for code in set(primary) | set(secondary)}


# ---- Glottolog ----------------------------------------------------------------------------------------

class Glottolog:
    def __init__(self, root: Path = DATA / "glottolog"):
        self.languoids = {r["ID"]: r for r in read_csv(root / "languages.csv")}
        self.by_iso = {r["ISO639P3code"]: r for r in self.languoids.values() if r["ISO639P3code"]}
        categories = {r["Name"] for r in read_csv(root / "codes.csv") if r["Parameter_ID"] == "category"}
        genealogical = {"Family", "Pseudo Family", "Language", "Pseudo Language", "Dialect", "Pseudo Dialect",
                        "Spoken L1 Language"}
        # the pseudo-families are the top-level languoids named after a non-genealogical category
        self.pseudo = {r["ID"] for r in self.languoids.values()
                       if r["Level"] == "family" and not r["Family_ID"] and r["Name"] in categories - genealogical}

    def family(self, row: dict) -> str:
        top = row["Family_ID"] or row["ID"]
        return UNKNOWN if top in self.pseudo else self.languoids[top]["Name"]


# ---- WALS ---------------------------------------------------------------------------------------------

class Wals:
    def __init__(self, path: Path = DATA / "wals" / "languages.csv"):
        self.by_iso, self.by_glottocode = defaultdict(set), defaultdict(set)
        for r in read_csv(path):
            if r["Genus"]:  # rows without one are WALS's genus, subfamily and family entries
                for code in r["ISO_codes"].split():
                    self.by_iso[code].add(r["Genus"])
                if r["Glottocode"]:
                    self.by_glottocode[r["Glottocode"]].add(r["Genus"])

    def genus(self, iso: str, glottolog_row: dict | None) -> str:
        tiers = [self.by_iso.get(iso)]
        if glottolog_row:
            tiers += [self.by_glottocode.get(glottolog_row["ID"]), self.by_glottocode.get(glottolog_row["Language_ID"])]
        found = next((t for t in tiers if t), set())
        return next(iter(found)) if len(found) == 1 else UNKNOWN


# ---- Joshi et al. (2020) ------------------------------------------------------------------------------

def joshi_classes(path: Path = DATA / "joshi2020" / "lang2tax.txt") -> dict[str, set[str]]:
    """lower-case language name -> its classes (a name listed twice may carry two)."""
    classes = defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        if "," in line:
            name, cls = line.rsplit(",", 1)
            classes[fold(name)].add(cls.strip())
    return classes


def joshi_aliases(path: Path = DATA / "joshi-aliases.tsv") -> dict[str, str]:
    """ISO 639-3 code -> lang2tax.txt name, reviewed by hand (each row says why)."""
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return {r["iso639_3"]: fold(r["joshi_name"]) for r in csv.DictReader(rows, delimiter="\t")}


def name_index() -> dict[str, str]:
    """language_data's index of English language names (CLDR, IANA, Wiktionary): name -> ISO 639-3 code.

    Its keys are normalised (case-folded, no hyphens or brackets); names it finds ambiguous are not in it."""
    import iso639
    import marisa_trie
    trie = marisa_trie.BytesTrie()
    trie.load(str(resources.files("language_data").joinpath("data/trie/en/name_to_language.marisa")))
    index = {}
    for key, value in sorted(trie.items()):
        code = value.decode("utf-8")
        if "-" not in code:  # a bare language, not a tag with a script or region
            try:
                index[key] = (iso639.Language.from_part1(code) if len(code) == 2 else
                              iso639.Language.from_part3(code)).part3
            except iso639.LanguageNotFoundError:
                pass
    return index


def plain(name: str) -> str:
    """Case-folded, without diacritics: 'Kabiyè' -> 'kabiye'."""
    return "".join(c for c in unicodedata.normalize("NFKD", fold(name)) if not unicodedata.combining(c))


def match_joshi(claims: dict[str, dict[int, set[str]]], classes: dict[str, set[str]],
                aliases: dict[str, str]) -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    """code -> class; each lang2tax name -> the codes it went to; each code whose names disagree -> names.

    ``claims``: lang2tax name -> {rank: codes that match it at that rank}, lower ranks better. A name
    goes to the codes of joshi-aliases.tsv, else to the one code of its best rank, else to none."""
    for code, name in aliases.items():
        if name not in classes:
            raise SystemExit(f"joshi-aliases.tsv: {name!r} (for {code}) is not in lang2tax.txt")
    aliased = defaultdict(set)
    for code, name in aliases.items():
        aliased[name].add(code)
    owners, rank_of = {}, {}
    for name in classes:
        ranks = {r: codes - set(aliases) for r, codes in claims.get(name, {}).items()}
        ranks = {r: codes for r, codes in ranks.items() if codes}
        rank_of[name] = -1 if aliased[name] else min(ranks, default=None)
        owners[name] = sorted(aliased[name] or (ranks[rank_of[name]] if ranks else ()))
    per_code = defaultdict(dict)  # code -> {rank: its names}
    for name, codes in owners.items():
        if len(codes) == 1 or name in aliased:
            for code in codes:
                per_code[code].setdefault(rank_of[name], set()).add(name)
    result, conflicts = {}, {}
    for code, by_rank in per_code.items():  # a code's own names outrank the index's and its other names
        names = by_rank[min(by_rank)]
        cs = set().union(*(classes[n] for n in names))
        if len(cs) == 1:
            result[code] = cs.pop()
        else:
            conflicts[code] = sorted(names)
    return result, owners, conflicts


# ---- the models' language codes (transformers' tokenizers, CLDR aliases) ------------------------------

def model_codes() -> dict[str, list[str]]:
    """field -> the language codes its tokenizer ships, in transformers' order."""
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES as M2M100
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES as MBART50
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB
    return {"flores200": list(NLLB), "m2m100": list(M2M100["m2m100"]), "mbart50": list(MBART50)}


def language_part(code: str) -> str:
    """'hau_Latn' -> 'hau', 'sw_KE' -> 'sw', 'ast' -> 'ast'."""
    return code.split("_")[0]


def script_part(code: str) -> str | None:
    """'zho_Hans' -> 'Hans'; None for a code without an ISO 15924 subtag ('sw_KE', 'ha')."""
    rest = code.split("_")[1:]
    return rest[0] if rest and re.fullmatch(r"[A-Z][a-z]{3}", rest[0]) else None


def cldr_macrolanguage_aliases(path: Path = DATA / "cldr" / "aliases.json") -> dict[str, str]:
    """ISO 639-3 code -> CLDR's replacement, for CLDR's languageAlias entries (pes -> fa, prs -> fa-AF)."""
    aliases = json.loads(path.read_text(encoding="utf-8"))["supplemental"]["metadata"]["alias"]["languageAlias"]
    return {code: entry["_replacement"] for code, entry in aliases.items()}


def assign_model_codes(table: dict[str, dict], members: dict[str, list[str]], codes: list[str],
                       aliases: dict[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """ISO 639-3 code -> the model's code for it (languages it does not cover left out); the languages and
    model codes left unresolved; and notes on the macrolanguages whose member is not CLDR's default one.

    ``table``: ISO 639-3 code -> row (iso639_1, scripts); ``members``: macrolanguage -> its members;
    ``aliases``: CLDR's languageAlias replacements."""
    by_part = defaultdict(list)  # language part -> its model codes
    for code in codes:
        by_part[language_part(code)].append(code)
    own = {c: by_part.get(row["iso639_1"], []) + by_part.get(c, []) for c, row in table.items()}
    chosen, unresolved, notes = {}, [], []

    def primary(code: str) -> str | None:
        return None if table[code]["scripts"] == UNKNOWN else table[code]["scripts"].split()[0]

    for code, row in table.items():
        lang, candidates = code, own[code]
        bcp = row["iso639_1"] or code
        if not candidates and code in members:  # a macrolanguage: the member the model uses
            # a member with its own ISO 639-1 code is a language in its own right (id, hr, nb), not a variety
            used = [m for m in members[code] if own[m] and not table[m]["iso639_1"]]
            if not used and any(own[m] for m in members[code]):
                notes.append(f"{code}\tnone: its members with codes are languages with ISO 639-1 codes of their own ("
                             + ", ".join(f"{m} {table[m]['iso639_1']}" for m in members[code] if own[m]) + ")")
            named = [m for m in used if aliases.get(m) == bcp]  # CLDR: bcp stands for this member
            if len(used) > 1 and len(named) != 1:
                which = "none of them" if not named else " and ".join(named)
                unresolved.append(f"{code}\tmembers {' '.join(used)} have codes; CLDR aliases {which} to {bcp}")
                continue
            if len(used) > 1:
                used = named
            if used:
                lang, candidates = used[0], own[used[0]]
                if not named:
                    default = " ".join(m for m in members[code] if aliases.get(m) == bcp) or "none"
                    notes.append(f"{code}\ttakes {lang}, its only member with a code; "
                                 f"CLDR's member for {bcp}: {default}")
        if len(candidates) > 1:
            script = primary(code) or primary(lang)
            fits = [c for c in candidates if script and script_part(c) == script]
            if len(fits) != 1:
                unresolved.append(f"{code}\tcodes {' '.join(candidates)}: none in its primary script "
                                  f"({script or 'no CLDR script'})")
                continue
            candidates = fits
        if candidates:
            chosen[code] = candidates[0]
    known = {p for c, row in table.items() for p in (c, row["iso639_1"]) if p}
    unresolved += [f"{c}\tnames no language of the table (no active ISO 639-1 or 639-3 code {language_part(c)})"
                   for c in codes if language_part(c) not in known]
    return chosen, unresolved, notes


# ---- the table ----------------------------------------------------------------------------------------

def rows() -> tuple[list[dict], dict]:
    check_versions()
    languages = iso_languages()
    names, scripts = language_data_names(), cldr_scripts()
    glottolog, wals = Glottolog(), Wals()
    members = defaultdict(list)
    for lang in languages:
        if lang.macrolanguage:
            members[lang.macrolanguage].append(lang.part3)

    table, own_names = {}, {}
    reference_names = {lang.name for lang in languages}
    for lang in languages:
        bcp = lang.part1 or lang.part3
        cldr_name = names.get(bcp)
        better = "(" in lang.name and cldr_name and "(" not in cldr_name and cldr_name not in reference_names
        name = cldr_name if better else lang.name
        g = glottolog.by_iso.get(lang.part3)
        table[lang.part3] = {
            "iso639_3": lang.part3, "iso639_1": lang.part1 or "", "name": name,
            "family": glottolog.family(g) if g else UNKNOWN, "genus": wals.genus(lang.part3, g),
            "scripts": " ".join(scripts.get(bcp, [])) or UNKNOWN, "resource_class": UNKNOWN,
            "glottocode": g["ID"] if g else UNKNOWN, **dict.fromkeys(MODELS, UNKNOWN)}
        own_names[lang.part3] = ([lang.name], [cldr_name] if cldr_name else [], [],
                                 [n.print for n in lang.other_names or []] + [unqualified(lang.name)]
                                 + ([g["Name"]] if g else []))

    iso_of = {r["ID"]: r["ISO639P3code"] for r in glottolog.languoids.values() if r["ISO639P3code"]}
    for code, row in table.items():  # a Glottolog dialect CLDR lacks: the scripts of the language it belongs to
        g = glottolog.by_iso.get(code)
        parent = iso_of.get(g["Language_ID"]) if g and g["Level"] == "dialect" else None
        if row["scripts"] == UNKNOWN and parent in table:
            parent_lang = next(lang for lang in languages if lang.part3 == parent)
            row["scripts"] = " ".join(scripts.get(parent_lang.part1 or parent, [])) or UNKNOWN

    for macro, codes in members.items():  # a macrolanguage Glottolog or WALS lacks: its members, if they agree
        row = table[macro]
        for field in ("family", "genus"):
            if row[field] == UNKNOWN:
                values = {table[c][field] for c in codes} - {UNKNOWN}
                if len(values) == 1:
                    row[field] = values.pop()

    # Joshi names, by rank: 0 the code's ISO reference name, 1 its CLDR name, 2 language_data's name
    # index, 3 its other ISO names, unqualified name and Glottolog name, 4 any of these without diacritics
    from language_data.names import normalize_name
    classes = joshi_classes()
    index = name_index()
    by_rank = [defaultdict(set) for _ in range(5)]
    for code, names in own_names.items():
        for rank, group in enumerate(names):
            for n in group:
                by_rank[rank][fold(n)].add(code)
                by_rank[4][plain(n)].add(code)
    claims: dict[str, dict[int, set[str]]] = defaultdict(dict)
    for name in classes:
        for rank, key in ((0, name), (1, name), (3, name), (4, plain(name))):
            if key in by_rank[rank]:
                claims[name][rank] = set(by_rank[rank][key])
        if index.get(normalize_name(name)) in table:
            claims[name][2] = {index[normalize_name(name)]}
    matched, owners, conflicts = match_joshi(claims, classes, joshi_aliases())
    for code, cls in matched.items():
        table[code]["resource_class"] = cls

    aliases, unresolved, notes = cldr_macrolanguage_aliases(), {}, {}
    for field, codes in model_codes().items():
        chosen, unresolved[field], notes[field] = assign_model_codes(table, members, codes, aliases)
        for code, model_code in chosen.items():
            table[code][field] = model_code
    return [table[c] for c in sorted(table)], {"owners": owners, "conflicts": conflicts, "classes": classes,
                                               "unresolved": unresolved, "notes": notes}


def header() -> str:
    import iso639
    return "\n".join([
        "# Language metadata, built by scripts/build_languages.py; do not edit (data/languages/README.md).",
        f"# codes, names: ISO 639-3 via python-iso639 {PINS['python-iso639']} (SIL data of {iso639.DATA_LAST_UPDATED});"
        f" English names and scripts (ISO 15924): CLDR v40 via language_data {PINS['language_data']}",
        "# family, glottocode: Glottolog 5.1 (CC-BY-4.0); genus: WALS 2020.4 (CC-BY-4.0);"
        " resource_class: Joshi et al. (2020) lang2tax.txt, 0 (left behind) .. 5 (winners)",
        "# flores200 (NLLB-200), m2m100, mbart50: the tokenizers' language codes of transformers"
        f" {PINS['transformers']};"
        " macrolanguages by ISO 639-3 membership and CLDR v40's language aliases",
        "# unknown: no source gives the field",
    ]) + "\n"


def render() -> str:
    table, _ = rows()
    lines = ["\t".join(COLUMNS)] + ["\t".join(row[c] for c in COLUMNS) for row in table]
    return header() + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare the shipped table with a rebuild; write nothing")
    p.add_argument("--report", action="store_true",
                   help="list lang2tax names that matched no code or conflict, and the model codes left unresolved")
    args = p.parse_args(argv)
    text = render()
    if args.report:
        _, extra = rows()
        classes = extra["classes"]
        for name, codes in sorted(extra["owners"].items()):
            if len(codes) != 1:
                what = "ambiguous" if codes else "no code"
                print(f"{name}\t{','.join(sorted(classes[name]))}\t{what}\t{' '.join(codes)}")
        for code, names in sorted(extra["conflicts"].items()):
            print(f"{code}\tconflicting classes\t" + "; ".join(f"{n}: {','.join(sorted(classes[n]))}" for n in names))
        for field in MODELS:
            for line in extra["unresolved"][field]:
                print(f"{field}\tunresolved\t{line}")
            for line in extra["notes"][field]:
                print(f"{field}\tnote\t{line}")
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is not current: run python scripts/build_languages.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10)) - 6} languages, {len(text.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
