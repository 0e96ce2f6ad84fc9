"""Which floating-point type an encoder runs in, decided in one place.

``auto`` is bf16 on a CPU with native bf16 arithmetic (AVX512-BF16 or AMX) and fp32
elsewhere; on CUDA, bf16 where supported, else fp16. ``$PYSERINI_XQG_DTYPE`` (``fp32`` or
``bf16``) overrides what ``auto`` means on a CPU, so one machine can run as the other kind
would (the test suite, for one).
"""
from __future__ import annotations

import os

import torch

DTYPES = ("auto", "fp32", "bf16", "fp16")
ENV = "PYSERINI_XQG_DTYPE"
_TORCH = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """True where this CPU has native bf16 arithmetic (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def forced_dtype() -> str | None:
    """``$PYSERINI_XQG_DTYPE`` (fp32 or bf16) where set: what ``auto`` means on a CPU whatever its kind."""
    forced = os.environ.get(ENV, "").strip()
    if forced and forced not in ("fp32", "bf16"):
        raise ValueError(f"${ENV} must be fp32 or bf16, not {forced!r}")
    return forced or None


def auto_cpu_dtype() -> str:
    """What ``auto`` means on this CPU: ``$PYSERINI_XQG_DTYPE`` if set, else bf16 where native."""
    return forced_dtype() or ("bf16" if cpu_has_native_bf16() else "fp32")


def auto_dtype(device: str = "cpu") -> str:
    """What ``auto`` means on ``device``: bf16 on CUDA where supported, else fp16; ``auto_cpu_dtype`` on a CPU."""
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return auto_cpu_dtype()


def resolve_dtype(dtype: str, device: str = "cpu") -> torch.dtype:
    """The torch dtype for ``dtype`` (one of ``DTYPES``) on ``device``."""
    if dtype == "auto":
        dtype = auto_dtype(device)
    if dtype not in _TORCH:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    return _TORCH[dtype]
