"""Dense indexes in Pyserini's FAISS layout, which ``FaissSearcher`` loads.

An index folder holds ``index`` (``faiss.write_index`` of a flat inner-product index),
``docid`` (one passage id a line, in vector order) and ``meta.json`` (encoder, recipe,
dimension, counts, versions). ``write_index`` knows nothing of what the vectors are; the
plain dense index and the xQG index (``index.xqg``) both write through it.
"""
from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import faiss
import numpy as np

from ..encode.embedder import Embedder
from ..io.collection import Passage, iter_corpus
from ..io.files import atomic_dir, check_free_space, count_lines, write_text_atomic

CHUNK = 2048  # passages read, encoded and added per step: memory stays flat with corpus size
META = "meta.json"


def versions() -> dict:
    names = ("pyserini", "faiss-cpu", "torch", "transformers", "pyserini-xqg")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def encoded_chunks(corpus: str | os.PathLike, embedder: Embedder, progress: bool = True,
                   title: bool = True) -> Iterator[tuple[list[Passage], np.ndarray]]:
    """The corpus's passages and their vectors, ``CHUNK`` passages at a time; ``title``: encode
    ``title text`` (Pyserini's convention) where a passage has a title, else the text alone."""
    from tqdm import tqdm

    passages = iter_corpus(corpus)
    with tqdm(desc="encode passages", unit="passage", disable=not progress) as bar:
        while chunk := list(islice(passages, CHUNK)):
            yield chunk, embedder.passages([p.text for p in chunk], [p.title for p in chunk] if title else None)
            bar.update(len(chunk))


def vector_bytes(passages: int, dimension: int) -> int:
    """What a flat float32 index of ``passages`` vectors takes on disk (and its docid file, about)."""
    return passages * (dimension * 4 + 16)


def write_index(index: str | os.PathLike, chunks: Iterable[tuple[list[str], np.ndarray]], dimension: int,
                meta: dict, passages: int | None = None) -> Path:
    """A flat inner-product FAISS index of (docids, vectors) chunks, with ``meta`` in meta.json.

    Written into a temporary folder and renamed, so a crash leaves no half index. With the number
    of ``passages``, a file system without room for it is refused before any work.
    """
    if passages is not None:
        check_free_space(index, vector_bytes(passages, dimension), "the index")
    with atomic_dir(index) as work:
        flat = faiss.IndexFlatIP(dimension)
        with open(work / "docid", "w", encoding="utf-8") as ids:
            for docids, vectors in chunks:
                flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
                ids.writelines(d + "\n" for d in docids)
        faiss.write_index(flat, str(work / "index"))
        head = {"encoder": meta.get("encoder"), "index_type": "IndexFlatIP", "dimension": flat.d,
                "passages": flat.ntotal, "corpus": meta.get("corpus"), "versions": versions()}
        write_text_atomic(work / META, json.dumps({**head, **meta}, indent=2, ensure_ascii=False) + "\n")
    return Path(index)


def build_index(corpus: str | os.PathLike, index: str | os.PathLike, embedder: Embedder,
                progress: bool = True, title: bool = True) -> Path:
    """Encode every passage of ``corpus`` (with its title, or without) into a dense index at ``index``."""
    chunks = (([p.docid for p in passages], vectors)
              for passages, vectors in encoded_chunks(corpus, embedder, progress, title))
    return write_index(index, chunks, embedder.dimension,
                       {"encoder": embedder.describe(), "corpus": str(corpus), "title": title}, count_lines(corpus))


def stored_chunks(index: str | os.PathLike, docids: list[str], encoder: dict,
                  title: bool) -> Iterator[tuple[list[str], np.ndarray]]:
    """The passage vectors of a plain dense index, ``CHUNK`` at a time, after checking that it holds
    ``docids`` in that order, encoded by ``encoder`` (``Embedder.describe()``) with the same title choice."""
    meta = read_meta(index)
    found = (Path(index) / "docid").read_text(encoding="utf-8").splitlines()
    if "xqg" in meta or meta["encoder"] != encoder or meta.get("title", True) != title or found != docids:
        raise ValueError(f"{index} is not a plain dense index of these passages by this encoder "
                         f"(title={title}): its vectors cannot be reused")
    flat = faiss.read_index(str(Path(index) / "index"))
    for start in range(0, flat.ntotal, CHUNK):
        end = min(start + CHUNK, flat.ntotal)
        yield docids[start:end], flat.reconstruct_n(start, end - start)


def read_meta(index: str | os.PathLike) -> dict:
    path = Path(index) / META
    if not path.exists():
        raise FileNotFoundError(f"{index} has no {META}: not a pyserini_xqg dense index")
    return json.loads(path.read_text())
