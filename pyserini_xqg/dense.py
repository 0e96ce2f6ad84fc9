"""Dense indexes in Pyserini's FAISS layout, searched with ``FaissSearcher``.

An index folder holds ``index`` (``faiss.write_index`` of a flat inner-product
index), ``docid`` (one passage id a line, in vector order) and ``meta.json``
(encoder, recipe, dimension, counts, versions).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from itertools import islice
from pathlib import Path

import faiss
import numpy as np

from . import jvm
from .data import iter_corpus, write_text_atomic
from .encoders import Embedder, PassageEncoder, QueryEncoder

CHUNK = 2048  # passages read, encoded and added per step: memory stays flat with corpus size


def versions() -> dict:
    names = ("pyserini", "faiss-cpu", "torch", "transformers", "pyserini-xqg")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def build_index(corpus: str | os.PathLike, index: str | os.PathLike, embedder: Embedder,
                progress: bool = True, extra_meta: dict | None = None) -> Path:
    """Encode every passage of ``corpus`` into a FAISS flat IP index at ``index``.

    Written into a temporary folder and renamed, so a crash leaves no half index.
    """
    from tqdm import tqdm

    encoder = PassageEncoder(embedder=embedder)
    index = Path(index)
    index.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{index.name}-", dir=index.parent))
    try:
        flat = faiss.IndexFlatIP(embedder.dimension)
        passages = iter_corpus(corpus)
        bar = tqdm(desc="encode passages", unit="passage", disable=not progress)
        with open(work / "docid", "w", encoding="utf-8") as ids:
            while chunk := list(islice(passages, CHUNK)):
                vectors = encoder.encode([p.text for p in chunk], [p.title for p in chunk])
                flat.add(np.ascontiguousarray(vectors))
                ids.writelines(p.docid + "\n" for p in chunk)
                bar.update(len(chunk))
        bar.close()
        faiss.write_index(flat, str(work / "index"))
        meta = {"encoder": embedder.describe(), "index_type": "IndexFlatIP", "passages": flat.ntotal,
                "corpus": str(corpus), "versions": versions(), **(extra_meta or {})}
        write_text_atomic(work / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        if index.exists():
            shutil.rmtree(index)
        os.replace(work, index)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return index


def read_meta(index: str | os.PathLike) -> dict:
    path = Path(index) / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"{index} has no meta.json: not a pyserini_xqg dense index")
    return json.loads(path.read_text())


def query_encoder_for(index: str | os.PathLike, **kwargs) -> QueryEncoder:
    """The query encoder an index was built for, from its meta.json."""
    from .encoders import Recipe

    enc = dict(read_meta(index)["encoder"])
    model = enc.pop("model")
    recipe = Recipe(**{k: enc[k] for k in Recipe.__dataclass_fields__})
    return QueryEncoder(model, recipe=recipe, **kwargs)


def searcher(index: str | os.PathLike, query_encoder: QueryEncoder | None = None):
    """Pyserini's own ``FaissSearcher`` over ``index`` with the plugin's query encoder."""
    jvm.start()
    from pyserini.search.faiss import FaissSearcher

    return FaissSearcher(str(index), query_encoder or query_encoder_for(index))


def search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2,
           query_encoder: QueryEncoder | None = None):
    """Dense hits for every topic through ``FaissSearcher.batch_search``: qid -> [(docid, score)]."""
    s = searcher(index, query_encoder)
    qids = list(topics)
    results = s.batch_search([topics[q] for q in qids], qids, k=k, threads=threads)
    return {qid: [(h.docid, float(h.score)) for h in results[qid]] for qid in qids}
