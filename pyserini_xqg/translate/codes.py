"""Which model family a tokenizer belongs to, the language tokens it lists, and the code it uses for a language.

Every code is checked against the loaded tokenizer's own language tokens: a code the tokenizer
lacks means the model does not cover the language. NLLB-200, M2M100 and mBART-50 codes come from the
plugin's language table (``io.languages.model_code``: the published lists, a macrolanguage mapped to
the member the model uses); a Marian model's ``>>xxx<<`` code is derived from its tokenizer's list
(``_derived_code``).
"""
from __future__ import annotations

import re
from functools import lru_cache

from ..io.languages import LANGUAGES, Language, model_code as table_code

FAMILIES = {"nllb": "NLLB-200", "m2m100": "M2M100", "mbart50": "mBART-50", "marian": "Marian", "prompted": "prompted"}
"""Family -> the name errors use."""

_TOKENIZERS = {"NllbTokenizer": "nllb", "M2M100Tokenizer": "m2m100", "MBart50Tokenizer": "mbart50",
               "MarianTokenizer": "marian"}
_PATTERNS = {"nllb": r"[a-z]{3}_[A-Z][a-z]{3}", "mbart50": r"[a-z]{2,3}_[A-Z]{2}"}  # hau_Latn; sw_KE
TABLE_FIELDS = {"nllb": "flores200", "m2m100": "m2m100", "mbart50": "mbart50"}
"""The ``Language`` field that holds each family's code, where the table has it."""


def family_of(tokenizer) -> str:
    """``nllb``, ``m2m100``, ``mbart50`` or ``marian`` by the tokenizer's class; any other model is ``prompted``."""
    return _TOKENIZERS.get(type(tokenizer).__name__.removesuffix("Fast"), "prompted")


def language_tokens(tokenizer, family: str) -> dict[str, str]:
    """The tokenizer's own language list: model code -> the token that stands for it (``{}`` if none)."""
    if family == "m2m100":
        return dict(tokenizer.lang_code_to_token)  # "ha" -> "__ha__"
    if family == "marian":
        return {token[2:-2]: token for token in tokenizer.supported_language_codes}  # "hau" -> ">>hau<<"
    if family in _PATTERNS:
        special = getattr(tokenizer, "extra_special_tokens", None) or getattr(tokenizer, "additional_special_tokens", [])
        return {str(t): str(t) for t in special if re.fullmatch(_PATTERNS[family], str(t))
                and tokenizer.convert_tokens_to_ids(str(t)) != tokenizer.unk_token_id}
    return {}


def model_code(lang: str, family: str, codes: dict[str, str], model: str) -> str:
    """The code of ``family``'s model ``model`` for plugin language ``lang`` (canonical), one of ``codes``
    (``language_tokens``); ValueError naming the model where it has none."""
    try:
        code = _table_code(lang, family)
    except ValueError:  # the table says the family has no code for the language
        code = None
    if code == "":  # no table entry: the tokenizer's own list decides
        code = _derived_code(LANGUAGES[lang], family, codes, model)
    if code not in codes:
        hint = "" if code is None or _iso639() else (" (or it lists a member of this macrolanguage: give that "
                                                     "language's code, or pip install python-iso639)")
        raise ValueError(f"{FAMILIES[family]} model {model} does not cover {LANGUAGES[lang].name} ({lang}){hint}")
    return code


def _table_code(lang: str, family: str) -> str:
    """The family's code for ``lang`` from the plugin's language table (ValueError where it has none); "" for a
    family the table has no column for."""
    return table_code(lang, family) if family in TABLE_FIELDS else ""


def _derived_code(language: Language, family: str, codes: dict[str, str], model: str) -> str:
    """The tokenizer's code for ``language``: by its ISO 639-3 code, else a macrolanguage relative's (``sw`` ->
    ``swh``, ``arb`` -> ``ar``), else its ISO 639-1 code; the language's own script first. "" if none."""
    relatives = _macrolanguage_relatives(language.iso639_3)
    for names in ({language.iso639_3}, relatives, {language.iso639_1} - {""}):
        found = sorted(c for c in codes if c.split("_")[0] in names)  # hau_Latn, sw_KE, ha, hau
        if len(found) > 1:
            found = [c for c in found if c.endswith("_" + language.script)] or found
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"{FAMILIES[family]} model {model} has several codes for {language.name} "
                             f"({language.code}): {', '.join(found)}; give the language of the one you mean")
    return ""


@lru_cache(maxsize=None)
def _macrolanguage_relatives(iso639_3: str) -> frozenset[str]:
    """ISO 639-3 / 639-1 codes of a macrolanguage's members, or of an individual language's macrolanguage
    (python-iso639, where installed; else none)."""
    iso639 = _iso639()
    if iso639 is None:
        return frozenset()
    try:
        own = iso639.Language.from_part3(iso639_3)
    except Exception:  # noqa: BLE001  (a code python-iso639 does not know)
        return frozenset()
    related = [lang for lang in iso639.ALL_LANGUAGES if lang.macrolanguage == iso639_3]
    if own.macrolanguage:
        related.append(iso639.Language.from_part3(own.macrolanguage))
    return frozenset(c for lang in related for c in (lang.part3, lang.part1) if c)


def _iso639():
    """python-iso639 (the ``languages`` and ``test`` extras), or None where it is not installed."""
    try:
        import iso639
    except ImportError:
        return None
    return iso639
