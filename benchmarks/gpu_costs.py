"""Per-item GPU costs for the paper-scale plan (docs/scale.md): run by hand on one GPU.

Models are built from configs with random weights (throughput does not depend on the weights):
multilingual-e5-small and mBERT-base shaped encoders (bf16, length-sorted batches of fixed-length
inputs) and an mT5-base shaped generator (top-k sampling, exactly ``--new-tokens`` per query).
Needs only torch and transformers:

    python benchmarks/gpu_costs.py --output gpu-costs.json
"""
from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import BertConfig, BertModel, MT5Config, MT5ForConditionalGeneration

ENCODERS = {  # name -> (hidden, layers, heads, intermediate)
    "multilingual-e5-small": (384, 12, 12, 1536),
    "mbert-base": (768, 12, 12, 3072),
}


def _timed(fn, device, repeats: int) -> float:
    fn()
    torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats


def encoder_rates(device, batch: int, lengths: dict[str, int]) -> dict:
    out = {}
    for name, (d, layers, heads, ff) in ENCODERS.items():
        config = BertConfig(vocab_size=250037, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads,
                            intermediate_size=ff, max_position_embeddings=514, pad_token_id=1)
        model = BertModel(config, add_pooling_layer=False).to(device, torch.bfloat16).eval()
        out[name] = {}
        for kind, n in lengths.items():
            ids = torch.randint(5, 250000, (batch, n), device=device)
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                seconds = _timed(lambda: model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0].float(),
                                 device, 10)
            flops = batch * layers * (2 * n * (4 * d * d + 2 * d * ff) + 4 * n * n * d)
            out[name][kind] = {"tokens": n, "batch": batch, "items_per_s": batch / seconds,
                               "tflops": flops / seconds / 1e12}
        del model
        torch.cuda.empty_cache()
    return out


def generator_rate(device, batch: int, prompt: int, n: int, new_tokens: int) -> dict:
    config = MT5Config(vocab_size=250112, d_model=768, d_kv=64, d_ff=2048, num_layers=12, num_decoder_layers=12,
                       num_heads=12, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = MT5ForConditionalGeneration(config).to(device, torch.bfloat16).eval()
    ids = torch.randint(5, 250000, (batch, prompt), device=device)

    def run():
        with torch.inference_mode():
            return model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=10,
                                  num_return_sequences=n, max_new_tokens=new_tokens, min_new_tokens=new_tokens)

    seconds = _timed(run, device, 3)
    return {"model": "mt5-base shaped", "prompt_tokens": prompt, "batch_passages": batch, "queries_per_passage": n,
            "new_tokens": new_tokens, "passages_per_s": batch / seconds, "queries_per_s": batch * n / seconds,
            "tokens_per_s": batch * n * new_tokens / seconds}


def matmul_tflops(device) -> float:
    x = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    return 2 * 8192 ** 3 / _timed(lambda: x @ x, device, 10) / 1e12


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="gpu-costs.json")
    p.add_argument("--passage-tokens", type=int, default=192, help="a 100-word XOR-TyDi passage in XLM-R pieces")
    p.add_argument("--query-tokens", type=int, default=24)
    args = p.parse_args()
    device = torch.device("cuda")
    figures = {"gpu": torch.cuda.get_device_name(device), "torch": torch.__version__,
               "bf16_matmul_tflops": matmul_tflops(device),
               "encoders": encoder_rates(device, 512, {"passage": args.passage_tokens, "query": args.query_tokens}),
               "generator": []}
    for batch in (64, 256):
        try:
            figures["generator"].append(generator_rate(device, batch, 256, 5, 32))
        except RuntimeError as err:  # e.g. out of memory: keep what was measured
            figures["generator"].append({"batch_passages": batch, "error": str(err)[:300]})
    print(json.dumps(figures, indent=1))
    with open(args.output, "w") as f:
        json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
