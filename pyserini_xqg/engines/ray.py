"""``--engine ray``: ``generate`` and ``encode`` as Ray Data batch inference over corpus shards.

The corpus is cut into contiguous shards (Pyserini's ``io.collection.shard``), each written once as
a JsonCollection JSONL into a work folder beside the output. A pool of Ray actors, one model
replica per worker (and per GPU with ``--device cuda``), takes the shards one at a time and
runs the plugin's local code path on each (``generate.queries.generate_queries``,
``index.dense.build_index``, ``index.xqg.build_indexes``). The driver then merges the shard outputs:

- ``generate``: the shard JSONL parts, concatenated in shard order into ``output``: the local
  run's records (keyed by passage and language), grouped by shard. Shard boundaries fall on
  multiples of ``--batch-size``, since a batch's sampling seed derives from its first passage:
  every passage is then sampled in the same batch, with the same seed, as in a local run. The
  parts are journals in ``.<output>.ray/`` beside the output, so a killed run, rerun with the
  same settings, resumes shard by shard. An existing ``output`` is refused (the local engine
  resumes it instead).
- ``encode``: the shard FAISS indexes, concatenated in corpus order into one Pyserini index
  (``index``, ``docid``, ``meta.json`` with ``"engine"``); an xQG index's ``agg=auto`` is
  decided over the whole corpus, and its query counts are summed across shards. Noisy xQG's
  copies are made by each shard (seeded per passage, query and copy: the local engine's copies),
  and counted by the driver too, which decides ``agg`` and calibrates with the copies included.

The work folder must be on a file system every Ray node sees, and the package (and model)
on every node. Ray is an optional extra: ``pip install 'pyserini-xqg[ray]'``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import jvm
from ..encode import models
from ..encode.embedder import Embedder
from ..generate.queries import (FileGenerator, HFGenerator, check_coverage, generate_queries, make_generator,
                                parse_generator)
from ..index import dense, xqg as xqg_index
from ..io.collection import Shard, iter_corpus, shard
from ..io.files import DataError, atomic_dir, write_text_atomic
from ..io.generated import read_generated
from ..io.languages import check_language
from ..perturb.noise import COPIES, Noise, copies_summary, with_copies

INSTALL = "pip install 'pyserini-xqg[ray]'"


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(f"--engine ray needs Ray, an optional extra: {INSTALL}") from err
    return ray


@contextmanager
def session(address: str | None = None, workers: int = 2):
    """The running Ray instance, else one started here (a local one, or ``address``'s cluster).

    Ray installs its own crash handlers and resets them on shutdown; the JVM's are put back after both.
    """
    ray = _ray()
    owned = not ray.is_initialized()
    handlers = jvm.native_signal_handlers()
    if owned:
        if address:
            ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
        else:
            ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
        jvm.restore_signal_handlers(handlers)
    try:
        yield ray
    finally:
        if owned:
            ray.shutdown()
            jvm.restore_signal_handlers(handlers)


def corpus_shards(passages: list, count: int, align: int = 1) -> list[list]:
    """Pyserini's contiguous shards over groups of ``align`` passages (at most one shard per group)."""
    groups = [passages[i:i + align] for i in range(0, len(passages), align)]
    count = max(1, min(count, len(groups)))
    return [[p for group in shard(groups, i, count) for p in group] for i in range(count)]


def _passages(corpus: str | os.PathLike) -> list:
    passages = list(iter_corpus(corpus))
    if not passages:
        raise DataError(corpus, None, "no passages to shard")
    return passages


def _write_corpus(passages: list, path: Path) -> None:
    rows = ({"id": p.docid, "title": p.title, "contents": p.text} for p in passages)
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def split_queries(generated: str | os.PathLike, parts: list[list], work: Path,
                  langs: list[str] | None = None, noise: Noise | None = None, copies: int = COPIES,
                  made: Counter | None = None) -> Counter:
    """Each shard's generated queries into ``work/queries-<i>.jsonl``; returns queries per passage, with
    ``noise`` their perturbed ``copies`` included (and counted by attack in ``made``)."""
    where = {p.docid: i for i, part in enumerate(parts) for p in part}
    counts: Counter = Counter()
    made = Counter() if made is None else made
    files = [open(work / f"queries-{i:05d}.jsonl", "w", encoding="utf-8") for i in range(len(parts))]
    try:
        for record in read_generated(generated, langs):
            if record["docid"] not in where:
                raise DataError(generated, None, f"generated queries name passage {record['docid']!r}, "
                                "not in the corpus")
            noisy = record if noise is None else next(with_copies([record], noise, copies, made))
            counts[record["docid"]] += len(noisy["queries"])
            files[where[record["docid"]]].write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for f in files:
            f.close()
    return counts


def _run(ray, worker, kwargs: dict, count: int, workers: int, device: str, progress: bool) -> None:
    """Shards ``0 .. count-1`` through an actor pool of ``workers`` instances of ``worker``."""
    context = ray.data.DataContext.get_current()
    bars, context.enable_progress_bars = context.enable_progress_bars, progress
    try:
        if str(device).startswith("cuda"):
            resources = {"num_gpus": 1}
        else:
            resources = {"num_cpus": max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)}
        ds = ray.data.from_items([{"shard_id": i} for i in range(count)], override_num_blocks=count)
        ds = ds.map_batches(worker, fn_constructor_kwargs=kwargs, batch_size=1,
                            compute=ray.data.ActorPoolStrategy(size=min(workers, count),
                                                               max_tasks_in_flight_per_actor=1),
                            **resources)
        done = sorted(int(row["shard_id"]) for row in ds.take_all())
    finally:
        context.enable_progress_bars = bars
    if done != list(range(count)):
        raise RuntimeError(f"Ray returned shards {done}, expected 0..{count - 1}")


