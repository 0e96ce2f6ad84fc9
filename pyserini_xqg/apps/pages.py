"""Experiments pages made by the tool: fill each generated block of a docs page from a run's report.

A block names a markdown report that a command wrote (``study``, ``robustness``, ``demo``, ``bench``),
relative to the root folder, and optionally the ``## `` sections of it to keep::

    <!-- pyserini_xqg pages: runs/demo/report.md | sections: Findings; Clean scores -->
    (replaced on every run of ``pages``)
    <!-- pyserini_xqg pages: end -->

The block becomes the run's record (command, commit, CPU kind, dtype, wall time) and the report's own
tables, headings one level down and pictures left out. Everything outside the blocks (the reading) is
written by hand and kept as it is; a block shown inside a fenced code example is left alone.

``--keep DIR`` (``docs/reports``) first copies each quoted report that lies outside DIR (runs write to the
ignored ``runs/``) into DIR, with the JSON its run wrote beside it, and points the block there: the repository then
holds the evidence behind every generated table, and ``--check`` passes on a fresh clone.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..io import provenance
from ..io.files import DataError, write_text_atomic

BLOCK = re.compile(r"^<!-- pyserini_xqg pages: (?P<source>[^|]+?)(?:\s*\|\s*sections:\s*(?P<sections>.+?))?\s*-->\n"
                   r"(?P<body>.*?)^<!-- pyserini_xqg pages: end -->$", re.M | re.S)
IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")


def record_line(run: dict | None) -> str:
    """The run's record as one line a reader sees."""
    if run is None:
        return "*(this report carries no run record)*"
    seconds = run.get("seconds")
    took = f" · wall time {seconds // 60} min {seconds % 60} s" if seconds is not None else ""
    device = f" on {run['device']}" if run.get("device", "cpu") != "cpu" else ""  # older records have none
    return (f"`{run['command']}` · commit `{run['commit']}` · {run['cpu']} · dtype {run['dtype']}{device}{took} · "
            f"{run['started']}")


def sections_of(text: str, wanted: list[str], page: Path, line: int) -> str:
    """The text before the first ``## `` heading, and the ``## `` sections named in ``wanted``, in the page's order."""
    parts = re.split(r"^(?=## )", text, flags=re.M)
    named = {p.split("\n", 1)[0][3:].strip(): p for p in parts[1:]}
    missing = [w for w in wanted if w not in named]
    if missing:
        raise DataError(page, line, f"no section {', '.join(map(repr, missing))}; the report has: "
                        f"{', '.join(map(repr, named))}")
    return parts[0] + "".join(named[w] for w in wanted)


def render(source: Path, sections: list[str] | None, page: Path, line: int) -> str:
    """A block's contents from the report at ``source``; errors name the block's page and line."""
    if not source.is_file():
        raise DataError(page, line, f"{source}: no such report (run the command that writes it first)")
    run, text = provenance.parse_header(source.read_text(encoding="utf-8"))
    if sections:
        text = sections_of(text, sections, page, line)
    lines = [("#" + line if line.startswith("#") else line) for line in text.splitlines()
             if not IMAGE.match(line) and not re.match(r"^# ", line)]
    body = "\n".join(lines).strip("\n")
    return f"Run: {record_line(run)}\n\n{body}\n"


def _fenced(text: str, position: int) -> bool:
    """Whether ``position`` lies inside a fenced code block (an odd number of ``` lines before it)."""
    return sum(line.startswith("```") for line in text[:position].splitlines()) % 2 == 1


def regenerate(page: Path, root: Path) -> str:
    """``page`` with every generated block filled from its report under ``root``."""
    text = page.read_text(encoding="utf-8")

    def fill(match: re.Match) -> str:
        if _fenced(text, match.start()):
            return match.group(0)
        line = text.count("\n", 0, match.start()) + 1
        sections = [s.strip() for s in match["sections"].split(";")] if match["sections"] else None
        body = render(root / match["source"].strip(), sections, page, line)
        whole, start = match.group(0), match.start()
        return whole[:match.start("body") - start] + body + whole[match.end("body") - start:]

    if "<!-- pyserini_xqg pages:" in text and not BLOCK.search(text):
        raise DataError(page, None, "a generated block without its end marker (<!-- pyserini_xqg pages: end -->)")
    return BLOCK.sub(fill, text)


def keep(page: Path, root: Path, folder: str) -> str:
    """``page`` with each block's report outside ``folder`` copied into it (``runs/a/b.md`` to ``folder/a/b.md``,
    with ``b.json`` where the run wrote one) and the block pointed at the copy."""
    text = page.read_text(encoding="utf-8")

    def move(match: re.Match) -> str:
        source = match["source"].strip()
        if _fenced(text, match.start()) or Path(source).is_relative_to(folder):
            return match.group(0)
        line = text.count("\n", 0, match.start()) + 1
        if not (root / source).is_file():
            raise DataError(page, line, f"{source}: no such report to keep (run the command that writes it first)")
        kept = Path(folder, *Path(source).parts[1:])
        (root / kept).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / source, root / kept)
        figures = _figures_of(root / source)
        if figures:
            shutil.copyfile(figures, (root / kept).parent / figures.name)
        start = match.start("source") - match.start()
        return match.group(0)[:start] + match.group(0)[start:].replace(source, kept.as_posix(), 1)

    return BLOCK.sub(move, text)


def _figures_of(report: Path) -> Path | None:
    """The JSON a run wrote beside its report: ``STEM.json``, else the folder's only JSON (the demo's results)."""
    same = report.with_suffix(".json")
    others = sorted(report.parent.glob("*.json"))
    return same if same.is_file() else others[0] if len(others) == 1 else None


def run_pages(pages: list[str], root: str = ".", check: bool = False, log=print, keep_in: str | None = None) -> list[str]:
    """Regenerate each page in place (``check``: change nothing; ``keep_in``: first copy the quoted reports into
    that folder, ``keep``); returns the pages that were out of date."""
    stale = []
    for name in pages:
        page = Path(name)
        before = page.read_text(encoding="utf-8")
        if keep_in and not check:
            write_text_atomic(page, keep(page, Path(root), keep_in))
        new = regenerate(page, Path(root))
        if new != before:
            stale.append(name)
            if not check:
                write_text_atomic(page, new)
        log(f"{name}: {'out of date' if name in stale and check else 'updated' if name in stale else 'up to date'}")
    return stale
