"""Loading corpora, topics, qrels and answers, with errors that name file and line.

Formats (each one Pyserini or trec_eval reads):
- corpus: Pyserini JsonCollection JSONL (``id``, ``contents``, optional ``title``)
  or psgs_w100-style TSV (``id<TAB>text<TAB>title``, header line optional);
- topics: TSV ``qid<TAB>text`` or JSONL (``qid``/``id`` and ``text``/``question``/``query``);
- qrels: TREC ``qid 0 docid relevance``;
- answers: JSONL ``{"qid"/"id": ..., "answers": [...]}``.
All text is NFC-normalised.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class DataError(ValueError):
    """Bad input: names the file and line, and what was expected."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Passage:
    docid: str
    text: str
    title: str = ""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        raise DataError(path, None, "file not found")
    with open(path, encoding="utf-8") as f:
        try:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n").rstrip("\r")
                if line.strip():
                    yield number, line
        except UnicodeDecodeError as err:
            raise DataError(path, None, f"not UTF-8 text ({err})") from err


def _json(path: Path, number: int, line: str) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(path, number, f"malformed JSON ({err.msg}); expected one JSON object per line") from err
    if not isinstance(obj, dict):
        raise DataError(path, number, "expected a JSON object")
    return obj


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line of a JSONL file; errors name file and line."""
    path = Path(path)
    for number, line in _lines(path):
        yield number, _json(path, number, line)


def _field(obj: dict, names: tuple[str, ...], path: Path, number: int, what: str) -> str:
    for name in names:
        if name in obj:
            value = obj[name]
            if not isinstance(value, (str, int)):
                raise DataError(path, number, f"field {name!r} must be a string")
            value = nfc(str(value)).strip()
            if not value:
                raise DataError(path, number, f"empty {what} (field {name!r})")
            return value
    raise DataError(path, number, f"missing {what}: expected a field named {' or '.join(map(repr, names))}")


def iter_corpus(path: str | os.PathLike) -> Iterator[Passage]:
    """Stream passages, checking ids are unique and texts non-empty."""
    path = Path(path)
    seen: set[str] = set()
    tsv = path.suffix == ".tsv"
    for number, line in _lines(path):
        if tsv:
            cols = line.split("\t")
            if number == 1 and cols[0] == "id":
                continue  # psgs_w100 header
            if len(cols) < 2:
                raise DataError(path, number, "expected id<TAB>text[<TAB>title]")
            docid, text = nfc(cols[0]).strip(), nfc(cols[1]).strip()
            title = nfc(cols[2]).strip() if len(cols) > 2 else ""
            if not docid or not text:
                raise DataError(path, number, "empty id or text")
        else:
            obj = _json(path, number, line)
            docid = _field(obj, ("id", "docid", "_id"), path, number, "passage id")
            text = _field(obj, ("contents", "text"), path, number, "passage text")
            title = nfc(str(obj.get("title") or "")).strip()
        if docid in seen:
            raise DataError(path, number, f"duplicate passage id {docid!r}")
        seen.add(docid)
        yield Passage(docid, text, title)


def load_corpus(path: str | os.PathLike) -> dict[str, Passage]:
    return {p.docid: p for p in iter_corpus(path)}


def load_topics(path: str | os.PathLike) -> dict[str, str]:
    """qid -> query text, in file order."""
    path = Path(path)
    topics: dict[str, str] = {}
    jsonl = path.suffix in (".jsonl", ".json")
    for number, line in _lines(path):
        if jsonl:
            obj = _json(path, number, line)
            qid = _field(obj, ("qid", "id", "query_id"), path, number, "query id")
            text = _field(obj, ("text", "question", "query", "title"), path, number, "query text")
        else:
            cols = line.split("\t")
            if len(cols) != 2:
                raise DataError(path, number, f"expected qid<TAB>text, found {len(cols)} tab-separated fields")
            qid, text = nfc(cols[0]).strip(), nfc(cols[1]).strip()
            if not qid or not text:
                raise DataError(path, number, "empty qid or query text")
        if qid in topics:
            raise DataError(path, number, f"duplicate query id {qid!r}")
        topics[qid] = text
    return topics


def load_qrels(path: str | os.PathLike, docids: set[str] | None = None) -> dict[str, dict[str, int]]:
    """qid -> {docid: relevance}; with ``docids``, every judged passage must exist."""
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _lines(path):
        cols = line.split()
        if len(cols) != 4:
            raise DataError(path, number, "expected TREC qrels: qid iteration docid relevance")
        qid, _, docid, rel = cols
        try:
            relevance = int(rel)
        except ValueError as err:
            raise DataError(path, number, f"relevance {rel!r} is not an integer") from err
        if docids is not None and docid not in docids:
            raise DataError(path, number, f"qrels name passage {docid!r}, which is not in the corpus")
        if docid in qrels.setdefault(qid, {}):
            raise DataError(path, number, f"duplicate judgement for {qid} {docid}")
        qrels[qid][docid] = relevance
    return qrels


def load_answers(path: str | os.PathLike) -> dict[str, list[str]]:
    """qid -> answer strings (XOR-TyDi's answers field)."""
    path = Path(path)
    answers: dict[str, list[str]] = {}
    for number, line in _lines(path):
        obj = _json(path, number, line)
        qid = _field(obj, ("qid", "id"), path, number, "query id")
        values = obj.get("answers")
        if not isinstance(values, list) or not values or not all(isinstance(a, str) and a.strip() for a in values):
            raise DataError(path, number, "expected 'answers': a non-empty list of non-empty strings")
        if qid in answers:
            raise DataError(path, number, f"duplicate query id {qid!r}")
        answers[qid] = [nfc(a) for a in values]
    return answers


def check_language(code: str, path: str | os.PathLike | None = None, line: int | None = None) -> str:
    """Return ``code`` if the project knows it (resources/languages.tsv), else raise DataError."""
    from .languages import LANGUAGES

    if code not in LANGUAGES:
        raise DataError(path or "<argument>", line,
                        f"unknown language code {code!r}; known: {', '.join(sorted(LANGUAGES))}")
    return code


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A fresh folder beside ``path`` that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        yield work
        if path.exists():
            shutil.rmtree(path)
        os.replace(work, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
