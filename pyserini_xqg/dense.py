"""Dense indexes in Pyserini's FAISS layout, searched with ``FaissSearcher``.

An index folder holds ``index`` (``faiss.write_index`` of a flat inner-product
index), ``docid`` (one passage id a line, in vector order) and ``meta.json``
(encoder, recipe, dimension, counts, versions).
"""
from __future__ import annotations

import json
import os
import platform
from functools import lru_cache
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

from . import jvm
from .data import atomic_dir, iter_corpus, write_text_atomic
from .encoders import Embedder, PassageEncoder, QueryEncoder
from .runs import Ranking, Run, from_pyserini

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
                progress: bool = True, extra_meta: dict | None = None,
                transform: Callable[[np.ndarray, int], np.ndarray] | None = None, dimension: int | None = None) -> Path:
    """Encode every passage of ``corpus`` into a FAISS flat IP index at ``index``.

    ``transform(vectors, first_row)`` may rewrite each chunk's passage vectors (xQG
    augmentation does) into vectors of ``dimension``. Written into a temporary folder
    and renamed, so a crash leaves no half index.
    """
    from tqdm import tqdm

    encoder = PassageEncoder(embedder=embedder)
    with atomic_dir(index) as work:
        flat = faiss.IndexFlatIP(dimension or embedder.dimension)
        passages = iter_corpus(corpus)
        bar = tqdm(desc="encode passages", unit="passage", disable=not progress)
        with open(work / "docid", "w", encoding="utf-8") as ids:
            while chunk := list(islice(passages, CHUNK)):
                vectors = encoder.encode([p.text for p in chunk], [p.title for p in chunk])
                if transform is not None:
                    vectors = transform(vectors, flat.ntotal)
                flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
                ids.writelines(p.docid + "\n" for p in chunk)
                bar.update(len(chunk))
        bar.close()
        faiss.write_index(flat, str(work / "index"))
        meta = {"encoder": embedder.describe(), "index_type": "IndexFlatIP", "dimension": flat.d,
                "passages": flat.ntotal, "corpus": str(corpus), "versions": versions(), **(extra_meta or {})}
        write_text_atomic(work / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return Path(index)


def read_meta(index: str | os.PathLike) -> dict:
    path = Path(index) / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"{index} has no meta.json: not a pyserini_xqg dense index")
    return json.loads(path.read_text())


def query_encoder_for(index: str | os.PathLike, a: float | None = None, **kwargs) -> QueryEncoder:
    """The query encoder an index was built for, from its meta.json.

    A side-by-side xQG index needs ``a`` (the weight of the generated queries), chosen
    at search time; other indexes refuse one.
    """
    from .augment import SideBySideQueryEncoder
    from .encoders import Recipe

    meta = read_meta(index)
    enc = dict(meta["encoder"])
    model = enc.pop("model")
    recipe = Recipe(**{k: enc[k] for k in Recipe.__dataclass_fields__})
    encoder = QueryEncoder(model, recipe=recipe, **kwargs)
    side_by_side = meta.get("xqg", {}).get("layout") == "side-by-side"
    if side_by_side:
        if a is None:
            raise ValueError(f"{index} is a side-by-side xQG index: choose the weight a (--a) at search time")
        return SideBySideQueryEncoder(encoder, a)
    if a is not None:
        raise ValueError(f"{index} fixes a at build time ({meta.get('xqg', {}).get('a', 'no xQG')}): --a applies "
                         "only to side-by-side xQG indexes")
    return encoder


def searcher(index: str | os.PathLike, query_encoder: QueryEncoder | None = None):
    """Pyserini's own ``FaissSearcher`` over ``index`` with the plugin's query encoder."""
    jvm.start()
    from pyserini.search.faiss import FaissSearcher

    return FaissSearcher(str(index), query_encoder or query_encoder_for(index))


def search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2,
           query_encoder: QueryEncoder | None = None) -> Ranking:
    """Dense hits for every topic (batched query encoding, then ``batch_search``): qid -> [(docid, score)]."""
    encoder = query_encoder or query_encoder_for(index)
    qids = list(topics)
    return batch_search(index, qids, encoder.encode_batch([topics[q] for q in qids]), k, threads)


@lru_cache(maxsize=8)
def _open(index: str, stamp: tuple) -> tuple[faiss.Index, np.ndarray, np.ndarray]:
    """The FAISS index, its docids and each docid's rank in sorted order (for ties)."""
    folder = Path(index)
    names = (folder / "docid").read_text(encoding="utf-8").splitlines()
    order = np.empty(len(names), dtype=np.int64)
    order[np.argsort(np.array(names), kind="stable")] = np.arange(len(names))
    return faiss.read_index(str(folder / "index")), np.array(names, dtype=object), order


def batch_search(index: str | os.PathLike, qids: list[str], vectors: np.ndarray, k: int = 100,
                 threads: int = 2) -> Ranking:
    """FAISS search of a plugin index, hits as arrays: the same run as ``FaissSearcher.batch_search``
    (``pyserini_search``) without its Python object per hit. The opened index is kept while unchanged."""
    files = [Path(index) / "index", Path(index) / "docid"]
    flat, docids, order = _open(str(index), tuple(f.stat().st_mtime_ns for f in files))
    faiss.omp_set_num_threads(threads)
    scores, rows = flat.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, flat.ntotal))
    return Ranking.from_search(list(qids), scores, rows, docids, order)


def pyserini_search(index: str | os.PathLike, topics: dict[str, str], k: int = 100, threads: int = 2,
                    query_encoder: QueryEncoder | None = None) -> Run:
    """The same search through Pyserini's ``FaissSearcher.batch_search`` (the reference ``search`` matches)."""
    s = searcher(index, query_encoder)
    qids = list(topics)
    return from_pyserini(s.batch_search([topics[q] for q in qids], qids, k=k, threads=threads), qids)


def write_encoded_queries(index: str | os.PathLike, topics: dict[str, str], output: str | os.PathLike,
                          a: float | None = None, **kwargs) -> Path:
    """Pre-encoded queries for Pyserini's own CLI (``--encoded-queries``): ``embedding.pkl``, text -> vector."""
    import pandas as pd

    encoder = query_encoder_for(index, a, **kwargs)
    texts = list(dict.fromkeys(topics.values()))
    vectors = encoder.encode_batch(texts)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    tmp = output / f".embedding.pkl.tmp-{os.getpid()}"
    pd.DataFrame({"text": texts, "embedding": list(vectors)}).to_pickle(tmp)
    os.replace(tmp, output / "embedding.pkl")
    return output
