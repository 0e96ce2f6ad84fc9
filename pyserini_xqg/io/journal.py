"""Append-only JSONL outputs that survive being killed: resume where the last run stopped.

Records are appended a batch at a time with one ``write`` followed by ``fsync``.
A kill can only cut the file's last line short; ``Journal`` drops that partial
line on open and reports the keys already written, so a rerun skips them and
nothing is lost or duplicated.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Hashable, Iterable

from .files import DataError, write_errors


class Journal:
    """``key``: a record's identity; ``check(number, record)``: raises where an existing record may not be
    resumed (other settings). A file that is not such a journal is refused, never cut."""

    def __init__(self, path: str | os.PathLike, key: Callable[[dict], Hashable],
                 check: Callable[[int, dict], None] | None = None, start: str = '{"'):
        self.path = Path(path)
        self.key = key
        self.done: set = set()
        if self.path.is_dir():
            raise DataError(self.path, None, "is a folder; expected a JSONL file to write")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._recover(check or (lambda number, record: None), start)
        self._file = None  # opened at the first write: a run that fails first leaves no file

    def _recover(self, check: Callable[[int, dict], None], start: str) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        foreign = "is not an output of this command; choose another --output (the file was left as it is)"
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(self.path, None, foreign) from None
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                    key = self.key(record)
                except (ValueError, KeyError, TypeError):
                    raise DataError(self.path, number, foreign) from None
                check(number, record)
                self.done.add(key)
        if end < len(data):
            if not data[end:].startswith(start.encode()[:len(data) - end]):
                raise DataError(self.path, text.count("\n") + 1, foreign)
            with open(self.path, "r+b") as f:
                f.truncate(end)

    def write(self, records: Iterable[dict]) -> None:
        """Append ``records`` as one write; a write that fails (a full disk) is undone before the error."""
        records = list(records)
        if not records:
            return
        new = not self.path.exists()
        with write_errors(self.path):
            if self._file is None:
                self._file = open(self.path, "a", encoding="utf-8")
            size = self._file.tell()
            try:
                self._file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
                self._file.flush()
                os.fsync(self._file.fileno())
            except BaseException:
                self._undo(size, new)
                raise
        self.done.update(self.key(r) for r in records)

    def _undo(self, size: int, new: bool) -> None:
        """Cut what a failed write left, and remove a file that this write created."""
        try:
            self._file.close()
        except OSError:
            pass  # the buffered rest cannot be written either
        self._file = None
        if new and size == 0:
            self.path.unlink(missing_ok=True)
        else:
            os.truncate(self.path, size)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
