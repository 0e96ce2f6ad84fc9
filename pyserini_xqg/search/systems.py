"""One way from an index path to a searcher: ``open_index`` tells a dense or xQG index (meta.json)
from a Lucene one and refuses anything else."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..index.dense import META
from ..index.lucene import is_lucene_index
from ..io.files import DataError
from ..io.runs import Run
from . import dense, lucene


@dataclass(frozen=True)
class System:
    """A searchable index: ``search(topics)`` -> qid -> [(docid, score)]."""

    index: Path
    kind: str                                   # "dense" (dense or xQG) or "lucene" (BM25)
    search: Callable[[dict[str, str]], Run]


def open_index(index: str | os.PathLike, a: float | None = None, k: int = 100, threads: int = 2,
               **embedder_options) -> System:
    """A searcher for ``index``; ``a`` for a side-by-side xQG index, ``embedder_options`` (batch_size,
    cache_dir, dtype, device) for a dense one."""
    path = Path(index)
    if k < 1:
        raise ValueError(f"--hits must be at least 1, not {k}")
    if not path.is_dir():
        raise DataError(index, None, "no such index folder" if not path.exists() else "is a file; expected an index "
                        "folder")
    if (path / META).exists():
        vectors = dense.query_vectors_for(path, a, **embedder_options)
        return System(path, "dense", lambda topics: dense.search(path, topics, k, threads, vectors))
    if is_lucene_index(path):
        if a is not None:
            raise ValueError(f"{index} is a Lucene index: a (--a / @A) applies only to side-by-side xQG indexes")
        return System(path, "lucene", lambda topics: lucene.search(path, topics, k, threads))
    raise DataError(index, None, "not an index: expected a Lucene index or a folder with meta.json")
