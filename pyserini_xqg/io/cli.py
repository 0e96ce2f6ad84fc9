"""``languages``: language metadata for ISO 639-1 / 639-3 codes, as a TSV on stdout."""
from __future__ import annotations

import argparse
import sys

from .languages import LANGUAGES, check_language

COLUMNS = ("code", "name", "family", "genus", "script", "resource_class", "iso639_3", "glottocode", "scripts",
           "flores200", "m2m100", "mbart50")


def add_languages_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("codes", nargs="+", metavar="CODE", help="ISO 639-1 or 639-3 codes (ha, hau, bem, ...)")


def languages(args: argparse.Namespace) -> None:
    """One row per code, in the order given; every code is checked before anything is printed."""
    rows = [LANGUAGES[check_language(code)] for code in args.codes]
    out = ["\t".join(COLUMNS)]
    for lang in rows:
        fields = {**vars(lang), "script": lang.script, "scripts": " ".join(lang.scripts) or "unknown"}
        out.append("\t".join(str(fields[c]) for c in COLUMNS))
    sys.stdout.write("\n".join(out) + "\n")
