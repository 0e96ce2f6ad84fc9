"""int8 encoding against fp32, with issue #30's quality gate (run by hand; not a unit test).

Each candidate is a library's own int8 path applied to the built-in encoder (mE5-small), never a
hand-written quantiser: torch's ``quantize_dynamic`` on ``nn.Linear`` (per-tensor, and per-channel), and
ONNX Runtime's ``quantize_dynamic`` on the plugin's own ONNX export (``encode.runtime.exported``) with
per-tensor or per-channel weights, QInt8 or QUInt8, reduce_range, only MatMuls (the embedding table left
fp32), and the FFN output MatMuls left fp32. For each it reports the minimum and mean cosine of the first
``--passages`` XQuAD passages to their fp32 vectors, and passages/s (median of ``--repeats``, one process,
torch's thread count).

The gate: a minimum cosine of 0.99 or more, then nDCG@10 on AfriQA dev (six languages, 5,361 passages,
no titles, queries and passages both encoded by the path) within 0.005 of fp32. nDCG is measured only for
the passing path with the highest minimum cosine (``--ndcg NAME`` picks one, ``--ndcg none`` skips it), against
fp32 through ONNX Runtime (the same vectors as torch to ~1e-7, and faster on a loaded machine).

    python benchmarks/int8.py --output runs/int8 [--xquad ../shared/data/xquad] [--afriqa ../shared/data/afriqa]

Writes ``OUTPUT/report.md`` (with the run's record, for ``pages``) and ``OUTPUT/report.json``; the
quantised models and indexes stay under OUTPUT.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from pyserini_xqg.encode.embedder import Embedder
from pyserini_xqg.encode.models import BUILTIN_MODEL
from pyserini_xqg.encode.runtime import OnnxForward, exported, forward_for
from pyserini_xqg.eval.evaluation import evaluate
from pyserini_xqg.index import dense
from pyserini_xqg.io import provenance
from pyserini_xqg.io.collection import iter_corpus, load_language_topics
from pyserini_xqg.io.files import write_text_atomic
from pyserini_xqg.search.dense import batch_search

AFRIQA_LANGS = ("bem", "ha", "ig", "rw", "tw", "zu")
MIN_COSINE, NDCG_POINTS = 0.99, 0.005


def torch_int8(per_channel: bool):
    """torch.ao's dynamic quantisation of every nn.Linear (int8 weights, activations quantised per batch)."""
    def make(embedder: Embedder, out: Path):
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        model = quantize_dynamic(copy.deepcopy(embedder.model), {torch.nn.Linear: qconfig}, dtype=torch.qint8)
        return forward_for("torch", model, embedder.path, embedder.dtype, embedder.device)
    return make


def fused(embedder: Embedder, out: Path) -> Path:
    """The plugin's export after ONNX Runtime's transformer optimizer (attention, LayerNorm and GELU fused)."""
    from onnxruntime.transformers.optimizer import optimize_model

    target = out / "models" / "fp32-fused.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        config = embedder.model.config
        optimize_model(str(exported(embedder.model, embedder.path)), model_type="bert", opt_level=1,
                       num_heads=config.num_attention_heads, hidden_size=config.hidden_size).save_model_to_file(str(target))
    return target


def ort_int8(name: str, **options):
    """ONNX Runtime's quantize_dynamic on the plugin's fp32 export (``fuse_first``: after the transformer optimizer);
    ``ffn_out_fp32`` leaves the FFN output MatMuls (``.../output/dense/MatMul``, whose inputs are the GELU outputs)
    unquantised."""
    def make(embedder: Embedder, out: Path):
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        opts = dict(options)
        source = exported(embedder.model, embedder.path)
        if opts.pop("fuse_first", False):  # fused ops are com.microsoft ones, which shape inference cannot type
            source, opts["extra_options"] = fused(embedder, out), {"DefaultTensorType": onnx.TensorProto.FLOAT}
        target = out / "models" / f"{name}.onnx"
        target.parent.mkdir(parents=True, exist_ok=True)
        opts["weight_type"] = getattr(QuantType, opts.get("weight_type", "QInt8"))
        if opts.pop("ffn_out_fp32", False):
            opts["nodes_to_exclude"] = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node
                                        if n.op_type == "MatMul" and "/output/dense/" in n.name
                                        and "/attention/" not in n.name]
        quantize_dynamic(str(source), str(target), **opts)
        return OnnxForward(target)
    return make


