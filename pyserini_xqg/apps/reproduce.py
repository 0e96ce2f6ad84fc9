"""Reproduction matrices in the style of Pyserini's two-click reproductions.

A YAML file (``resources/reproductions/<name>.yaml``) names the data, languages,
measures, and per system the plugin commands to run and the scores expected.
``{lang}`` in a command runs it once per language; ``{data}``, ``{work}``,
``{corpus}`` and ``{resources}`` are filled in. Commands run in this process, in
order; indexes and runs already present are rebuilt only where a command writes
them. The runner then scores every system and prints measured against expected.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Callable

import yaml

from ..eval.evaluation import evaluate
from ..io.collection import load_answers, load_corpus, load_query_languages
from ..io.files import RESOURCES, DataError, iter_jsonl, write_text_atomic
from ..io.runs import read_run

MATRICES = RESOURCES / "reproductions"
PREFIX = ["python", "-m", "pyserini_xqg"]


def load_matrix(name_or_path: str) -> dict:
    path = Path(name_or_path)
    if not path.exists():
        path = MATRICES / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in MATRICES.glob("*.yaml"))
        raise DataError(name_or_path, None, f"no reproduction matrix of that name; known: {', '.join(known)}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def split_xor_tydi(path: str | Path, work: Path, languages: list[str]) -> None:
    """XOR-TyDi's ``{id, lang, question, answers}`` JSONL -> topics/<lang>.tsv and answers.jsonl in ``work``."""
    topics = {lang: [] for lang in languages}
    answers = []
    for number, obj in iter_jsonl(path):
        try:
            qid, lang, question, gold = obj["id"], obj["lang"], obj["question"], obj["answers"]
        except KeyError as err:
            raise DataError(path, number, f"expected XOR-TyDi JSON with id, lang, question, answers (no {err})") from err
        if lang in topics:
            topics[lang].append(f"{qid}\t{' '.join(question.split())}\n")
            answers.append(json.dumps({"qid": qid, "lang": lang, "answers": gold}, ensure_ascii=False) + "\n")
    for lang, rows in topics.items():
        write_text_atomic(work / "topics" / f"{lang}.tsv", "".join(rows))
    write_text_atomic(work / "answers.jsonl", "".join(answers))


def _prepare_topics(matrix: dict, fill, work: Path) -> Path:
    data, langs = matrix["data"], matrix["languages"]
    if data.get("format") == "xor-tydi":
        split_xor_tydi(fill(data["topics"]), work, langs)
        return work / "answers.jsonl"
    for lang in langs:  # per-language TSVs: copied so every matrix reads {work}/topics/{lang}.tsv
        write_text_atomic(work / "topics" / f"{lang}.tsv", Path(fill(data["topics"], lang=lang)).read_text(encoding="utf-8"))
    return Path(fill(data["answers"]))


def run_matrix(name_or_path: str, execute: Callable[[list[str]], int], data_dir: str | None = None,
               work: str | Path = "runs/reproduce", log=print) -> dict:
    """Run every command of the matrix and compare measured with expected; returns the comparison.

    ``execute`` runs one plugin command line (the words after ``python -m pyserini_xqg``) and
    returns its exit status: the CLI hands in its own dispatcher.
    """
    matrix = load_matrix(name_or_path)
    work = Path(work) / matrix["name"]
    values = {"data": data_dir or "", "work": str(work), "resources": str(RESOURCES)}

    def fill(template: str, **extra) -> str:
        return template.format(**values, **extra)

    values["corpus"] = fill(matrix["data"]["corpus"])
    if "{data}" in matrix["data"]["corpus"] and not data_dir:
        raise DataError(name_or_path, None, "this matrix needs --data DIR with its official files")
    answers_path = _prepare_topics(matrix, fill, work)
    langs = matrix["languages"]
    done: set[str] = set()
    runs = {}
    for system in matrix["systems"]:
        for template in system["commands"]:
            for lang in langs if "{lang}" in template else [None]:
                command = fill(template, lang=lang) if lang else fill(template)
                if command in done:  # a step shared with an earlier system
                    continue
                argv = shlex.split(command)
                if argv[:3] != PREFIX:
                    raise DataError(name_or_path, None, f"commands must start with 'python -m pyserini_xqg': {command}")
                log(f"$ {command}")
                if execute(argv[3:]) != 0:
                    raise RuntimeError(f"command failed: {command}")
                done.add(command)
        runs[system["name"]] = {q: h for lang in langs for q, h in read_run(fill(system["run"], lang=lang)).items()}

    answers = load_answers(answers_path)
    qid_lang = {q: lang for q, lang in load_query_languages(answers_path).items() if lang in langs}
    texts = {d: p.text for d, p in load_corpus(values["corpus"]).items()}
    qrels = fill(matrix["qrels"]) if matrix.get("qrels") else None
    results = evaluate(runs, qid_lang, qrels, answers, texts, matrix["measures"])
    return compare_expected(matrix, results, log)


def compare_expected(matrix: dict, results, log=print) -> dict:
    """measured vs expected per system, measure and language (or avg); prints a table."""
    tolerance = matrix.get("tolerance", 0.01)
    rows, ok = [], True
    for system in matrix["systems"]:
        for measure in matrix["measures"]:
            measured = results.table(measure)[system["name"]]
            expected = system.get("expected", {}).get(measure, {})
            for lang in [*matrix["languages"], "avg"]:
                exp = expected.get(lang)
                good = exp is None or abs(measured[lang] - exp) <= tolerance + 1e-9
                ok &= good
                rows.append({"system": system["name"], "measure": measure, "language": lang,
                             "measured": round(measured[lang], 4), "expected": exp, "ok": good})
    log("| system | measure | language | measured | expected | |\n|---|---|---|---:|---:|---|")
    for r in rows:
        mark = "" if r["expected"] is None else ("OK" if r["ok"] else f"FAIL (tolerance {tolerance})")
        log(f"| {r['system']} | {r['measure']} | {r['language']} | {r['measured']:.4f} | "
            f"{'' if r['expected'] is None else format(r['expected'], '.4f')} | {mark} |")
    return {"ok": ok, "rows": rows}
