"""Tables and pictures of evaluation results: markdown, CSV, LaTeX (booktabs), JSON, per-query TSV, PNG.

A cell compared with the baseline is marked ``▲`` (significantly better) or ``▼``
(significantly worse) after Holm correction; LaTeX uses ``$^\\blacktriangle$`` / ``$^\\blacktriangledown$``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..io.files import write_text_atomic
from .evaluation import Results
from .significance import Cell, compare

UP, DOWN = "▲", "▼"


def _mark(cell: Cell | None, up: str = UP, down: str = DOWN) -> str:
    if cell is None or not cell.significant:
        return ""
    return up if cell.delta > 0 else down


def comparisons(results: Results, measures, baseline: str | None, test: str = "t", alpha: float = 0.05):
    """measure -> {(system, lang): Cell}; empty without a baseline."""
    if not baseline:
        return {m: {} for m in measures}
    return {m: compare({s: results.per_query[s][m] for s in results.per_query}, results.languages, baseline,
                       test, alpha) for m in measures}


def markdown(results: Results, measure: str, cells: dict | None = None, digits: int = 3) -> str:
    """One measure: a row per system, a column per language, then the macro average."""
    table, cells = results.table(measure), cells or {}
    langs = [l for l in dict.fromkeys(l for row in table.values() for l in row) if l != "avg"]
    lines = [f"| {measure} | " + " | ".join(langs) + " | avg |", "|---|" + "---:|" * (len(langs) + 1)]
    for system, row in table.items():
        values = [f"{row[l]:.{digits}f}{_mark(cells.get((system, l)))}" if l in row else "" for l in langs]
        lines.append(f"| {system} | " + " | ".join(values) + f" | {row['avg']:.{digits}f} |")
    return "\n".join(lines) + "\n"


def latex(results: Results, measure: str, cells: dict | None = None, digits: int = 3) -> str:
    """One measure as a booktabs table."""
    table, cells = results.table(measure), cells or {}
    langs = [l for l in dict.fromkeys(l for row in table.values() for l in row) if l != "avg"]
    esc = lambda s: s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")  # noqa: E731
    lines = [r"\begin{tabular}{l" + "r" * (len(langs) + 1) + "}", r"\toprule",
             f"{esc(measure)} & " + " & ".join(langs) + r" & avg \\", r"\midrule"]
    for system, row in table.items():
        values = [f"{row[l]:.{digits}f}" + _mark(cells.get((system, l)), r"$^\blacktriangle$", r"$^\blacktriangledown$")
                  if l in row else "" for l in langs]
        lines.append(f"{esc(system)} & " + " & ".join(values) + f" & {row['avg']:.{digits}f} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_all(results: Results, measures, out: str | Path, baseline: str | None = None, test: str = "t",
              alpha: float = 0.05, note: str = "") -> dict:
    """Write results.md, results.csv, results.tex, results.json and per-query.tsv into ``out``; ``note``
    follows the tables of results.md."""
    out = Path(out)
    cells = comparisons(results, measures, baseline, test, alpha)
    legend = (f"\n{UP}/{DOWN}: significantly better/worse than {baseline} (paired {test}-test over queries, "
              f"Holm-corrected over all systems and languages of the measure, alpha = {alpha}).\n") if baseline else ""
    legend += f"\nNote: {note}\n" if note else ""
    write_text_atomic(out / "results.md", "\n".join(markdown(results, m, cells[m]) for m in measures) + legend)
    write_text_atomic(out / "results.tex", "\n".join(latex(results, m, cells[m]) for m in measures))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["measure", "system", "language", "value", "delta", "p", "p_holm", "significant"])
    for m in measures:
        for system, row in results.table(m).items():
            for lang, value in row.items():
                c = cells[m].get((system, lang))
                w.writerow([m, system, lang, f"{value:.6f}", *(["", "", "", ""] if c is None else
                            [f"{c.delta:.6f}", f"{c.p:.6g}", f"{c.p_holm:.6g}", int(c.significant)])])
    write_text_atomic(out / "results.csv", buf.getvalue())
    payload = results.to_json(measures)
    payload["significance"] = {"baseline": baseline, "test": test, "alpha": alpha, "correction": "holm",
                               "cells": {m: [{"system": s, "language": l, **c.__dict__} for (s, l), c in cells[m].items()]
                                         for m in measures}}
    write_text_atomic(out / "results.json", json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    lines = ["system\tmeasure\tqid\tlanguage\tvalue\n"]
    for system, by_measure in results.per_query.items():
        for m, scores in by_measure.items():
            lines += [f"{system}\t{m}\t{q}\t{results.languages.get(q, '')}\t{v:.6f}\n" for q, v in sorted(scores.items())]
    write_text_atomic(out / "per-query.tsv", "".join(lines))
    return cells


def bar_chart(results: Results, measure: str, path: str | Path, systems: list[str] | None = None) -> Path:
    """Per-language grouped bars of ``measure``, one colour per system."""
    table = results.table(measure)
    return grouped_bars({s: table[s] for s in systems or table}, measure, f"{measure} per language", path, (0, 1.05))


def grouped_bars(table: dict[str, dict[str, float]], ylabel: str, title: str, path: str | Path,
                 ylim: tuple[float, float] | None = None,
                 errors: dict[str, dict[str, list[float]]] | None = None) -> Path:
    """``table`` (series -> group -> value) as grouped bars: a cluster per group, a colour per series; ``errors``
    (series -> group -> [low, high]) draws each bar's interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = list(dict.fromkeys(g for row in table.values() for g in row))
    x, width = np.arange(len(groups)), 0.8 / len(table)
    fig, ax = plt.subplots(figsize=(max(8, len(groups) * 0.9), 4.8))
    for i, (name, row) in enumerate(table.items()):
        values = [row.get(g, 0) for g in groups]
        yerr = None
        if errors and name in errors:
            bounds = [errors[name].get(g, [v, v]) for g, v in zip(groups, values)]
            yerr = [[v - lo for v, (lo, _) in zip(values, bounds)], [hi - v for v, (_, hi) in zip(values, bounds)]]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name, yerr=yerr, capsize=2 if yerr else 0,
               error_kw={"linewidth": 0.7})
    rotate = max(map(len, groups)) > 6
    ax.set_xticks(x, groups, rotation=20 if rotate else 0)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2 if rotate else -0.08), frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def curve(points: dict[str, list[tuple[float, float]]], measure: str, path: str | Path, xlabel: str = "a",
          errors: dict[str, list[list[float]]] | None = None) -> Path:
    """``measure`` against ``xlabel`` (e.g. xQG's a), one line per series; ``errors`` (series -> [low, high] per
    point) draws each point's interval, the series set a few points apart so that no interval hides another.
    The legend sits outside the axes, beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import offset_copy

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, xy) in enumerate(points.items()):
        ys = [p[1] for p in xy]
        yerr = ([[y - lo for y, (lo, _) in zip(ys, errors[name])], [hi - y for y, (_, hi) in zip(ys, errors[name])]]
                if errors and name in errors else None)
        drawn = ax.errorbar([p[0] for p in xy], ys, yerr=yerr, marker="o", capsize=3 if yerr else 0, label=name)
        if errors:  # shifted after drawing, so that the axes' limits still follow the data
            dodge = offset_copy(ax.transData, fig, x=(i - (len(points) - 1) / 2) * 4, units="points")
            for artist in (drawn.lines[0], *drawn.lines[1], *drawn.lines[2]):
                artist.set_transform(dodge)
    xs = sorted({p[0] for xy in points.values() for p in xy})
    if all(float(x).is_integer() for x in xs):
        ax.set_xticks(xs)  # counts (a budget in edits) have no fractional ticks
    ax.set_xlabel(xlabel)
    ax.set_ylabel(measure)
    ax.margins(x=0.08)  # room for the outer series' shift
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)
