"""Which device a command's models run on, decided in one place: ``--device``, cpu unless told.

``cuda`` (or ``cuda:N``) is accepted only where torch sees that CUDA device; anything else is refused
before any model loads, in one line.
"""
from __future__ import annotations

import argparse

import torch

DEVICES = ("cpu", "cuda")


def check_device(device: str) -> str:
    """``device`` if torch can run a model on it here (``cpu``, ``cuda``, ``cuda:N``); else a ValueError."""
    kind, colon, number = device.partition(":")
    if kind not in DEVICES or (colon and (kind == "cpu" or not number.isdigit())):
        raise ValueError(f"--device must be cpu, cuda or cuda:N, not {device!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: torch sees no CUDA device here; use --device cpu")
    if colon and int(number) >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    return device


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="where every model of the command runs: cpu, or cuda (cuda:N) "
                   "where torch sees one (default cpu)")
