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


class Journal:
    def __init__(self, path: str | os.PathLike, key: Callable[[dict], Hashable]):
        self.path = Path(path)
        self.key = key
        self.done: set = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._recover()
        self._file = open(self.path, "a", encoding="utf-8")

    def _recover(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        if end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)
        for line in data[:end].decode("utf-8").splitlines():
            if line.strip():
                self.done.add(self.key(json.loads(line)))

    def write(self, records: Iterable[dict]) -> None:
        records = list(records)
        if not records:
            return
        self._file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done.update(self.key(r) for r in records)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
