"""The ``--engine`` options that ``generate`` and ``encode`` share."""
from __future__ import annotations

import argparse

ENGINES = ("local", "ray")


def add_engine_arguments(p: argparse.ArgumentParser, shards_help: str = "ray: corpus shards (default --workers)") -> None:
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="ray: Ray Data batch inference over corpus shards, one model replica per worker")
    p.add_argument("--workers", type=int, default=2, help="ray: actors, one model replica each (default 2)")
    p.add_argument("--shards", type=int, help=shards_help)
    p.add_argument("--ray-address", help="ray: an existing cluster (default: a local Ray instance)")