def onnx_fp32(embedder: Embedder, out: Path):
    return OnnxForward(exported(embedder.model, embedder.path))


# name -> (library call, how to build its forward)
CANDIDATES = {
    "torch fp32 (reference)": ("transformers, fp32", lambda embedder, out: embedder.forward),
    "onnx fp32": ("ONNX Runtime, the plugin's export (`--runtime onnx`)", onnx_fp32),
    "torch int8": ("`torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8)`", torch_int8(False)),
    "torch int8 per-channel": ("the same with `per_channel_dynamic_qconfig`", torch_int8(True)),
    "ort int8": ("`onnxruntime.quantization.quantize_dynamic(per_channel=False)`", ort_int8("ort-int8")),
    "ort int8 per-channel": ("`quantize_dynamic(per_channel=True)`", ort_int8("ort-int8-pc", per_channel=True)),
    "ort int8 per-channel reduce_range": ("`quantize_dynamic(per_channel=True, reduce_range=True)`",
                                          ort_int8("ort-int8-pc-rr", per_channel=True, reduce_range=True)),
    "ort uint8 per-channel": ("`quantize_dynamic(per_channel=True, weight_type=QUInt8)`",
                              ort_int8("ort-uint8-pc", per_channel=True, weight_type="QUInt8")),
    "ort int8 per-channel, MatMul only": ("`quantize_dynamic(per_channel=True, op_types_to_quantize=['MatMul'])`: "
                                          "the embedding table stays fp32",
                                          ort_int8("ort-int8-pc-matmul", per_channel=True,
                                                   op_types_to_quantize=["MatMul"])),
    "ort int8 per-channel, MatMul only, FFN output fp32": (
        "the same with `nodes_to_exclude` = the 12 FFN output MatMuls",
        ort_int8("ort-int8-pc-matmul-ffn", per_channel=True, op_types_to_quantize=["MatMul"], ffn_out_fp32=True)),
    "onnx fp32 fused": ("`onnxruntime.transformers.optimizer.optimize_model(model_type='bert')` on the export",
                        lambda embedder, out: OnnxForward(fused(embedder, out))),
    "ort int8 fused per-channel reduce_range": (
        "`optimize_model`, then `quantize_dynamic(per_channel=True, reduce_range=True)`",
        ort_int8("ort-int8-fused-pc-rr", fuse_first=True, per_channel=True, reduce_range=True)),
    "ort uint8 fused per-channel": ("`optimize_model`, then `quantize_dynamic(per_channel=True, weight_type=QUInt8)`",
                                    ort_int8("ort-uint8-fused-pc", fuse_first=True, per_channel=True,
                                             weight_type="QUInt8")),
}
REFERENCE = "torch fp32 (reference)"


