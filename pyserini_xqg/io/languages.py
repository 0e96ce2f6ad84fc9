"""Language metadata (resources/languages.tsv): codes, family, script, resource class."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from .files import RESOURCES, DataError


@dataclass(frozen=True)
class Language:
    code: str           # ISO 639-1
    iso639_3: str
    name: str
    family: str
    branch: str
    script: str         # ISO 15924
    resource_class: int  # Joshi et al. (2020), 0..5
    roles: tuple[str, ...]


def _load(path=RESOURCES / "languages.tsv") -> dict[str, Language]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    out = {}
    for row in csv.DictReader(rows, delimiter="\t"):
        out[row["iso639_1"]] = Language(
            row["iso639_1"], row["iso639_3"], row["name"], row["family"], row["branch"], row["script"],
            int(row["resource_class"]), tuple(row["role"].split(",")))
    return out


LANGUAGES: dict[str, Language] = _load()
XOR_TYDI = tuple(c for c, lang in LANGUAGES.items() if "xor" in lang.roles)


def check_language(code: str, path: str | os.PathLike | None = None, line: int | None = None) -> str:
    """Return ``code`` if the project knows it, else raise DataError (naming ``path:line`` where given)."""
    if code not in LANGUAGES:
        raise DataError(path or "<argument>", line,
                        f"unknown language code {code!r}; known: {', '.join(sorted(LANGUAGES))}")
    return code
