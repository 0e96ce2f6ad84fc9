"""Language metadata for every ISO 639-1 / 639-3 code, read from the shipped resources/languages.tsv.

The table is derived from published sources (ISO 639-3, CLDR, Glottolog, WALS, Joshi et al. 2020, and
the language code lists of transformers' NLLB-200, M2M100 and mBART-50 tokenizers) by
``scripts/build_languages.py``; ``data/languages/README.md`` names each source with its
version and licence. A field that no source gives is ``"unknown"``. This module needs only the
standard library and reads the table once, on first use.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .files import RESOURCES, DataError

UNKNOWN = "unknown"
XOR_TYDI = ("ar", "bn", "fi", "ja", "ko", "ru", "te")
"""The seven query languages of XOR-TyDi (the paper's), in its order."""
MODEL_FAMILIES = {"nllb": ("flores200", "NLLB-200"), "m2m100": ("m2m100", "M2M100"), "mbart50": ("mbart50", "mBART-50")}
"""model family -> (the Language field with its language codes, the family's name)."""


@dataclass(frozen=True)
class Language:
    code: str                 # canonical: ISO 639-1 where one exists, else ISO 639-3
    iso639_1: str             # "" where ISO 639-1 has no code
    iso639_3: str
    name: str                 # English (ISO 639-3 reference name, or CLDR's where that is unqualified)
    family: str               # Glottolog's top-level family
    genus: str                # WALS genus
    scripts: tuple[str, ...]  # ISO 15924, CLDR's order (primary first); () if no source gives one
    resource_class: str       # Joshi et al. (2020): "0" .. "5", or "unknown"
    glottocode: str
    flores200: str            # the FLORES-200 code NLLB-200 uses ("hau_Latn"), or "unknown"
    m2m100: str               # M2M100's code ("ha"), or "unknown"
    mbart50: str              # mBART-50's code ("sw_KE"), or "unknown"

    @property
    def script(self) -> str:
        """The primary script (ISO 15924), or "unknown"."""
        return self.scripts[0] if self.scripts else UNKNOWN


def _read(path: Path) -> list[Language]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    out = []
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t")))
        scripts = () if row["scripts"] == UNKNOWN else tuple(row["scripts"].split())
        out.append(Language(row["iso639_1"] or row["iso639_3"], row["iso639_1"], row["iso639_3"], row["name"],
                            row["family"], row["genus"], scripts, row["resource_class"], row["glottocode"],
                            row["flores200"], row["m2m100"], row["mbart50"]))
    return out


class Languages(Mapping):
    """Read-only canonical code -> Language; ISO 639-1 and 639-3 codes alike look a language up
    (``LANGUAGES["hau"] is LANGUAGES["ha"]``); iteration yields canonical codes only."""

    def __init__(self, path: Path = RESOURCES / "languages.tsv"):
        self._path = path
        self._by_code: dict[str, Language] | None = None
        self._aliases: dict[str, Language] = {}

    def _table(self) -> dict[str, Language]:
        if self._by_code is None:
            languages = _read(self._path)
            self._aliases = {alias: lang for lang in languages for alias in (lang.iso639_3, lang.iso639_1) if alias}
            self._by_code = {lang.code: lang for lang in languages}
        return self._by_code

    def __getitem__(self, code: str) -> Language:
        self._table()
        return self._aliases[code]

    def __contains__(self, code: object) -> bool:
        self._table()
        return code in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def suggest(self, text: str, n: int = 5) -> list[tuple[str, Language]]:
        """Codes and names close to ``text``: (the code to show, its Language), best first."""
        self._table()
        key = text.strip().casefold()
        names = {}
        for lang in self._by_code.values():
            names.setdefault(lang.name.casefold(), lang)
        # a mistyped code: the codes one edit away (a swap counts half), the better-resourced first
        near = [(d, a) for a in self._aliases if (d := _one_edit(key, a)) is not None]
        rank = lambda lang: -int(lang.resource_class) if lang.resource_class.isdigit() else 1  # noqa: E731
        codes = [(a, self._aliases[a]) for _, a in sorted(near, key=lambda x: (x[0], rank(self._aliases[x[1]]), x[1]))]
        by_name = [(names[m].code, names[m]) for m in difflib.get_close_matches(key, list(names), n, 0.75)]
        out: dict[str, tuple[str, Language]] = {}
        for shown, lang in (by_name + codes if len(key) > 3 else codes + by_name):
            out.setdefault(lang.code, (shown, lang))
        return list(out.values())[:n]


def _one_edit(a: str, b: str) -> float | None:
    """0.5 if ``b`` is ``a`` with two neighbours swapped, 1 if one character is changed, added or dropped."""
    from rapidfuzz.distance import OSA, Levenshtein

    if Levenshtein.distance(a, b, score_cutoff=1) == 1:
        return 1.0
    return 0.5 if OSA.distance(a, b, score_cutoff=1) == 1 else None  # one edit only as a transposition


LANGUAGES = Languages()


def check_language(code: str, path: str | os.PathLike | None = None, line: int | None = None) -> str:
    """The canonical code of ``code`` (``"hau"`` -> ``"ha"``), else DataError naming ``path:line``,
    with the closest codes and names."""
    key = code.strip().lower() if isinstance(code, str) else code
    if isinstance(key, str) and key in LANGUAGES:
        return LANGUAGES[key].code
    close = LANGUAGES.suggest(str(code))
    hint = (f"; did you mean {', '.join(f'{shown} ({lang.name})' for shown, lang in close)}?" if close else
            "; not an ISO 639-1 or 639-3 language code")
    raise DataError(path or "<argument>", line, f"unknown language code {code!r}{hint}")


def model_code(lang: str, family: str, path: str | os.PathLike | None = None, line: int | None = None) -> str:
    """The language code that a translation model family ("nllb", "m2m100", "mbart50") uses for ``lang``
    (``model_code("sw", "nllb")`` -> ``"swh_Latn"``); DataError naming the language and the family where
    the family does not cover it, or where ``lang`` is no language code (as ``check_language``)."""
    if family not in MODEL_FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of {', '.join(MODEL_FAMILIES)}")
    field, name = MODEL_FAMILIES[family]
    language = LANGUAGES[check_language(lang, path, line)]
    code = getattr(language, field)
    if code == UNKNOWN:
        raise DataError(path or "<argument>", line, f"{name} does not cover {language.name} ({language.code})")
    return code


def by_language(mapping: Mapping[str, object], path: str | os.PathLike | None = None) -> dict:
    """``mapping`` keyed by canonical codes (``{"hau": x}`` -> ``{"ha": x}``), in its order; one language under
    two spellings (``ha`` and ``hau``) is a DataError naming ``path``."""
    out: dict = {}
    for spelt, value in mapping.items():
        lang = check_language(spelt, path)
        if lang in out:
            raise DataError(path or "<argument>", None, f"{LANGUAGES[lang].name} ({lang}) is given twice, as "
                            f"{', '.join(s for s in mapping if check_language(s) == lang)}: give it once")
        out[lang] = value
    return out
