"""Reading and writing files: errors that name file and line, JSONL lines, atomic writes, package data."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Iterator

RESOURCES = Path(str(resources.files("pyserini_xqg").joinpath("resources")))
"""The package data: languages.tsv, the built-in sample, reproduction matrices."""


class DataError(ValueError):
    """Bad input: names the file and line, and what was expected."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) for every non-blank line of a UTF-8 file."""
    path = Path(path)
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


def json_object(path: str | os.PathLike, number: int, line: str) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(path, number, f"malformed JSON ({err.msg}); expected one JSON object per line") from err
    if not isinstance(obj, dict):
        raise DataError(path, number, "expected a JSON object")
    return obj


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line of a JSONL file; errors name file and line."""
    for number, line in lines(path):
        yield number, json_object(path, number, line)


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
