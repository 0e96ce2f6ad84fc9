"""BM25 search through Pyserini's ``LuceneSearcher``, with the analyzer the index was built with."""
from __future__ import annotations

import os

from .. import jvm
from ..index.lucene import language_of
from ..io.files import DataError
from ..io.runs import Run, from_pyserini


def searcher(index: str | os.PathLike, k1: float = 0.9, b: float = 0.4):
    """A ``LuceneSearcher`` with BM25 and the analyzer the index was built with."""
    jvm.start()
    from pyserini.search.lucene import LuceneSearcher

    try:
        s = LuceneSearcher(str(index))
    except Exception as err:  # jnius.JavaException: a missing or damaged segment file
        raise DataError(index, None, f"cannot open the Lucene index ({str(err).splitlines()[0]}); rebuild it "
                        "with index") from None
    language = language_of(index)
    if language != "en":
        s.set_language(language)
    s.set_bm25(k1, b)
    return s


def search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2) -> Run:
    """BM25 hits for every topic: qid -> [(docid, score)]."""
    s = searcher(index)
    qids = list(topics)
    return from_pyserini(s.batch_search([topics[q] for q in qids], qids, k=k, threads=threads), qids)
