"""Collections: corpora, topics, qrels and answers, with errors that name file and line.

Formats (each one Pyserini or trec_eval reads):
- corpus: Pyserini JsonCollection JSONL (``id``, ``contents``, optional ``title``)
  or psgs_w100-style TSV (``id<TAB>text<TAB>title``, header line optional);
- topics: TSV ``qid<TAB>text`` or JSONL (``qid``/``id`` and ``text``/``question``/``query``);
- qrels: TREC ``qid 0 docid relevance``;
- answers: JSONL ``{"qid"/"id": ..., "answers": [...], "lang": ...}`` (XOR-TyDi's shape), one file or one
  per language (``LANG=PATH``, the language of records that name none).
All text is NFC-normalised.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Iterator

from .files import DataError, json_object as _json, lines as _lines, nfc
from .languages import by_language, check_language


@dataclass(frozen=True)
class Passage:
    docid: str
    text: str
    title: str = ""



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


def check_id(value: str, path: Path, number: int, what: str) -> str:
    """An id that TREC files, FAISS docid files and Lucene keep intact: no whitespace inside."""
    if any(c.isspace() for c in value):
        raise DataError(path, number, f"{what} {value!r} contains whitespace (a space, tab or newline): run files "
                        "and docid files would split it")
    return value


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
        check_id(docid, path, number, "passage id")
        if docid in seen:
            raise DataError(path, number, f"duplicate passage id {docid!r}")
        seen.add(docid)
        yield Passage(docid, text, title)
    if not seen:
        raise DataError(path, None, "no passages: the corpus is empty")


def load_corpus(path: str | os.PathLike) -> dict[str, Passage]:
    return {p.docid: p for p in iter_corpus(path)}


_JAVA_TRIM = "".join(map(chr, range(0x21)))  # what Java's String.trim removes: U+0000 .. U+0020


def load_topics(path: str | os.PathLike, as_pyserini_reads: bool = False) -> dict[str, str]:
    """qid -> query text (NFC), in file order; ``as_pyserini_reads``: the text as Pyserini's topic reader
    returns it (not normalised, trimmed as Java trims), which its ``--encoded-queries`` look-up uses."""
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
            if as_pyserini_reads:
                text = cols[1].strip(_JAVA_TRIM)
        check_id(qid, path, number, "query id")
        if qid in topics:
            raise DataError(path, number, f"duplicate query id {qid!r}")
        topics[qid] = text
    if not topics:
        raise DataError(path, None, "no queries: the topics file is empty")
    return topics


def load_language_topics(paths: dict[str, str | os.PathLike]) -> dict[str, dict[str, str]]:
    """language -> topics file, as language (its canonical code, checked) -> qid -> text."""
    return {lang: load_topics(path) for lang, path in by_language(paths, "<--topics>").items()}


def pool_topics(topics: dict[str, dict[str, str]]) -> dict[str, str]:
    """language -> qid -> text as one qid -> text; a qid in two languages' topics is an error."""
    pooled: dict[str, str] = {}
    owner: dict[str, str] = {}
    for lang, queries in topics.items():
        for qid in queries:
            if qid in owner:
                raise ValueError(f"query id {qid!r} is in the topics of two languages, {owner[qid]} and {lang}")
            owner[qid] = lang
        pooled.update(queries)
    return pooled


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
    if not qrels:
        raise DataError(path, None, "no judgements: the qrels file is empty")
    return qrels


def relevant_passages(qrels: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """qid -> the passages judged relevant (relevance > 0)."""
    return {q: {d for d, r in judged.items() if r > 0} for q, judged in qrels.items()}


AnswerFiles = str | os.PathLike | list[str]
"""One answers file, or several, each ``PATH`` or ``LANG=PATH`` (``--answers``)."""
_LANGUAGE_FILE = re.compile(r"([A-Za-z]{2,3})=(.+)")


def _answer_records(files: AnswerFiles) -> Iterator[tuple[Path, int, str, dict]]:
    """(path, line number, qid, record) of every answers file; the records' ``lang`` is the canonical code of
    theirs, else of the file's ``LANG=``; a record whose language differs from its file's is an error."""
    seen: dict[str, tuple[Path, int]] = {}
    for spec in [files] if isinstance(files, (str, os.PathLike)) else files:
        match = _LANGUAGE_FILE.fullmatch(str(spec))
        file_lang, path = (check_language(match[1]), Path(match[2])) if match else (None, Path(spec))
        count = 0
        for number, line in _lines(path):
            obj = _json(path, number, line)
            qid = _field(obj, ("qid", "id"), path, number, "query id")
            if qid in seen:
                where = f" (first in {seen[qid][0]}:{seen[qid][1]})" if seen[qid][0] != path else ""
                raise DataError(path, number, f"duplicate query id {qid!r}{where}")
            seen[qid] = (path, number)
            lang = check_language(str(obj["lang"]), path, number) if obj.get("lang") else file_lang
            if file_lang and lang != file_lang:
                raise DataError(path, number, f"lang {obj['lang']!r} in a file of language {file_lang}")
            count += 1
            yield path, number, qid, {**obj, "lang": lang}
        if not count:
            raise DataError(path, None, "no answers: the file is empty")


def load_answers(files: AnswerFiles) -> dict[str, list[str]]:
    """qid -> answer strings (XOR-TyDi's answers field), from one answers file or several."""
    answers: dict[str, list[str]] = {}
    for path, number, qid, obj in _answer_records(files):
        values = obj.get("answers")
        if not isinstance(values, list) or not values or not all(isinstance(a, str) and a.strip() for a in values):
            raise DataError(path, number, "expected 'answers': a non-empty list of non-empty strings")
        answers[qid] = [nfc(a) for a in values]
    return answers


def load_query_languages(files: AnswerFiles, default: str = "all") -> dict[str, str]:
    """qid -> language (canonical code) from answers records' ``lang`` field, or their file's ``LANG=``
    (``default`` where neither gives one).

    The one place a query's language is read from a file: evaluation, reproductions and the demo use it.
    """
    return {qid: obj["lang"] or default for _, _, qid, obj in _answer_records(files)}


def shard(items: list, shard_id: int, shard_num: int) -> list:
    """Pyserini's sharding: contiguous slices of len // shard_num, the last one taking the rest."""
    if not 0 <= shard_id < shard_num:
        raise ValueError(f"--shard-id must be in [0, {shard_num}), not {shard_id}")
    size = len(items) // shard_num
    start = shard_id * size
    return items[start:] if shard_id == shard_num - 1 else items[start:start + size]


@dataclass
class Shard:
    """One of Pyserini's contiguous corpus shards; passages are streamed, only ids are kept."""

    corpus: str | os.PathLike
    ids: list[str]          # every passage id of the corpus, in order
    shard_id: int = 0
    shard_num: int = 1

    @cached_property
    def docids(self) -> set[str]:
        return set(shard(self.ids, self.shard_id, self.shard_num))

    def passages(self):
        start = self.shard_id * (len(self.ids) // self.shard_num)
        return islice(iter_corpus(self.corpus), start, start + len(self.docids))