class _Generate:
    """One generator replica (loaded once): ``generate_queries`` on whole shards."""

    def __init__(self, work: str, generator: str, langs: list[str], options: dict):
        self.work, self.langs, self.options = Path(work), langs, options
        self.replica, (backend, self.source) = None, parse_generator(generator)
        if backend == "hf":
            self.replica = make_generator(generator, **options)
            self.replica._load()

    def __call__(self, batch: dict) -> dict:
        for i in batch["shard_id"]:  # a file back end reads the shard's own part of the queries
            generator = self.replica or FileGenerator(self.work / f"queries-{i:05d}.jsonl", self.options.get("n"),
                                                      origin=self.source)
            generate_queries(self.work / f"corpus-{i:05d}.jsonl", self.work / f"part-{i:05d}.jsonl", generator,
                             self.langs, progress=False)
        return batch


def generate(corpus: str | os.PathLike, output: str | os.PathLike, generator: str, langs: list[str],
             workers: int = 2, shards: int | None = None, address: str | None = None, progress: bool = True,
             **options) -> Path:
    """``generate_queries`` over the whole corpus on Ray: the same records, grouped by shard."""
    _ray()
    output = Path(output)
    langs = list(dict.fromkeys(check_language(lang) for lang in langs))
    backend, arg = parse_generator(generator)
    if output.exists():
        raise DataError(output, None, "exists: the ray engine writes it whole; remove it, or resume it with "
                        "--engine local")
    passages = _passages(corpus)
    align = options.get("batch_size", HFGenerator.batch_size) if backend == "hf" else 1
    parts = corpus_shards(passages, shards or workers, align)
    work = output.with_name(f".{output.name}.ray")
    plan = json.dumps({"corpus": str(Path(corpus).resolve()), "generator": generator, "langs": langs,
                       "options": options, "shards": [[p[0].docid, p[-1].docid, len(p)] for p in parts],
                       "docids": hashlib.sha256("\n".join(p.docid for p in passages).encode()).hexdigest()},
                      indent=1, ensure_ascii=False)
    if work.exists() and (not (work / "plan.json").exists() or (work / "plan.json").read_text() != plan):
        shutil.rmtree(work)  # another run's shards: start over
    work.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(parts):
        _write_corpus(part, work / f"corpus-{i:05d}.jsonl")
    if backend == "file":
        check_coverage(arg, Shard(corpus, [p.docid for p in passages]), langs)
        split_queries(arg, parts, work, langs)
    write_text_atomic(work / "plan.json", plan)
    with session(address, workers) as ray:
        _run(ray, _Generate, {"work": str(work), "generator": generator, "langs": langs, "options": options},
             len(parts), workers, options.get("device", "cpu"), progress)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as out:
        for i in range(len(parts)):
            with open(work / f"part-{i:05d}.jsonl", "rb") as part:
                shutil.copyfileobj(part, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, output)
    shutil.rmtree(work)
    return output


