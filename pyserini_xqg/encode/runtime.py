"""How an ``Embedder`` runs its model's forward pass: ``torch`` (transformers, the default) or ``onnx``
(ONNX Runtime on the same fp32 weights, exported once per model and cached beside the models).

Both return the last hidden states as a torch tensor, so pooling is the same code for both. ONNX Runtime
agrees with torch to ~1e-7 on e5's unit vectors. Measured on 2 AMD EPYC cores (issue #22): as fast as
torch on one thread, and 1.3-2x faster with two threads while another process loads the same cores
(torch's OpenMP threads wait on each other there). The export needs the ``onnx`` package (extra ``onnx``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from . import models

RUNTIMES = ("torch", "onnx")


def forward_for(runtime: str, model, path: str, dtype: torch.dtype, device: str, cache_dir: str | None = None):
    """``f(input_ids, attention_mask) -> last hidden states`` for ``model`` (loaded from ``path``)."""
    if runtime == "torch":
        return lambda input_ids, attention_mask: model(input_ids=input_ids,
                                                       attention_mask=attention_mask).last_hidden_state
    if runtime != "onnx":
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
    if dtype != torch.float32 or device != "cpu":
        raise ValueError(f"--runtime onnx runs fp32 on the CPU, not {str(dtype).replace('torch.', '')} on "
                         f"{device}: give --dtype fp32 (or --runtime torch)")
    return OnnxForward(exported(model, path, cache_dir))


def exported(model, path: str, cache_dir: str | None = None) -> Path:
    """The model's ONNX file (fp32, dynamic batch and length), exported on first use into the model cache."""
    key = models.fingerprint(path) or "name:" + path
    target = models.cache_dir(cache_dir) / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:16] / "model.onnx"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    import warnings

    # the TorchScript exporter (dynamo=False) needs only the onnx package and takes a few seconds;
    # eager attention exports the pattern ONNX Runtime fuses, SDPA's export ran 15% slower (measured)
    attention = model.config._attn_implementation
    model.set_attn_implementation("eager")
    ids = torch.tensor([[0, 100, 2], [0, 2, 1]])
    axes = {0: "batch", 1: "length"}
    tmp = target.with_name(f".model.{os.getpid()}.onnx")
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHidden().eval(), (ids, (ids != 1).long()), str(tmp), dynamo=False, opset_version=17,
                              input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes})
    finally:
        model.set_attn_implementation(attention)
    tmp.replace(target)
    return target


class OnnxForward:
    """An ONNX Runtime session on the CPU with as many threads as torch has."""

    def __init__(self, file: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
        self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return torch.from_numpy(self.session.run(["last_hidden_state"], feed)[0])
