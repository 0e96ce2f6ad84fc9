"""Reading and writing files: errors that name file and line, JSONL lines, atomic writes, package data."""
from __future__ import annotations

import errno
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


BOM = "\ufeff"


def lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) for every non-blank line of a UTF-8 file.

    A byte-order mark at the start of a line is dropped: editors and spreadsheets write one at the
    start of a file, and ``cat`` of such files puts one in the middle. Every loader reads through here.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "file not found")
    if path.is_dir():
        raise DataError(path, None, "is a folder; expected a file")
    with open(path, encoding="utf-8") as f:
        try:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n").rstrip("\r").lstrip(BOM)
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


MARKER = ".pyserini_xqg"
"""The file ``atomic_dir`` leaves in every folder it makes: the folders it may replace."""
_OURS = (MARKER, "meta.json", "xqg-bm25.json", "training.json", "pyserini_xqg_recipe.json")  # and folders made before the marker


def check_replaceable(path: str | os.PathLike) -> None:
    """Refuse an output folder that exists and was not made by this tool (or is a file)."""
    path = Path(path)
    if path.is_file():
        raise DataError(path, None, "is a file; expected a folder to write into")
    if path.is_dir() and any(path.iterdir()) and not any((path / name).is_file() for name in _OURS):
        raise DataError(path, None, "exists and holds files this tool did not make; choose a new or empty folder "
                        "(nothing was deleted)")


OUTPUT_KINDS = ("file", "folder", "replaced")  # written; written into; replaced whole (atomic_dir)


def check_output(path: str | os.PathLike, kind: str = "file") -> None:
    """Refuse an output that cannot be written, before any work: a folder where a file goes (or the
    reverse), a read-only place, or (``replaced``) a folder this tool did not make."""
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise DataError(path, None, "is a folder; expected a file to write")
    if kind != "file" and path.is_file():
        raise DataError(path, None, "is a file; expected a folder to write into")
    if kind == "replaced":
        check_replaceable(path)
    where = path if kind != "file" and path.is_dir() else path.parent
    while not where.exists():
        where = where.parent
    if not where.is_dir():
        raise DataError(path, None, f"cannot be written: {where} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=where)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise DataError(path, None, f"cannot be written ({err.strerror} in {where})") from None


WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG)
"""Errors a write can meet late, after every check passed: a full disk or quota, a failing device, a
file system remounted read-only, a file-size limit."""
_CAUSES = {os.strerror(code): code for code in WRITE_ERRNOS}


def _write_cause(err: BaseException) -> str | None:
    """The cause of ``err`` if it is a late write error: an OSError with one of ``WRITE_ERRNOS``, or a
    library's wrapped one (faiss: ``RuntimeError: ... write error ... (No space left on device)``; Java)."""
    if isinstance(err, OSError):
        return os.strerror(err.errno) if err.errno in WRITE_ERRNOS else None
    if isinstance(err, RuntimeError) or type(err).__name__ == "JavaException":
        found = [cause for cause in _CAUSES if cause.lower() in str(err).lower()]
        return found[0] if found else None
    return None


@contextmanager
def write_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn a late write error in the block (``WRITE_ERRNOS``) into one ``DataError`` naming ``path`` and the
    cause; the caller removes what it had begun to write."""
    try:
        yield
    except Exception as err:
        cause = _write_cause(err)
        if cause is None or isinstance(err, DataError):
            raise
        raise DataError(path, None, f"cannot be written: {cause} (nothing was left behind)") from None


def check_free_space(path: str | os.PathLike, needed: int, what: str) -> None:
    """Refuse, before the work, a write of about ``needed`` bytes to ``path`` where its file system has less free."""
    where = Path(path)
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if needed > free:
        raise DataError(path, None, f"writing {what} needs about {_size(needed)}, but its file system has only "
                        f"{_size(free)} free (nothing was written)")


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024


def count_lines(path: str | os.PathLike) -> int:
    """Newlines in a file, read in blocks: a cheap upper bound on its records, for ``check_free_space``."""
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) + 1


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A fresh folder beside ``path`` that replaces ``path`` only if the block succeeds.

    Only a folder this tool made (``check_replaceable``) is replaced, and the old one stays in
    place until the new one is: the two are swapped in one step where Linux allows it.
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        with write_errors(path):
            yield work
            (work / MARKER).write_text("made by pyserini_xqg; a rerun may replace this folder\n", encoding="utf-8")
        check_replaceable(path)  # again: the block may have run for hours
        if not path.exists():
            os.replace(work, path)
        elif not _exchange(work, path):  # old and new swapped: work now holds the old folder
            old = path.with_name(f".{path.name}-old-{os.getpid()}")
            os.replace(path, old)
            os.replace(work, path)
            shutil.rmtree(old)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with write_errors(path):
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
