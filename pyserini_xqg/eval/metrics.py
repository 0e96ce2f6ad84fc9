"""Measures: XOR-TyDi's R@2kt / R@5kt, and trec_eval measures by name.

R@kt follows the official ``eval_xor_retrieve.py``: tokenise each retrieved
passage's text with NLTK's ``word_tokenize``, concatenate the tokens in rank
order, keep the first k, join them with spaces, and count a hit when any gold
answer (untokenised, case-sensitive, "yes"/"no" skipped) is a substring. NLTK's
``word_tokenize`` first splits sentences with the Punkt model, whose data cannot
be downloaded here; we split sentences with a rule (after . ! ? followed by
space and an upper-case letter, digit or quote, not after a short list of
abbreviations) and then run the same ``NLTKWordTokenizer``. The only difference
Punkt could make is which periods become separate tokens.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from .. import jvm
from ..io.collection import load_qrels
from ..io.runs import Run, format_run

_ABBREV = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "no", "mt", "ft", "gen", "col", "lt",
           "sgt", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
           "oct", "nov", "dec", "e.g", "i.e", "u.s", "u.k", "c", "ca", "approx"}
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """Split English text into sentences (a stand-in for Punkt; see module docstring)."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        before = text[start:m.start()].rstrip("\"'”’)]")
        last = before.split()[-1] if before.split() else ""
        word = last.rstrip(".!?").lower()
        if last.endswith(".") and (word in _ABBREV or re.fullmatch(r"[a-z]", word)):
            continue
        out.append(text[start:m.start()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


@lru_cache(maxsize=1)
def _word_tokenizer():
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


@lru_cache(maxsize=100_000)
def _tokens(text: str) -> tuple[str, ...]:
    tok = _word_tokenizer()
    return tuple(t for s in sentences(text) for t in tok.tokenize(s))


def word_tokenize(text: str) -> list[str]:
    """NLTK ``word_tokenize`` (Treebank rules, per sentence); cached, as runs retrieve the same passages often."""
    return list(_tokens(text))


def recall_at_kt(passages: list[str], answers: list[str], k_tokens: int) -> float | None:
    """1.0 if an answer occurs in the first ``k_tokens`` tokens of ``passages``; None without span answers."""
    spans = [a for a in answers if a not in ("yes", "no")]
    if not spans:
        return None
    tokens: list[str] = []
    for text in passages:
        tokens += _tokens(text)
        if len(tokens) >= k_tokens:
            break
    window = " ".join(tokens[:k_tokens])
    return 1.0 if any(a in window for a in spans) else 0.0


def run_recall_at_kt(run: Run, answers: Mapping[str, list[str]], texts: Mapping[str, str],
                     k_tokens: int) -> dict[str, float]:
    """Per-query R@kt for every query that has span answers (queries absent from the run score 0)."""
    scores = {}
    for qid, gold in answers.items():
        passages = [texts[docid] for docid, _ in run.get(qid, [])]
        value = recall_at_kt(passages, gold, k_tokens)
        if value is not None:
            scores[qid] = value
    return scores


# ---- trec_eval -------------------------------------------------------------------------------------------

_NAMED = {"ndcg": "ndcg_cut", "r": "recall", "p": "P", "recall": "recall", "success": "success"}


def trec_eval_name(measure: str) -> tuple[str, int | None]:
    """Parse ``nDCG@10``, ``R@100``, ``MRR@10``, ``P@5``, ``MAP`` or a raw trec_eval name.

    Returns the trec_eval measure and the ``-M`` depth it needs (for MRR@k).
    """
    m = re.fullmatch(r"(?i)(ndcg|r|recall|p|success|mrr)@(\d+)", measure)
    if m:
        name, k = m.group(1).lower(), int(m.group(2))
        if name == "mrr":
            return "recip_rank", k
        return f"{_NAMED[name]}.{k}", None
    if measure.lower() == "map":
        return "map", None
    if measure.lower() == "mrr":
        return "recip_rank", None
    return measure, None


def _check_run(run: Run) -> None:
    for qid, hits in run.items():
        docids = [d for d, _ in hits]
        if len(set(docids)) < len(docids):
            twice = sorted(d for d in set(docids) if docids.count(d) > 1)
            raise ValueError(f"run lists passage(s) {', '.join(twice[:3])} twice for query {qid!r}: trec_eval "
                             "would score every query 0")


def _trec_eval(args: list[str]) -> str:
    """stdout of the bundled trec_eval; anything on its stderr is an error (it exits 0 on errors)."""
    jvm.configure_environment()
    proc = subprocess.run(["java", "-cp", str(jvm.anserini_jar()), "trec_eval", *args], capture_output=True, text=True)
    if proc.returncode != 0 or proc.stderr.strip():
        raise ValueError(f"trec_eval failed: {(proc.stderr.strip() or proc.stdout.strip()).splitlines()[0]}")
    return proc.stdout


def is_recall_kt(measure: str) -> int | None:
    """Token budget of an ``R@<k>kt`` measure, else None."""
    if measure.endswith("kt") and measure.startswith("R@"):
        return int(measure[2:-2]) * 1000
    return None


@lru_cache(maxsize=64)
def check_measures(measures: tuple[str, ...]) -> None:
    """Refuse a measure trec_eval does not know, by running it on one judged query: before hours of work."""
    names = [m for m in measures if not is_recall_kt(m)]
    if not names:
        return
    with tempfile.TemporaryDirectory() as tmp:
        qrels, run = Path(tmp) / "qrels", Path(tmp) / "run"
        qrels.write_text("q 0 d 1\n")
        run.write_text("q Q0 d 1 1.0 check\n")

        def check(group):
            for depth in {trec_eval_name(m)[1] for m in group}:
                args = [a for m in group if trec_eval_name(m)[1] == depth for a in ("-m", trec_eval_name(m)[0])]
                _trec_eval([*args, *(["-M", str(depth)] if depth else []), str(qrels), str(run)])
        try:
            check(names)  # all at once; one by one only to name the culprit
        except ValueError:
            for measure in names:
                try:
                    check([measure])
                except ValueError as err:
                    raise ValueError(f"unknown measure {measure!r} ({err})") from None
            raise


def trec_eval(run: Run, qrels_path: str | Path, measures: list[str]) -> dict[str, dict[str, float]]:
    """Per-query values of ``measures`` from the trec_eval bundled with Pyserini.

    Every query of the qrels gets a value (0 where the run retrieved nothing for it). A run
    listing a passage twice for a query, an unknown measure, or anything trec_eval prints on
    its stderr is an error, never a score of 0.
    """
    check_measures(tuple(measures))
    _check_run(run)
    qrels_text = _qrels_text(str(qrels_path), Path(qrels_path).stat().st_mtime_ns)
    qrels_qids = {line.split()[0] for line in qrels_text.splitlines()}
    by_depth: dict[int | None, list[tuple[str, str]]] = {}
    for measure in measures:
        name, depth = trec_eval_name(measure)
        by_depth.setdefault(depth, []).append((measure, name))
    # in qid order, not set order: float sums over queries, and the reports, are then the same on every rerun
    out: dict[str, dict[str, float]] = {m: {q: 0.0 for q in sorted(qrels_qids)} for m in measures}
    text = format_run(run, "eval")
    if not text:  # nothing retrieved for any query (trec_eval cannot read an empty run): every value is 0
        return out
    with tempfile.NamedTemporaryFile("w", suffix=".trec", delete=False) as f:
        f.write(text)
        run_path = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".qrels", delete=False) as f:
        f.write(qrels_text)  # as the plugin read it (a byte-order mark dropped): trec_eval reads the same qids
        qrels_path = f.name
    try:
        for depth, pairs in by_depth.items():
            cmd = ["-q"]
            if depth:
                cmd += ["-M", str(depth)]
            cutoffs: dict[str, list[str]] = {}  # trec_eval keeps one -m per measure: merge recall.1 + recall.100
            for _, name in pairs:
                base, _, cut = name.partition(".")
                cutoffs.setdefault(base, [])
                if cut and cut not in cutoffs[base]:
                    cutoffs[base].append(cut)
            for base, cuts in cutoffs.items():
                cmd += ["-m", f"{base}.{','.join(cuts)}" if cuts else base]
            cmd += [str(qrels_path), run_path]
            for line in _trec_eval(cmd).splitlines():
                field, qid, value = line.split()
                if qid == "all":
                    continue
                for measure, name in pairs:
                    if field == name.replace(".", "_"):  # trec_eval prints ndcg_cut.10 as ndcg_cut_10
                        out[measure][qid] = float(value)
    finally:
        Path(run_path).unlink(missing_ok=True)
        Path(qrels_path).unlink(missing_ok=True)
    return out


@lru_cache(maxsize=8)
def _qrels_text(path: str, mtime: int) -> str:
    """A qrels file as ``load_qrels`` reads it, in TREC format (one reading per file version)."""
    return "".join(f"{q} 0 {d} {r}\n" for q, judged in load_qrels(path).items() for d, r in judged.items())
