"""``python -m pyserini_xqg bench``: the plugin against Pyserini's own tools, side by side, same data and model.

Sections (each prints a table; ``--json`` keeps every figure):
- ``encode``: passages/s and peak RSS of ``python -m pyserini.encode`` and of the plugin's ``encode`` with
  each runtime (torch; onnx where the onnx extra is installed), each a fresh process (peak RSS read from
  ``/proc``), with start-up taken out by a 1-passage run; then whether the speed target is met and, from the
  FLOP count, the ceiling: the passages/s and the ratio to ``pyserini.encode`` at 100% of a matmul;
- ``queries``: query encoding, Pyserini's ``AutoQueryEncoder`` (one query at a time, as
  ``FaissSearcher`` calls it) against the plugin's batched ``encode_batch``;
- ``augment``: generated-query encoding into the xQG accumulator (queries/s);
- ``flops``: bf16 and fp32 matrix-multiply FLOP/s here, and the encoder's useful FLOP/s as a fraction;
- ``search``: QPS at k = 10, 100, 1000 of raw faiss, the plugin's ``batch_search`` and Pyserini's
  ``FaissSearcher.batch_search`` on one flat index, with a check that the runs are the same;
- ``ann``: HNSW and IVF-PQ (faiss) recall@k against the flat index, and their QPS;
- ``generate``: tokens/s of the hf back end with a small mT5 built from a config;
- ``translate``: texts/s of greedy translation, transformers against CTranslate2, on one NLLB model
  (random weights in NLLB's architecture at 512 wide, 6 + 6 layers, unless ``--translator DIR``),
  converted with CTranslate2, and whether the two give the same outputs;
- ``memory``: peak RSS of xQG augmentation at 1x, 4x and 16x the generated queries and the corpus.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import jvm
from ..encode import models
from ..encode.embedder import Embedder, Recipe, passage_text
from ..generate.queries import HFGenerator, prompt, sample_top_k
from ..index import xqg
from ..io.collection import Passage, iter_corpus, load_topics
from ..io import provenance
from ..io.files import write_text_atomic
from ..io.runs import format_run, from_pyserini
from ..io.sample import Sample
from ..search import dense

# the encode section's targets (issue #22): plugin passages/s over pyserini.encode's, by the encoder's dtype
SPEEDUP_TARGETS = {"float32": 3.0, "bfloat16": 10.0}
SECTIONS = ("encode", "queries", "augment", "flops", "search", "ann", "generate", "translate", "memory", "train")
TRAIN_TARGET = 2.0  # the train section's target (issue #30): bf16 steps/s over fp32's, on a native-bf16 CPU
KS = (10, 100, 1000)


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM of a process: its peak resident memory since it started its program (``ru_maxrss`` would
    also count the parent's memory at fork)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _timed_process(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process, which must succeed; memory read every 50 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, peak_rss_mb(proc.pid))
        except OSError:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed:\n{proc.stderr.read().decode()[-2000:]}")
    return seconds, peak


DTYPE_LABELS = {"float32": "fp32", "bfloat16": "bf16"}


def _has_onnx() -> bool:
    """Whether ``--runtime onnx`` can run here (the onnx extra: onnx to export, onnxruntime to run)."""
    from importlib.util import find_spec

    return find_spec("onnx") is not None and find_spec("onnxruntime") is not None


def _read_vectors(index: Path, n: int) -> np.ndarray:
    import faiss

    return faiss.read_index(str(index / "index")).reconstruct_n(0, n)


def _table(title: str, header: list[str], rows: list[list]) -> str:
    lines = [f"\n### {title}\n", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cell = lambda c: c if isinstance(c, str) else f"{c:,}" if isinstance(c, int) else f"{c:,.1f}"  # noqa: E731
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


class Bench:
    """The shared inputs (corpus, topics, model) and one method per section."""

    def __init__(self, corpus: str, topics: list[str], work: Path, limit: int | None = None, log=print):
        self.work, self.log, self.figures = work, log, {}
        passages = list(iter_corpus(corpus))[:limit]
        self.corpus = work / "corpus.jsonl"  # one text field: both tools read "title text" the same way
        self.corpus.write_text("".join(json.dumps({"id": p.docid, "text": passage_text(p.text, p.title)},
                                                  ensure_ascii=False) + "\n" for p in passages), encoding="utf-8")
        (work / "one.jsonl").write_text(self.corpus.read_text(encoding="utf-8").splitlines(keepends=True)[0])
        self.passages = [passage_text(p.text, p.title) for p in passages]
        self.queries = [t for path in topics for t in load_topics(path).values()]
        self.model = models.resolve(models.BUILTIN_MODEL)

    def encode(self) -> str:
        from ..encode.dtype import resolve_dtype

        py = sys.executable
        pyserini = lambda corpus, out: [py, "-m", "pyserini_xqg", "pyserini", "encode", "input", "--corpus", corpus,  # noqa: E731
                                        "--fields", "text", "output", "--embeddings", out, "--to-faiss", "encoder",
                                        "--encoder", self.model, "--fields", "text", "--batch-size", "32",
                                        "--max-length", "512", "--dimension", "384", "--pooling", "mean", "--l2-norm",
                                        "--prefix", "passage:", "--device", "cpu"]
        plugin = lambda *options: lambda corpus, out: [py, "-m", "pyserini_xqg", "encode", "--corpus", corpus,  # noqa: E731
                                                       "--index", out, "--batch-size", "32", "--max-length", "512",
                                                       *options]
        tools = {"pyserini.encode": pyserini, "plugin encode": plugin()}
        if _has_onnx():  # the same fp32 weights in ONNX Runtime
            tools["plugin encode --runtime onnx"] = plugin("--runtime", "onnx", "--dtype", "fp32")
        n, rows, figures, vectors = len(self.passages), [], {}, {}
        for name, command in tools.items():
            self.log(f"encode: {name}")
            # start-up (imports, model load, writing an index) varies by seconds from run to run: the least of two
            t1 = min(_timed_process(command(str(self.work / "one.jsonl"), str(self.work / f"{name}-one{i}")))[0]
                     for i in range(2))
            tn, rss = _timed_process(command(str(self.corpus), str(self.work / name)))
            rate = (n - 1) / (tn - t1) if n > 1 and tn > t1 else n / tn
            vectors[name] = _read_vectors(self.work / name, n)
            cosine = float(np.sum(vectors[name] * vectors["pyserini.encode"], axis=1).min())
            figures[name] = {"seconds": tn, "startup_seconds": t1, "passages_per_s": rate, "peak_rss_mb": rss,
                             "min_cosine": cosine}
        base = figures["pyserini.encode"]["passages_per_s"]
        for name, f in figures.items():
            f["speedup"] = f["passages_per_s"] / base
            rows.append([name, n, f["seconds"], f["startup_seconds"], f["passages_per_s"], f"{f['speedup']:.2f}x",
                         f["peak_rss_mb"], f"{f['min_cosine']:.5f}"])
        best = max((name for name in figures if name != "pyserini.encode"), key=lambda k: figures[k]["speedup"])
        # what the best run took: onnx runs fp32, torch what --dtype auto is here
        dtype = "float32" if "onnx" in best else str(resolve_dtype("auto")).replace("torch.", "")
        why = self._encode_ceiling(figures[best]["passages_per_s"], base, dtype)
        self.figures["encode"] = {**figures, "speedup": figures["plugin encode"]["speedup"],
                                  "min_cosine": figures["plugin encode"]["min_cosine"], "best": best,
                                  "ceiling": why}
        return _table(f"Passage encoding: plugin {figures['plugin encode']['speedup']:.1f}x pyserini.encode "
                      f"(best: {best}, {figures[best]['speedup']:.1f}x); {why['line']}",
                      ["tool", "passages", "seconds", "start-up s", "passages/s (start-up out)", "x pyserini.encode",
                       "peak RSS MB", "min cosine to pyserini.encode"], rows)

    def train(self, train: str, steps: int) -> str:
        """Steps/s of ``train-encoder`` on ``train`` in fp32 and in bf16 (autocast), side by side: each the
        difference of a ``steps``-step and a 1-step run, so that start-up (imports, model load) is left out."""
        from ..encode.dtype import cpu_has_native_bf16

        command = lambda dtype, n, out: [sys.executable, "-m", "pyserini_xqg", "train-encoder", "--train", train,  # noqa: E731
                                         "--steps", str(n), "--dtype", dtype, "--output", str(self.work / out)]
        figures, rows = {}, []
        for dtype in ("fp32", "bf16"):
            self.log(f"train: {dtype}")
            one, _ = _timed_process(command(dtype, 1, f"train-{dtype}-1"))
            seconds, rss = _timed_process(command(dtype, steps, f"train-{dtype}"))
            rate = (steps - 1) / (seconds - one) if seconds > one else steps / seconds
            figures[dtype] = {"steps": steps, "seconds": seconds, "startup_seconds": one, "steps_per_s": rate,
                              "peak_rss_mb": rss}
        ratio = figures["bf16"]["steps_per_s"] / figures["fp32"]["steps_per_s"]
        native = cpu_has_native_bf16()
        verdict = (f"target {TRAIN_TARGET:.0f}x: {'met' if ratio >= TRAIN_TARGET else 'not met'}" if native else
                   "no native bf16 on this CPU: bf16 is emulated here, and auto trains in fp32; the target "
                   f"({TRAIN_TARGET:.0f}x) needs a native-bf16 CPU")
        self.figures["train"] = {**figures, "ratio": ratio, "native_bf16": native, "train": train}
        for dtype, f in figures.items():
            rows.append([dtype, steps, f["seconds"], f["startup_seconds"], f"{f['steps_per_s']:.3f}",
                         f"{f['steps_per_s'] / figures['fp32']['steps_per_s']:.2f}x", f["peak_rss_mb"]])
        return _table(f"Training (train-encoder on {Path(train).name}): bf16 {ratio:.2f}x fp32 steps/s; {verdict}",
                      ["dtype", "steps", "seconds", "start-up s", "steps/s (start-up out)", "x fp32", "peak RSS MB"],
                      rows)

    def _matmul_peak(self, windows: int = 4) -> dict[str, float]:
        """FLOP/s of a 1024^3 matrix multiply in bf16 and fp32 with torch's threads, measured once: the best of
        ``windows`` windows of at least 0.5 s, so that another process busy for a moment does not lower it."""
        if not hasattr(self, "_peak"):
            import torch

            self._peak = {}
            for dtype in (torch.bfloat16, torch.float32):
                x = torch.randn(1024, 1024, dtype=dtype)
                torch.matmul(x, x)
                best = 0.0
                for _ in range(windows):
                    reps, start = 0, time.perf_counter()
                    while time.perf_counter() - start < 0.5:
                        torch.matmul(x, x)
                        reps += 1
                    best = max(best, 2 * 1024 ** 3 * reps / (time.perf_counter() - start))
                self._peak[str(dtype).split(".")[1]] = best
        return self._peak

    @functools.cached_property
    def embedder(self) -> Embedder:
        """The built-in encoder as the plugin runs it here, loaded once for every in-process section."""
        return Embedder(models.BUILTIN_MODEL)

    def _useful_flops(self) -> float:
        """FLOPs of encoding the passages without padding: the layers' matmuls and attention (no embeddings)."""
        embedder = self.embedder
        texts = [embedder.recipe.passage_prefix + t for t in self.passages]
        lengths = [len(ids) for ids in embedder.tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
        cfg = embedder.model.config
        d, layers = cfg.hidden_size, cfg.num_hidden_layers
        return sum(layers * (2 * n * (4 * d * d + 2 * d * cfg.intermediate_size) + 4 * n * n * d) for n in lengths)

    def _encode_ceiling(self, rate: float, base: float, dtype: str) -> dict:
        """Whether ``rate`` (passages/s) meets the speed target over ``base`` (pyserini.encode's), and why not:
        the share of a ``dtype`` matmul the encoder reaches, and the passages/s and ratio at 100% of it."""
        per_passage = self._useful_flops() / len(self.passages)
        peak = self._matmul_peak()[dtype]
        share, ceiling = rate * per_passage / peak, peak / per_passage
        target, label = SPEEDUP_TARGETS.get(dtype, SPEEDUP_TARGETS["float32"]), DTYPE_LABELS.get(dtype, dtype)
        speedup = rate / base
        head = f"target {target:g}x ({label}): {'met' if speedup >= target else 'missed'}"
        line = (f"{head}: at {share:.0%} of the {label} matmul ({peak / 1e9:.0f} GFLOP/s, "
                f"{per_passage / 1e9:.1f} GFLOP a passage) the ceiling is {ceiling:.1f} passages/s = "
                f"{ceiling / base:.1f}x pyserini.encode, so {target:g}x needs {target * base * per_passage / peak:.0%} "
                f"of the matmul")
        if share > 1:  # the matmul was timed at a slower moment than the encoder: the figures cannot be compared
            line += (" (above 100%: this machine ran the matmul slower than the encoder's matmuls, so its speed "
                     "varies from moment to moment; rerun the bench on a quiet machine)")
        return {"target": target, "met": speedup >= target, "dtype": dtype, "share_of_matmul": share,
                "matmul_flops": peak, "flops_per_passage": per_passage, "ceiling_passages_per_s": ceiling,
                "ceiling_speedup": ceiling / base, "line": line}

    def query_encoding(self) -> str:
        jvm.start()
        from pyserini.encode import AutoQueryEncoder

        theirs = AutoQueryEncoder(self.model, pooling="mean", l2_norm=True, prefix="query:")
        ours = self.embedder
        sample = self.queries[:200]
        start = time.perf_counter()
        b = np.stack([theirs.encode(q) for q in sample])
        pyserini_rate = len(sample) / (time.perf_counter() - start)
        start = time.perf_counter()
        a = ours.queries(self.queries)
        plugin_rate = len(self.queries) / (time.perf_counter() - start)
        cos = float(np.min(np.sum(a[:len(sample)] * b, axis=1)))
        self.figures["queries"] = {"plugin_dtype": str(ours.dtype).split(".")[1],
                                   "pyserini_per_s": pyserini_rate, "plugin_per_s": plugin_rate,
                                   "speedup": plugin_rate / pyserini_rate, "min_cosine": cos}
        return _table(f"Query encoding: plugin {plugin_rate / pyserini_rate:.1f}x Pyserini (cosine >= {cos:.5f})",
                      ["encoder", "queries", "queries/s"],
                      [["Pyserini AutoQueryEncoder, one at a time", len(sample), pyserini_rate],
                       ["plugin QueryEncoder.encode_batch", len(self.queries), plugin_rate]])

    def augment(self, generated: str) -> str:
        rows = {p.docid: i for i, p in enumerate(iter_corpus(self.corpus))}
        start = time.perf_counter()
        _, counts, summary = xqg.accumulate(generated, rows, self.embedder, self.work, progress=False)
        seconds = time.perf_counter() - start
        self.figures["augment"] = {"queries": summary["queries"], "seconds": seconds,
                                   "queries_per_s": summary["queries"] / seconds}
        return _table("Generated-query encoding into the xQG accumulator", ["queries", "seconds", "queries/s"],
                      [[summary["queries"], seconds, summary["queries"] / seconds]])

    def flops(self) -> str:
        peak = self._matmul_peak()
        embedder = self.embedder
        texts = [embedder.recipe.passage_prefix + t for t in self.passages]
        useful = self._useful_flops()
        start = time.perf_counter()
        embedder.embed(texts, 512)
        achieved = useful / (time.perf_counter() - start)
        dtype = str(embedder.dtype).split(".")[1]
        self.figures["flops"] = {"matmul_flops": peak, "encoder_flops": achieved, "encoder_dtype": dtype,
                                 "fraction_of_bf16": achieved / peak["bfloat16"],
                                 "fraction_of_own_dtype": achieved / peak[dtype]}
        from ..encode.dtype import cpu_has_native_bf16

        if cpu_has_native_bf16():
            why = "native bf16 here" if dtype == "bfloat16" else "fp32 asked for"
        else:
            why = ("no native bf16 here, forced by the dtype override: emulated" if dtype == "bfloat16"
                   else "no native bf16 here, so the encoder runs fp32")
        also = f" and {achieved / peak['bfloat16']:.0%} of a bf16 matmul" if dtype != "bfloat16" else ""
        return _table(f"FLOP/s: the encoder ({dtype}; {why}) reaches {achieved / peak[dtype]:.0%} of a {dtype} "
                      f"matmul{also} on this CPU",
                      ["what", "GFLOP/s"], [["bf16 matmul 1024^3", peak["bfloat16"] / 1e9],
                                            ["fp32 matmul 1024^3", peak["float32"] / 1e9],
                                            [f"encoder, useful FLOPs ({dtype})", achieved / 1e9]])

    def _flat(self, n: int, dim: int = 384, queries: int = 1000, seed: int = 0):
        """A plugin/Pyserini index folder of ``n`` unit vectors in ``n // 100`` clusters, and queries near some."""
        import faiss

        rng = np.random.default_rng(seed)
        centres = rng.standard_normal((max(1, n // 100), dim), dtype=np.float32)
        x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        q = x[rng.choice(n, queries, replace=False)] + 0.5 * rng.standard_normal((queries, dim), dtype=np.float32) / dim ** 0.5
        folder = self.work / f"flat-{n}"
        folder.mkdir(exist_ok=True)
        flat = faiss.IndexFlatIP(dim)
        flat.add(x)
        faiss.write_index(flat, str(folder / "index"))
        (folder / "docid").write_text("".join(f"d{i}\n" for i in range(n)))
        return folder, flat, x, np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True))

    def search(self, n: int) -> str:
        jvm.start()
        from pyserini.encode import QueryEncoder as NoEncoder

        folder, flat, _, q = self._flat(n)
        qids = [f"q{i}" for i in range(len(q))]
        pyserini = dense.searcher(folder, NoEncoder())
        rows, figures = [], {}
        for k in KS:
            calls = {"raw": lambda: flat.search(q, k), "plugin": lambda: dense.batch_search(folder, qids, q, k),
                     "pyserini": lambda: pyserini.batch_search(q, qids, k=k, threads=2)}
            best, out = {name: float("inf") for name in calls}, {}
            for _ in range(4):  # interleaved rounds, best of each after the first (warm-up)
                for name, fn in calls.items():
                    start = time.perf_counter()
                    out[name] = fn()
                    best[name] = min(best[name], time.perf_counter() - start) if _ else best[name]
            raw, ours, theirs = (len(q) / best[name] for name in calls)
            ranking, hits = out["plugin"], out["pyserini"]
            start = time.perf_counter()
            text = format_run(ranking, "bench")
            write_rate = len(q) * k / (time.perf_counter() - start)
            same = text == format_run(from_pyserini(hits, qids), "bench", k)
            figures[k] = {"raw_faiss_qps": raw, "plugin_qps": ours, "pyserini_qps": theirs,
                          "plugin_vs_raw": ours / raw, "pyserini_vs_raw": theirs / raw, "same_run": same,
                          "run_lines_per_s": write_rate}
            rows.append([str(k), raw, ours, theirs, f"{ours / raw:.2f}", f"{theirs / raw:.2f}", write_rate, str(same)])
        self.figures["search"] = {"passages": n, "queries": len(q), "threads": 2, "by_k": figures}
        return _table(f"Search: flat index of {n:,} clustered unit vectors (dim 384), {len(q)} queries, 2 threads",
                      ["k", "raw faiss QPS", "plugin QPS", "Pyserini QPS", "plugin/raw", "Pyserini/raw",
                       "run lines written/s", "same run"], rows)

    def ann(self, n: int) -> str:
        import faiss

        folder, flat, x, q = self._flat(n)
        _, truth = flat.search(q, 100)
        rows, figures = [], {}
        for spec in ("HNSW32", "IVF256,PQ32"):
            index = faiss.index_factory(x.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
            if spec.startswith("IVF"):
                faiss.downcast_index(faiss.extract_index_ivf(index)).do_polysemous_training = False  # minutes, unused
            start = time.perf_counter()
            index.train(x[:20_000])
            index.add(x)
            build = time.perf_counter() - start
            if spec.startswith("IVF"):
                index.nprobe = 32
            else:
                index.hnsw.efSearch = 128
            start = time.perf_counter()
            _, found = index.search(q, 100)
            qps = len(q) / (time.perf_counter() - start)
            recall = {k: float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)])) for k in (10, 100)}
            figures[spec] = {"build_seconds": build, "qps_k100": qps, "recall": recall}
            rows.append([spec, build, qps, f"{recall[10]:.3f}", f"{recall[100]:.3f}"])
        self.figures["ann"] = {"passages": n, **figures}
        return _table(f"Approximate indexes against the flat index ({n:,} clustered vectors, 1000 queries)",
                      ["faiss index", "build s", "QPS at k=100", "recall@10", "recall@100"], rows)

    def generate(self) -> str:
        import torch
        from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration

        path = self.work / "mt5-small-random"
        torch.manual_seed(0)
        config = MT5Config(vocab_size=250002, d_model=256, d_kv=32, d_ff=512, num_layers=4, num_decoder_layers=4,
                           num_heads=4, pad_token_id=1, eos_token_id=2, decoder_start_token_id=1)
        MT5ForConditionalGeneration(config).save_pretrained(path)
        AutoTokenizer.from_pretrained(self.model).save_pretrained(path)
        gen = HFGenerator(str(path), n=5, max_new_tokens=32, batch_size=8)
        tokenizer, model, _ = gen._load()
        passages = [Passage(f"p{i}", t) for i, t in enumerate(self.passages[:16])]
        batches = [tokenizer([prompt(gen.template, "sw", p) for p in passages[i:i + 8]], padding=True,
                             truncation=True, max_length=gen.max_length, return_tensors="pt")
                   for i in range(0, len(passages), 8)]
        sample_top_k(model, dict(batches[0]), gen.n, gen.top_k, 2)  # warm-up
        start, tokens = time.perf_counter(), 0
        for enc in batches:  # the back end's decoding loop, as HFGenerator.generate runs it
            out = sample_top_k(model, dict(enc), gen.n, gen.top_k, gen.max_new_tokens)[:, 1:]
            after_eos = (out == config.eos_token_id).long().cumsum(1) - (out == config.eos_token_id).long()
            tokens += int((after_eos == 0).sum())  # every sampled token up to and including EOS
        seconds = time.perf_counter() - start
        self.figures["generate"] = {"passages": len(passages), "queries": len(passages) * gen.n, "tokens": tokens,
                                    "tokens_per_s": tokens / seconds}
        params = sum(p.numel() for p in model.parameters()) / 1e6
        return _table(f"Generation, hf back end: a small mT5 ({params:.0f}M parameters, random weights), {len(passages)} passages "
                      f"x {gen.n} queries, top-k {gen.top_k}, up to {gen.max_new_tokens} tokens",
                      ["queries", "tokens", "seconds", "tokens/s"],
                      [[len(passages) * gen.n, tokens, seconds, tokens / seconds]])

    def _random_nllb(self, folder: Path) -> Path:
        """NLLB's architecture at 512 wide, 6 + 6 layers, FFN 2048, with random weights and a SentencePiece
        vocabulary trained here on the sample (no NLLB weights are offline)."""
        import io

        import sentencepiece as spm
        import torch
        from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer
        from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

        model = io.BytesIO()
        spm.SentencePieceTrainer.train(sentence_iterator=iter(self.passages + self.queries), model_writer=model,
                                       vocab_size=2000, model_type="bpe", character_coverage=0.99,
                                       hard_vocab_limit=False, minloglevel=2)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sentencepiece.bpe.model").write_bytes(model.getvalue())
        tokenizer = NllbTokenizer.from_pretrained(folder, extra_special_tokens=FAIRSEQ_LANGUAGE_CODES)
        torch.manual_seed(0)
        config = M2M100Config(vocab_size=len(tokenizer), d_model=512, encoder_layers=6, decoder_layers=6,
                              encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
                              decoder_ffn_dim=2048, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
                              scale_embedding=True, tokenizer_class="NllbTokenizer")
        M2M100ForConditionalGeneration(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder

    def translate(self, translator: str | None = None, count: int = 200, target: str = "ha") -> str:
        """Greedy English -> ``target`` translation of ``count`` sample queries with both back ends."""
        import ctranslate2
        import torch

        from ..translate import Decoding, load_translator

        s = Sample()
        english = [t for lang in s.languages for t in load_topics(s.topics("dev", lang, english=True)).values()]
        texts = (english * (count // len(english) + 1))[:count]
        folder = Path(translator) if translator else self._random_nllb(self.work / "nllb-random")
        converted = self.work / "nllb-ct2"
        keep = [p.name for p in folder.iterdir() if p.is_file() and p.name != "config.json"
                and not p.name.startswith(("model", "pytorch_model"))]  # the tokenizer and generation settings
        ctranslate2.converters.TransformersConverter(str(folder), copy_files=keep).convert(str(converted), force=True)
        decoding = Decoding(max_new_tokens=32, batch_size=16)
        rows, figures, outputs = [], {}, {}
        for name, model in (("transformers", str(folder)), ("ctranslate2", f"ct2:{converted}")):
            tr = load_translator(model)
            if name == "transformers":
                params = sum(p.numel() for p in tr.net.parameters()) / 1e6
            tr.token_ids(texts[:4], "en", target, decoding, progress=False)  # warm-up
            start = time.perf_counter()
            outputs[name] = tr.token_ids(texts, "en", target, decoding, progress=False)
            seconds = time.perf_counter() - start
            tokens = sum(len(c[0]) for c in outputs[name])
            figures[name] = {"seconds": seconds, "texts_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds}
            rows.append([name, len(texts), tokens, seconds, len(texts) / seconds])
        same = sum(a == b for a, b in zip(outputs["transformers"], outputs["ctranslate2"]))
        ratio = figures["ctranslate2"]["texts_per_s"] / figures["transformers"]["texts_per_s"]
        model, threads = translator or f"NLLB architecture, {params:.0f}M random weights", torch.get_num_threads()
        self.figures["translate"] = {**figures, "texts": len(texts), "ratio": ratio, "same_outputs": same,
                                     "model": model, "threads": threads}
        return _table(f"Translation, greedy en -> {target}, {len(texts)} sample queries, up to {decoding.max_new_tokens} "
                      f"tokens, batches of {decoding.batch_size}, {threads} thread{'s' * (threads > 1)} ({model}): "
                      f"CTranslate2 {ratio:.1f}x transformers, the same output for {same} of {len(texts)}",
                      ["back end", "texts", "tokens", "seconds", "texts/s"], rows)

    def memory(self, base: int, scales=((1, 1), (1, 4), (1, 16), (4, 1), (16, 1))) -> str:
        """Peak RSS at (corpus, queries per passage) ``scales`` times ``base`` passages with 2 queries each."""
        rows, figures = [], []
        for corpus_scale, query_scale in scales:
            passages, per_passage = corpus_scale * base, 2 * query_scale
            out = subprocess.run([sys.executable, "-m", "pyserini_xqg.apps.bench", "--memory-child", str(self.work),
                                  str(passages), str(per_passage)], check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            figures.append(r)
            rows.append([r["passages"], r["queries"], r["peak_rss_mb"], r["seconds"]])
        self.figures["memory"] = figures
        return _table("Peak RSS of xQG augmentation (fresh process each; small random BERT)",
                      ["passages", "generated queries", "peak RSS MB", "seconds"], rows)


def memory_child(work: Path, passages: int, per_passage: int) -> None:
    """One augmentation in this process; prints its peak RSS as JSON."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    model = work / "tiny-bert"
    if not model.exists():
        torch.manual_seed(0)
        config = BertConfig(vocab_size=250037, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=128, max_position_embeddings=128, pad_token_id=1)
        BertModel(config, add_pooling_layer=False).save_pretrained(model)
        XLMRobertaTokenizerFast(tokenizer_file=str(models._sources()[1]), model_max_length=128).save_pretrained(model)
    corpus, generated = work / f"corpus-{passages}.jsonl", work / f"queries-{passages}-{per_passage}.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "contents": f"Passage {i} about the river number {i % 97}."})
                              + "\n" for i in range(passages)))
    with open(generated, "w") as f:
        for i in range(passages):
            f.write(json.dumps({"docid": f"p{i}", "lang": "sw",
                                "queries": [f"Mto namba {i % 97} uko wapi {k}?" for k in range(per_passage)]}) + "\n")
    embedder = Embedder(str(model), Recipe(pooling="mean", l2_norm=True), dtype="fp32", batch_size=64)
    start = time.time()
    xqg.build_index(corpus, generated, work / f"index-{passages}-{per_passage}", embedder, agg="mean", a=0.3,
                        progress=False)
    print(json.dumps({"passages": passages, "queries": passages * per_passage, "seconds": time.time() - start,
                      "peak_rss_mb": peak_rss_mb()}))


def run_bench(corpus: str | None = None, topics: list[str] | None = None, generated: str | None = None,
        sections=SECTIONS, limit: int | None = None, search_passages: int = 100_000, memory_base: int = 500,
        output: str | None = None, log=print, translator: str | None = None, argv: list[str] | None = None,
        train: str = "sample", train_steps: int = 10) -> dict:
    """Run the chosen sections (default: all, on the built-in sample) and print their tables; with ``output``,
    write every figure there (JSON) and the tables beside it (``.md``, with the run's record, one ``## NAME``
    section per section run, so that ``pages`` can quote one)."""
    started, run = time.time(), provenance.record(argv)
    tables = []
    s = Sample()
    corpus = corpus or str(s.corpus)
    topics = topics or [str(s.topics("dev", lang)) for lang in s.languages]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown bench sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    with tempfile.TemporaryDirectory(prefix="pyserini-xqg-bench-") as tmp:
        bench = Bench(corpus, topics, Path(tmp), limit, log)
        if generated is None and corpus == str(s.corpus):  # the sample's reference queries, for the passages kept
            keep = {json.loads(line)["id"] for line in bench.corpus.read_text(encoding="utf-8").splitlines()}
            generated = str(Path(tmp) / "generated.jsonl")
            Path(generated).write_text("".join(line for line in open(s.reference_queries, encoding="utf-8")
                                               if json.loads(line)["docid"] in keep), encoding="utf-8")
        calls = {"encode": bench.encode, "queries": bench.query_encoding, "augment": lambda: bench.augment(generated),
                 "flops": bench.flops, "search": lambda: bench.search(search_passages),
                 "ann": lambda: bench.ann(min(search_passages, 50_000)), "generate": bench.generate,
                 "translate": lambda: bench.translate(translator), "memory": lambda: bench.memory(memory_base),
                 "train": lambda: bench.train(train, train_steps)}
        log(f"bench: {len(bench.passages)} passages from {corpus}, {len(bench.queries)} queries, {os.cpu_count()} CPUs")
        for name in sections:
            if name == "augment" and generated is None:
                log("\n(augment skipped: give --generated for a corpus other than the sample)")
                continue
            began = time.perf_counter()
            tables.append((name, calls[name]() + f"\n({time.perf_counter() - began:.0f} s)"))
            log(tables[-1][1])
    if output:
        run["seconds"] = round(time.time() - started)
        write_text_atomic(output, json.dumps({**bench.figures, "run": run}, indent=1, default=str) + "\n")
        write_text_atomic(Path(output).with_suffix(".md"), provenance.header(run) + f"# bench: {len(bench.passages)} "
                          f"passages from {corpus}, {len(bench.queries)} queries\n\n"  # a section per name, for pages
                          + "\n\n".join(f"## {name}\n{table}" for name, table in tables) + "\n")
    return bench.figures


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--memory-child":
    memory_child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