class _Encode:
    """One encoder replica (loaded once): a dense or xQG index of whole shards."""

    def __init__(self, work: str, embedder: dict, xqg: dict | None, title: bool):
        self.work, self.embedder, self.xqg, self.title = Path(work), Embedder(**embedder), xqg, title

    def __call__(self, batch: dict) -> dict:
        for i in batch["shard_id"]:
            corpus, index = self.work / f"corpus-{i:05d}.jsonl", self.work / f"index-{i:05d}"
            if self.xqg is None:
                dense.build_index(corpus, index, self.embedder, progress=False, title=self.title)
            else:  # the driver warns once for the whole corpus
                variant = xqg_index.Variant(index, self.xqg["a"], self.xqg["agg"], self.xqg["layout"],
                                            self.xqg["shrinkage"], calibrate=False)  # calibrated at the merge
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    xqg_index.build_indexes(corpus, self.work / f"queries-{i:05d}.jsonl", [variant], self.embedder,
                                            self.xqg["langs"], progress=False, title=self.title,
                                            sums_to=self.work / f"sums-{i:05d}.npz", noise=self.xqg["noise"],
                                            copies=self.xqg["copies"])
        return batch


def _merge_xqg(metas: list[dict]) -> dict:
    """xQG summaries of shards as one: counts summed, n per passage over all passages."""
    parts = [m["xqg"] for m in metas]
    generators = []
    for g in (g for p in parts for g in p["generator"]):
        if g not in generators:
            generators.append(g)
    languages = Counter()
    for p in parts:
        languages.update(p["languages"])
    queries, passages = sum(p["queries"] for p in parts), sum(m["passages"] for m in metas)
    n = [p["n_per_passage"] for p in parts]
    covered = Counter()
    for p in parts:
        covered.update(p["coverage"]["languages"])
    return {**parts[0], "generator": generators, "languages": dict(sorted(languages.items())), "queries": queries,
            "n_per_passage": {"min": min(x["min"] for x in n), "max": max(x["max"] for x in n),
                              "mean": queries / passages if passages else 0.0},
            "coverage": xqg_index.coverage(sum(p["coverage"]["passages"] for p in parts), passages,
                                           dict(sorted(covered.items())))}


def _offset(sums: list[Path]) -> np.ndarray:
    """``xqg.passage_offset`` over the whole corpus, from each shard's sums."""
    parts = [np.load(s) for s in sums]
    queries = sum(int(p["n_queries"]) for p in parts)
    mean_q = sum(p["queries"] for p in parts) / queries if queries else 0.0
    mean_p = sum(p["passages"] for p in parts) / sum(int(p["n_passages"]) for p in parts)
    return (mean_p - mean_q).astype(np.float32)