def timed(embedder: Embedder, texts: list[str], repeats: int) -> tuple[np.ndarray, float]:
    """The passages' vectors and the median passages/s over ``repeats`` runs (after one short warm-up)."""
    embedder.passages(texts[:4])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        vectors = embedder.passages(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return vectors, statistics.median(rates)


def afriqa_ndcg(embedder: Embedder, data: Path, index: Path) -> dict[str, float]:
    """nDCG@10 per language and macro-averaged ("avg") on AfriQA dev, both sides encoded by ``embedder``."""
    dense.build_index(data / "corpus.jsonl", index, embedder, progress=False, title=False)
    topics = load_language_topics({lang: data / f"queries.{lang}.tsv" for lang in AFRIQA_LANGS})
    qid_lang = {q: lang for lang in topics for q in topics[lang]}
    qids = list(qid_lang)
    vectors = embedder.queries([topics[qid_lang[q]][q] for q in qids])
    run = batch_search(index, qids, vectors, 100)
    return evaluate({"run": run}, qid_lang, data / "qrels.txt", measures=("nDCG@10",)).table("nDCG@10")["run"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xquad", default="../shared/data/xquad")
    ap.add_argument("--afriqa", default="../shared/data/afriqa")
    ap.add_argument("--output", default="runs/int8")
    ap.add_argument("--passages", type=int, default=96, help="the first N XQuAD passages (96)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    ap.add_argument("--ndcg", default="auto",
                    help="the path whose AfriQA nDCG@10 is measured: auto (the passing path with the highest "
                         "minimum cosine), none, or a candidate's name")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    texts = [p.text for p in islice(iter_corpus(Path(args.xquad) / "corpus.jsonl"), args.passages)]
    embedder = Embedder(BUILTIN_MODEL, dtype="fp32")
    fp32_forward = embedder.forward
    rows, forwards = {}, {}
    reference = None
    for name in dict.fromkeys([REFERENCE, *args.candidates]):
        call, make = CANDIDATES[name]
        embedder.forward = forwards[name] = make(embedder, out)
        vectors, rate = timed(embedder, texts, args.repeats)
        reference = vectors if reference is None else reference
        cosines = (vectors * reference).sum(1)
        rows[name] = {"call": call, "min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean()),
                      "passages_per_s": rate}
        print(f"{name}: min cosine {cosines.min():.4f}, mean {cosines.mean():.4f}, {rate:.1f} passages/s", flush=True)
    embedder.forward = fp32_forward
    base = rows[REFERENCE]["passages_per_s"]

    quantised = {n: r for n, r in rows.items() if "int8" in n}
    passing = sorted((n for n, r in quantised.items() if r["min_cosine"] >= MIN_COSINE),
                     key=lambda n: -rows[n]["min_cosine"])
    # fp32 through ONNX Runtime where measured: the same vectors as torch (to ~1e-7), faster on a loaded machine
    fp32 = "onnx fp32" if "onnx fp32" in forwards else REFERENCE
    chosen = None if args.ndcg == "none" else (passing[0] if passing else None) if args.ndcg == "auto" else args.ndcg
    ndcg = {}
    if chosen:
        data = Path(args.afriqa)
        for name in (fp32, chosen):
            embedder.forward = forwards[name]
            ndcg[name] = afriqa_ndcg(embedder, data, out / "afriqa" / name.replace(" ", "-"))
            print(f"{name}: AfriQA dev nDCG@10 {ndcg[name]['avg']:.4f}", flush=True)
        embedder.forward = fp32_forward

    lines = [f"The built-in encoder on the first {len(texts)} passages of XQuAD's corpus; speed is passages/s in one "
             f"process at {torch.get_num_threads()} threads, the median of {args.repeats} runs. On a shared 2-core "
             "machine speed is indicative only; the cosines do not depend on load.\n",
             "## Cosine to fp32\n",
             "| path | library call | min cosine | mean cosine | passages/s | x fp32 | cosine gate (>= 0.99) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name, r in rows.items():
        gate = ("pass" if r["min_cosine"] >= MIN_COSINE else "fail") if name in quantised else "-"
        lines.append(f"| {name} | {r['call']} | {r['min_cosine']:.4f} | {r['mean_cosine']:.5f} | "
                     f"{r['passages_per_s']:.1f} | {r['passages_per_s'] / base:.2f} | {gate} |")
    lines.append("")
    lines.append("## AfriQA dev\n")
    if ndcg:
        langs = [k for k in ndcg[fp32] if k != "avg"]
        lines += ["| path | " + " | ".join(langs) + " | avg | difference to fp32 | gate (within 0.005) |",
                  "|---|" + "---:|" * (len(langs) + 2) + "---|"]
        for name, row in ndcg.items():
            diff = row["avg"] - ndcg[fp32]["avg"]
            gate = "-" if name == fp32 else "pass" if abs(diff) <= NDCG_POINTS else "fail"
            lines.append(f"| {name} | " + " | ".join(f"{row[k]:.4f}" for k in langs) +
                         f" | {row['avg']:.4f} | {diff:+.4f} | {gate} |")
        lines.append("")
    else:
        lines.append("Not measured: " + ("no int8 path reached the cosine gate." if args.ndcg == "auto"
                                          else "`--ndcg none`.") + "\n")
    lines.append(f"wall time: {time.time() - started:.0f} s\n")
    text = "\n".join(lines)
    run = {**provenance.record(program=f"python {sys.argv[0]}"), "seconds": round(time.time() - started)}
    write_text_atomic(out / "report.md", provenance.header(run) + text)
    write_text_atomic(out / "report.json", json.dumps({"run": run, "xquad": rows, "afriqa_ndcg@10": ndcg}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
