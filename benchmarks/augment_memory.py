"""Peak memory of xQG augmentation as generated queries and corpus grow (run by hand).

Each configuration runs ``augment.build_index`` in a fresh process and reports its peak
RSS (``ru_maxrss``). A small random BERT (built from a config, XLM-R tokenizer) keeps
the run short; the accumulation path is the same for any encoder.

    python benchmarks/augment_memory.py
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_PASSAGES = 2000
BASE_QUERIES = 4  # per passage at 1x


def child(workdir: Path, passages: int, per_passage: int) -> None:
    import pyserini_xqg  # noqa: F401
    from pyserini_xqg import augment
    from pyserini_xqg.encoders import Embedder, Recipe

    corpus = workdir / f"corpus-{passages}.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "contents": f"Passage {i} about the river number {i % 97}."})
                              + "\n" for i in range(passages)))
    generated = workdir / f"queries-{passages}-{per_passage}.jsonl"
    with open(generated, "w") as f:
        for i in range(passages):
            f.write(json.dumps({"docid": f"p{i}", "lang": "sw",
                                "queries": [f"Mto namba {i % 97} uko wapi {k}?" for k in range(per_passage)]}) + "\n")
    embedder = Embedder(str(workdir / "model"), Recipe(pooling="mean", l2_norm=True), dtype="fp32", batch_size=64)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.time()
    augment.build_index(corpus, generated, workdir / "index", embedder, agg="mean", a=0.3, progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"passages": passages, "queries": passages * per_passage, "peak_rss_mb": peak / 1024,
                      "before_mb": before / 1024, "seconds": time.time() - start}))


def main() -> None:
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    from pyserini_xqg.models import _sources

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.manual_seed(0)
        config = BertConfig(vocab_size=250037, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=128, max_position_embeddings=128, pad_token_id=1)
        BertModel(config, add_pooling_layer=False).save_pretrained(work / "model")
        XLMRobertaTokenizerFast(tokenizer_file=str(_sources()[1]), model_max_length=128).save_pretrained(work / "model")
        print("| passages | generated queries | peak RSS (MB) | RSS before build (MB) | seconds |\n|---:|---:|---:|---:|---:|")
        for passages, per_passage in [(BASE_PASSAGES, BASE_QUERIES), (BASE_PASSAGES, 4 * BASE_QUERIES),
                                      (BASE_PASSAGES, 16 * BASE_QUERIES), (4 * BASE_PASSAGES, BASE_QUERIES),
                                      (16 * BASE_PASSAGES, BASE_QUERIES)]:
            out = subprocess.run([sys.executable, __file__, "--child", str(work), str(passages), str(per_passage)],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            print(f"| {r['passages']} | {r['queries']} | {r['peak_rss_mb']:.0f} | {r['before_mb']:.0f} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
