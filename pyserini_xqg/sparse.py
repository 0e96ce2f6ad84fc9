"""BM25 through Pyserini's Lucene indexer and ``LuceneSearcher``."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import jvm
from .data import atomic_dir, iter_corpus, write_text_atomic
from .runs import from_pyserini

META = "xqg-bm25.json"  # beside Lucene's files: the analyzer language the index was built with


def build_index(corpus: str | os.PathLike, index: str | os.PathLike, language: str = "en",
                threads: int = 2) -> Path:
    """Index ``corpus`` with Anserini's IndexCollection (JsonCollection, positions, raw docs).

    ``language`` picks Anserini's analyzer for the corpus; the same analyzer is used
    for queries at search time. The index is built in a temporary folder and renamed.
    """
    jvm.start()
    from jnius import autoclass

    with atomic_dir(index) as out, tempfile.TemporaryDirectory(dir=Path(index).parent) as docs:
        with open(Path(docs) / "corpus.jsonl", "w", encoding="utf-8") as f:
            for p in iter_corpus(corpus):
                contents = f"{p.title}\n{p.text}" if p.title else p.text
                f.write(json.dumps({"id": p.docid, "contents": contents}, ensure_ascii=False) + "\n")
        shutil.rmtree(out)  # Anserini creates the index folder itself
        args = ["-collection", "JsonCollection", "-input", docs, "-index", str(out),
                "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(threads),
                "-storePositions", "-storeDocvectors", "-storeRaw", "-language", language, "-quiet"]
        autoclass("io.anserini.index.IndexCollection").main(args)
        write_text_atomic(out / META, json.dumps({"language": language, "corpus": str(corpus)}) + "\n")
    return Path(index)


def searcher(index: str | os.PathLike, k1: float = 0.9, b: float = 0.4):
    """A ``LuceneSearcher`` with BM25 and the analyzer the index was built with."""
    jvm.start()
    from pyserini.search.lucene import LuceneSearcher

    s = LuceneSearcher(str(index))
    meta = Path(index) / META
    language = json.loads(meta.read_text())["language"] if meta.exists() else "en"
    if language != "en":
        s.set_language(language)
    s.set_bm25(k1, b)
    return s


def search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2):
    """BM25 hits for every topic: qid -> [(docid, score)]."""
    s = searcher(index)
    qids = list(topics)
    return from_pyserini(s.batch_search([topics[q] for q in qids], qids, k=k, threads=threads), qids)
