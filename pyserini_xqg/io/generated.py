"""Generated-query records: one JSONL line per passage and language.

The plugin's record is ``{"docid", "lang", "queries": [...], "provenance": {...}}``. The
released xQG shape, ``{docid, title, text, generated_queries: {lang: [queries]}}``, is read
as one record per language.
"""
from __future__ import annotations

import os
from typing import Iterator

from .files import DataError, iter_jsonl, nfc
from .languages import check_language


def read_generated(path: str | os.PathLike, langs: list[str] | None = None) -> Iterator[dict]:
    """Stream generated queries as plugin records, from the plugin's format or the released shape; each
    record's ``lang`` is the language's canonical code, however the file spells it (``"hau"`` -> ``"ha"``),
    and ``langs`` (any spelling) keeps those languages only."""
    wanted = None if langs is None else {check_language(lang) for lang in langs}
    for number, obj in iter_jsonl(path):
        if "generated_queries" in obj:  # released shape: all languages of one passage
            docid = str(obj.get("docid", obj.get("id", "")))
            groups = obj["generated_queries"]
            if not docid or not isinstance(groups, dict):
                raise DataError(path, number, "expected docid and generated_queries: {lang: [queries]}")
            provenance = {"backend": "file", "source": str(path), "format": "released"}
            items = groups.items()
        elif {"docid", "lang", "queries"} <= obj.keys():
            docid, items, provenance = str(obj["docid"]), [(obj["lang"], obj["queries"])], obj.get("provenance", {})
        else:
            raise DataError(path, number, "expected {docid, lang, queries} or {docid, generated_queries}")
        for spelt, queries in items:
            lang = check_language(spelt, path, number)
            if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
                raise DataError(path, number, f"queries for {spelt!r} must be a list of strings")
            if wanted is None or lang in wanted:
                yield {"docid": docid, "lang": lang, "queries": [nfc(q).strip() for q in queries if q.strip()],
                       "provenance": provenance}


def read_provenances(path: str | os.PathLike) -> list[dict]:
    """The distinct provenances that a generated-queries file's records carry, in file order."""
    found: list[dict] = []
    for record in read_generated(path):
        if record["provenance"] not in found:
            found.append(record["provenance"])
    return found