def merge_indexes(parts: list[Path], index: str | os.PathLike, corpus: str | os.PathLike, engine: dict,
                  counts: Counter | None = None, sums: list[Path] | None = None, noise: dict | None = None) -> Path:
    """Shard indexes, in order, as one Pyserini FAISS index at ``index`` (written atomically); with the
    generated ``counts`` per passage and the shards' ``sums``, the xQG rows are calibrated here.
    ``noise``: noisy xQG's summary over the whole corpus (``xqg.noise`` in meta.json)."""
    import faiss

    metas = [dense.read_meta(p) for p in parts]
    x = metas[0].get("xqg")
    offset = _offset(sums) if sums else None
    with atomic_dir(index) as out:
        flat = faiss.IndexFlatIP(metas[0]["dimension"])
        with open(out / "docid", "w", encoding="utf-8") as ids:
            for part in parts:
                shard_index = faiss.read_index(str(part / "index"))
                rows = shard_index.reconstruct_n(0, shard_index.ntotal)
                docids = (part / "docid").read_text(encoding="utf-8")
                if offset is not None:
                    n = np.array([counts[d] for d in docids.splitlines()])
                    rows = (rows + xqg_index.calibration(n, x["a"], x["agg"], x["layout"], x["shrinkage"],
                                                         offset)).astype(np.float32)
                flat.add(rows)
                ids.write(docids)
        faiss.write_index(flat, str(out / "index"))
        meta = {**metas[0], "passages": flat.ntotal, "corpus": str(corpus)}
        if "xqg" in meta:
            meta["xqg"] = {**_merge_xqg(metas), "calibrate": offset is not None, **({"noise": noise} if noise else {})}
        meta["engine"] = engine
        write_text_atomic(out / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return Path(index)


def encode(corpus: str | os.PathLike, index: str | os.PathLike, embedder: dict, xqg: str | os.PathLike | None = None,
           a: float = 0.01, agg: str = "auto", layout: str = "fused", langs: list[str] | None = None,
           workers: int = 2, shards: int | None = None, address: str | None = None,
           progress: bool = True, title: bool = True, shrinkage: float = 0.0, calibrate: bool = True,
           noise: Noise | None = None, copies: int = COPIES) -> Path:
    """A dense (or, with ``xqg``, an xQG) index of ``corpus`` encoded on Ray; ``embedder``: Embedder's arguments;
    ``noise``, ``copies``: noisy xQG (``xqg.build_indexes``)."""
    _ray()
    index = Path(index)
    passages = _passages(corpus)
    parts = corpus_shards(passages, shards or workers)
    if xqg is not None:
        xqg_index.Variant(index, a, agg, layout, shrinkage).check()
    models.resolve(embedder["model"], embedder.get("cache_dir"))  # the built-in model, prepared once here
    index.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{index.name}-ray-", dir=index.parent))
    try:
        for i, part in enumerate(parts):
            _write_corpus(part, work / f"corpus-{i:05d}.jsonl")
        options, made = None, Counter()
        if xqg is not None:
            counts = split_queries(xqg, parts, work, langs, noise, copies, made)
            agg = xqg_index.resolve_agg(agg, min(counts[p.docid] for p in passages),  # over the whole corpus,
                                      max(counts[p.docid] for p in passages))  # as the local engine decides
            xqg_index.Variant(index, a, agg, layout, shrinkage).check()  # shrinkage with an auto that became sum
            options = {"a": a, "agg": agg, "layout": layout, "langs": langs, "shrinkage": shrinkage, "noise": noise,
                       "copies": copies}
        with session(address, workers) as ray:
            _run(ray, _Encode, {"work": str(work), "embedder": embedder, "xqg": options, "title": title}, len(parts),
                 workers, embedder.get("device", "cpu"), progress)
        engine = {"name": "ray", "workers": workers, "shards": len(parts)}
        calibrated = xqg is not None and calibrate
        merged = merge_indexes([work / f"index-{i:05d}" for i in range(len(parts))], index, corpus, engine,
                               counts if calibrated else None,
                               [work / f"sums-{i:05d}.npz" for i in range(len(parts))] if calibrated else None,
                               copies_summary(noise, copies, made) if noise is not None else None)
        if xqg is not None:
            xqg_index.warn_partial(dense.read_meta(merged)["xqg"])
        return merged
    finally:
        shutil.rmtree(work, ignore_errors=True)
