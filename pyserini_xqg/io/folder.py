"""Collection folders: a collection's files in one folder, found by their conventional names
(``--collection DIR`` on ``study``, ``robustness``, ``evaluate`` and ``search``).

The names (AfriQA's layout):

- ``corpus.jsonl`` (or ``corpus.tsv``): the passages;
- ``queries.LANG.tsv`` (or ``.jsonl``): the dev topics, one file per query language;
- ``queries.LANG-PIVOT.tsv`` (or ``.jsonl``): their translations into the passages' language PIVOT (same
  qids), for translate-test; translations into any other language are not the collection's and are passed over;
- ``qrels.txt`` and ``train.jsonl`` (DPR-style train pairs);
- ``answers.jsonl`` (R@kt's answers, the strings to find in the passages), or one file per query language:
  ``answers.LANG.jsonl``, and ``answers.LANG-PIVOT.jsonl`` where the answers are given in the passages'
  language PIVOT as well (preferred to ``answers.LANG.jsonl`` where both are there);
- ``reference-queries.train.jsonl``: queries per passage in the released xQG shape (the study's
  ``--generator file:PATH`` where no generator is given).

An optional manifest, ``collection.json``, renames any of them and gives the passages' language (``en``
unless it says otherwise)::

    {"corpus": "passages.jsonl", "topics": {"fon": "q.fon.tsv"}, "topics_pivot": {"fon": "q.fon-fr.tsv"},
     "qrels": "judged.txt", "answers": "a.jsonl" (or {"fon": "a.fon.jsonl"}), "train": "pairs.jsonl",
     "reference_queries": "xqg.jsonl", "language": "fr"}

Each key it gives replaces what the names would find (``topics`` then lists every topics file); its names
are relative to DIR. Every path is ``str(Path(DIR) / name)``, as ``DIR/name`` typed on a command line reads.
Languages are keyed by their canonical code however a name spells them (``queries.hau.tsv`` is ``ha``).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .files import DataError
from .languages import LANGUAGES, by_language, check_language

MANIFEST = "collection.json"
FILES = {"corpus": ("corpus.jsonl", "corpus.tsv"), "qrels": ("qrels.txt",), "answers": ("answers.jsonl",),
         "train": ("train.jsonl",), "reference_queries": ("reference-queries.train.jsonl",)}
"""Each single file -> the names it may have (more than one present is ambiguous)."""
PER_LANGUAGE = {"topics": re.compile(r"queries\.([a-z]{2,3})(?:-([a-z]{2,3}))?\.(?:tsv|jsonl)"),
                "answers": re.compile(r"answers\.([a-z]{2,3})(?:-([a-z]{2,3}))?\.jsonl")}
"""Files kept per query language: ``queries.LANG.tsv`` (topics) and ``queries.LANG-PIVOT.tsv`` (their
translations); ``answers.LANG.jsonl`` and ``answers.LANG-PIVOT.jsonl`` (the answers in the passages' language)."""
NAMES = {**{key: " or ".join(names) for key, names in FILES.items()}, "topics": "queries.LANG.tsv",
         "topics_pivot": "queries.LANG-PIVOT.tsv", "answers": "answers.jsonl or answers.LANG.jsonl"}


@dataclass(frozen=True)
class CollectionFolder:
    """What a collection folder holds: each file's path, ``None`` (or empty) where the folder has none."""

    folder: str
    language: str = "en"                                   # the passages' language (canonical code)
    corpus: str | None = None
    topics: dict[str, str] = field(default_factory=dict)  # query language (canonical code) -> topics
    topics_pivot: dict[str, str] = field(default_factory=dict)  # query language -> translations into ``language``
    qrels: str | None = None
    answers: str | dict[str, str] | None = None           # one file, or query language -> its answers
    train: str | None = None
    reference_queries: str | None = None

    def need(self, name: str, option: str = ""):
        """The file (or, for ``topics``, the files) ``name``; where the folder has none, a DataError naming the
        folder, the names expected (and the ``option`` that would do instead) and what the folder holds."""
        value = getattr(self, name)
        if not value:
            instead = f", or give {option}" if option else ""
            raise DataError(self.folder, None, f"no {name.replace('_', ' ')} ({NAMES[name]}, or {name!r} in "
                            f"{MANIFEST}{instead}); the folder holds {holds(self.folder)}")
        return value

    def pivot_for(self, languages) -> dict[str, str]:
        """The translations of the topics in ``languages`` (codes in any spelling)."""
        wanted = {check_language(lang) for lang in languages}
        return {lang: path for lang, path in self.topics_pivot.items() if lang in wanted}

    def select(self, languages: list[str]) -> "CollectionFolder":
        """The folder with only the topics (translations, answers) of ``languages``; an error names those it has."""
        keep = [check_language(lang) for lang in languages]
        missing = [spelt for spelt, lang in zip(languages, keep) if lang not in self.topics]
        if missing:
            raise DataError(self.folder, None, f"no topics in {', '.join(missing)}; it has {', '.join(self.topics)}")
        answers = ({lang: self.answers[lang] for lang in keep if lang in self.answers}
                   if isinstance(self.answers, dict) else self.answers)
        return replace(self, topics={lang: self.topics[lang] for lang in keep}, topics_pivot=self.pivot_for(keep),
                       answers=answers)


def read_collection(folder: str | os.PathLike) -> CollectionFolder:
    """The files of collection folder ``folder`` (see the module's docstring): the manifest's names where it
    gives them, else the conventional ones. Two candidates for one file, two topics files for one language, a
    name the manifest gives that the folder lacks, or a bad language code: a DataError naming the folder."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(folder, None, "is a file; expected a collection folder" if root.exists() else
                        "no such collection folder")
    manifest = _manifest(root)
    names = {p.name for p in root.iterdir() if p.is_file()}
    found: dict = {"language": check_language(manifest.get("language", "en"), root / MANIFEST)}
    for key, candidates in FILES.items():
        if key in manifest:
            found[key] = _given(root, manifest[key], key)
            continue
        present = [name for name in candidates if name in names]
        if len(present) > 1:
            raise DataError(root, None, f"two {key.replace('_', ' ')} files, {' and '.join(present)}: keep one, or "
                            f"name it in {MANIFEST}")
        found[key] = str(root / present[0]) if present else None
    topics, pivot = _per_language(root, names, found["language"], "topics")
    for key, discovered in (("topics", topics), ("topics_pivot", pivot)):
        found[key] = _given_by_language(root, manifest[key], key) if key in manifest else discovered
    if isinstance(manifest.get("answers"), dict):
        found["answers"] = _given_by_language(root, manifest["answers"], "answers")
    elif "answers" not in manifest:
        own, in_pivot = _per_language(root, names, found["language"], "answers")
        by_language = {**own, **in_pivot}  # the answers in the passages' language, where a file gives them
        if by_language and found["answers"]:
            raise DataError(root, None, f"answers in {Path(found['answers']).name} and in "
                            f"{', '.join(sorted(Path(p).name for p in by_language.values()))}: keep one kind, or name "
                            f"them in {MANIFEST}")
        found["answers"] = found["answers"] or by_language or None
    return CollectionFolder(str(folder), **found)


def holds(folder: str | os.PathLike, most: int = 30) -> str:
    """The files in ``folder``, for an error: ``a.tsv, b.jsonl`` (the first ``most``), or ``no files``."""
    names = sorted(p.name for p in Path(folder).iterdir() if p.is_file()) if Path(folder).is_dir() else []
    shown = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
    return shown or "no files"


def _per_language(root: Path, names: set[str], language: str, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """The files of ``kind`` (``PER_LANGUAGE``) by query language (canonical code), in name order: the language's
    own (``queries.LANG.tsv``) and those in the passages' ``language`` (``queries.LANG-PIVOT.tsv``); files in any
    other language are not the collection's. Two files for one language is an error."""
    own: dict[str, str] = {}
    pivot: dict[str, str] = {}
    for name in sorted(names):
        match = PER_LANGUAGE[kind].fullmatch(name)
        if not match:
            continue
        lang, into = match.groups()
        code = check_language(lang, root / name)
        if into is not None and check_language(into, root / name) != language:
            continue
        same = pivot if into else own
        if code in same:
            what = {"topics": "translation" if into else "topics", "answers": "answers"}[kind]
            raise DataError(root, None, f"two {what} files for {LANGUAGES[code].name} ({code}): "
                            f"{Path(same[code]).name} and {name}; keep one, or name it in {MANIFEST}")
        same[code] = str(root / name)
    return own, pivot


def _manifest(root: Path) -> dict:
    """The folder's manifest (``{}`` where it has none), its keys and value types checked."""
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, None, f"not a JSON object ({err})") from None
    known = [f.name for f in fields(CollectionFolder) if f.name != "folder"]
    if not isinstance(manifest, dict):
        raise DataError(path, None, f"expected a JSON object with some of {', '.join(known)}")
    unknown = sorted(set(manifest) - set(known))
    if unknown:
        raise DataError(path, None, f"unknown key{'s' * (len(unknown) > 1)} {', '.join(unknown)}; expected some of "
                        f"{', '.join(known)}")
    for key, value in manifest.items():
        by_language = key in ("topics", "topics_pivot") or (key == "answers" and isinstance(value, dict))
        if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()) if by_language
                else isinstance(value, str)):
            raise DataError(path, None, f"{key!r} must be " + ('{"LANG": "FILE", ...}' if by_language else
                                                              "a string"))
        for lang in value if by_language else ():
            check_language(lang, path)
    return manifest


def _given_by_language(root: Path, given: dict[str, str], key: str) -> dict[str, str]:
    """The files the manifest names for ``key``, by canonical language code."""
    return {lang: _given(root, name, f"{key}.{lang}") for lang, name in by_language(given, root / MANIFEST).items()}


def _given(root: Path, name: str, key: str) -> str:
    """The file the manifest names for ``key``; an error where the folder lacks it."""
    path = root / name
    if not path.is_file():
        raise DataError(root / MANIFEST, None, f"{key!r} names {name}, which is not a file in {root}; the folder "
                        f"holds {holds(root)}")
    return str(path)
