"""What identifies a run on an experiments page: its command line, the plugin's commit, the CPU kind,
the device its models ran on and the dtype ``auto`` means there. Every report that a docs page quotes
carries this record."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

from ..encode.dtype import ENV, auto_dtype, cpu_has_native_bf16, forced_dtype

_REPO = Path(__file__).resolve().parents[2]


def commit() -> str:
    """The checkout's commit, with ``-dirty`` where tracked files differ from it; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "--short=7", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def cpu() -> str:
    """The CPU's model name and whether it has native bf16, e.g. ``AMD EPYC (no native bf16), 2 cores``."""
    name = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    bf16 = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    return f"{name} ({bf16}), {len(os.sched_getaffinity(0))} cores"


def record(argv: list[str] | None = None, program: str = "python -m pyserini_xqg", device: str = "cpu") -> dict:
    """This run's record: ``command`` (``program`` and ``argv``), ``commit``, ``cpu``, ``device`` (where its models
    ran), ``dtype`` (what auto means there) and ``started``."""
    argv = sys.argv[1:] if argv is None else argv
    forced = forced_dtype()
    prefix = f"{ENV}={forced} " if forced else ""  # a rerun needs the override to mean the same
    return {"command": f"{prefix}{program} {shlex.join(argv)}".strip(), "commit": commit(), "cpu": cpu(),
            "dtype": auto_dtype(device), "device": device, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def report_stem(kind: str, labels: list[str], identity: dict) -> str:
    """A run's report name, ``KIND.LABEL....DIGEST``: the labels say what ran, the digest (of every
    setting that identifies the run) keeps two runs apart, and a rerun of the same run keeps its name."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return ".".join([kind, *labels, digest])


def reports(folder: str | Path, kind: str, suffix: str = ".json") -> list[Path]:
    """The reports of ``kind`` (``study``, ``robustness``) in ``folder``, oldest first."""
    return sorted(Path(folder).glob(f"{kind}.*{suffix}"), key=lambda p: (p.stat().st_mtime, p.name))


def latest_report(folder: str | Path, kind: str, suffix: str = ".json") -> Path:
    """The newest report of ``kind`` in ``folder``; a clear error where there is none."""
    found = reports(folder, kind, suffix)
    if not found:
        raise FileNotFoundError(f"{folder}: no {kind}.*{suffix} report")
    return found[-1]


HEADER = "<!-- pyserini_xqg run: "


def header(run: dict) -> str:
    """The first line of every markdown report: the run's record, hidden from readers, read by ``pages``."""
    return HEADER + json.dumps(run, ensure_ascii=False, sort_keys=True) + " -->\n"


def parse_header(text: str) -> tuple[dict | None, str]:
    """``(record, rest)`` of a markdown report; ``(None, text)`` where it has no record."""
    first, _, rest = text.partition("\n")
    if not first.startswith(HEADER) or not first.endswith(" -->"):
        return None, text
    return json.loads(first[len(HEADER):-len(" -->")]), rest
