"""Lucene BM25 indexes through Anserini's ``IndexCollection`` (searched by ``search.lucene``)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .. import jvm
from ..io.collection import iter_corpus
from ..io.files import atomic_dir, check_free_space, write_text_atomic

META = "xqg-bm25.json"  # beside Lucene's files: the analyzer language the index was built with


def build_index(corpus: str | os.PathLike, index: str | os.PathLike, language: str = "en",
                threads: int = 2, title: bool = True) -> Path:
    """Index ``corpus`` with Anserini's IndexCollection (JsonCollection, positions, raw docs).

    ``language`` picks Anserini's analyzer for the corpus; the same analyzer is used
    for queries at search time. The index is built in a temporary folder and renamed.
    """
    # the corpus copied for Anserini, then its positions, document vectors and raw text: about 3x the corpus
    size = Path(corpus).stat().st_size if Path(corpus).is_file() else 0
    check_free_space(index, 3 * size, "the Lucene index")
    jvm.start()
    from jnius import autoclass

    with atomic_dir(index) as out, tempfile.TemporaryDirectory(dir=Path(index).parent) as docs:
        with open(Path(docs) / "corpus.jsonl", "w", encoding="utf-8") as f:
            for p in iter_corpus(corpus):
                contents = f"{p.title}\n{p.text}" if p.title and title else p.text
                f.write(json.dumps({"id": p.docid, "contents": contents}, ensure_ascii=False) + "\n")
        shutil.rmtree(out)  # Anserini creates the index folder itself
        args = ["-collection", "JsonCollection", "-input", docs, "-index", str(out),
                "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(threads),
                "-storePositions", "-storeDocvectors", "-storeRaw", "-language", language, "-quiet"]
        autoclass("io.anserini.index.IndexCollection").main(args)
        write_text_atomic(out / META, json.dumps({"language": language, "corpus": str(corpus), "title": title}) + "\n")
    return Path(index)


def language_of(index: str | os.PathLike) -> str:
    """The analyzer language a plugin-built Lucene index was built with (``en`` for other indexes)."""
    meta = Path(index) / META
    return json.loads(meta.read_text())["language"] if meta.exists() else "en"


def is_lucene_index(index: str | os.PathLike) -> bool:
    return Path(index).is_dir() and any(Path(index).glob("segments_*"))
