"""One language, one identity (``sw`` / ``swa``, ``te`` / ``tel``) in every file and option, no silent loss of
generated queries, per-language answer files, pipes refused, and Ctrl-C: all through the real command line."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pyserini_xqg.io.folder import read_collection

from .conftest import read_jsonl, write
from .test_collection_dir import make_collection
from .test_study import LANGS, slice_of_sample  # noqa: F401  (a fixture)

ISO3 = {"sw": "swa", "te": "tel"}  # ISO 639-3 of the sample's languages, as languages.tsv gives them


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def rekey(records: list[dict], names: dict[str, str], released: bool) -> list[dict]:
    """The sample's generated-query records (the plugin's own) with their languages spelt as ``names`` says, as
    they are or in the released shape (``{docid, generated_queries: {lang: [...]}}``)."""
    records = [{**r, "lang": names.get(r["lang"], r["lang"])} for r in records]
    if not released:
        return records
    grouped: dict[str, dict] = {}
    for r in records:
        grouped.setdefault(r["docid"], {})[r["lang"]] = r["queries"]
    return [{"docid": docid, "generated_queries": queries} for docid, queries in grouped.items()]


def lay_out(src: Path, root: Path, spell: dict[str, str], queries_spell: dict[str, str], per_language: bool) -> Path:
    """The study slice as a collection folder whose file names spell each language as ``spell`` says, with
    generated queries keyed as ``queries_spell`` says; answers in one file and the plugin's query records, or answers
    one file per language without ``lang`` and the released query shape."""
    root.mkdir()
    for name in ("corpus.jsonl", "qrels.txt"):
        (root / name).write_bytes((src / name).read_bytes())
    for lang in LANGS:
        (root / f"queries.{spell[lang]}.tsv").write_bytes((src / f"dev.{lang}.tsv").read_bytes())
        (root / f"queries.{spell[lang]}-en.tsv").write_bytes((src / f"dev.{lang}.en.tsv").read_bytes())
    answers = [a for a in read_jsonl(src / "answers.jsonl") if a["lang"] in LANGS]
    if per_language:
        for lang in LANGS:
            write(root / f"answers.{spell[lang]}.jsonl",
                  jsonl({"qid": a["qid"], "answers": a["answers"]} for a in answers if a["lang"] == lang))
    else:
        write(root / "answers.jsonl", jsonl({**a, "lang": spell[a["lang"]]} for a in answers))
    write(root / "train.jsonl", jsonl({**r, "lang": spell[r["lang"]]} for r in read_jsonl(src / "train.jsonl")))
    write(root / "reference-queries.train.jsonl", jsonl(rekey(read_jsonl(src / "queries.jsonl"), queries_spell,
                                                              released=per_language)))
    return root


def study_args(collection: Path, out: Path) -> list[str]:
    return ["study", "--collection", str(collection), "--no-title", "--agg", "mean", "--a", "0.3", "--steps", "1",
            "--attacks", "char-swap", "--seeds", "0", "--output", str(out)]


def comparable(out: Path) -> tuple[dict, dict, str]:
    """A study's findings, robustness report and tables: what must not depend on how the languages are spelt."""
    [report] = out.glob("study.*.json")
    study = json.loads(report.read_text(encoding="utf-8"))
    text = report.with_suffix(".md").read_text(encoding="utf-8")
    tables = text[text.index("## Findings"):text.index("## Where the time goes")]
    tables = "\n".join(line for line in tables.splitlines() if not line.startswith("!["))  # plots: named by digest
    return study["analysis"], study["robustness"], tables


class Watched:
    """A command run as a terminal runs it, its stderr collected as it comes (progress bars included)."""

    def __init__(self, argv: list[str]):
        # SIGINT as a terminal delivers it, even where this suite runs in the background (``cmd &``, nohup), which
        # leaves it ignored in every child
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.err = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.process.stderr.fileno(), 1 << 16):
            self.err += chunk

    def text(self) -> str:
        return bytes(self.err).decode("utf-8", "replace")

    def interrupt_when(self, ready, what: str) -> list[str]:
        """Send SIGINT (what Ctrl-C sends) once ``ready()``; its stderr lines, after it exits with 130."""
        deadline = time.time() + 600
        while self.process.poll() is None and not ready() and time.time() < deadline:
            time.sleep(0.05)
        assert self.process.poll() is None, f"{what} finished before it could be interrupted"
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=120) == 130
        self.reader.join(timeout=10)
        return [line for line in self.text().replace("\r", "\n").splitlines() if line.strip()]


def test_two_spellings_make_one_study_and_ctrl_c_resumes(slice_of_sample, tmp_path, e5_dir):  # noqa: F811
    """The same collection named with ISO 639-1 codes (generated queries keyed with 639-3) and with 639-3 codes
    (queries keyed 639-1, answers one file per language) gives equal study reports; the second run is interrupted
    with SIGINT in its attack phase (one line, exit 130, no traceback) and the rerun finishes it."""
    iso1 = lay_out(slice_of_sample, tmp_path / "iso1", {l: l for l in LANGS}, ISO3, per_language=False)
    iso3 = lay_out(slice_of_sample, tmp_path / "iso3", ISO3, {l: l for l in LANGS}, per_language=True)
    assert set(read_collection(iso3).topics) == {"sw", "te"}  # queries.swa.tsv is sw's
    cli = [sys.executable, "-m", "pyserini_xqg"]
    first = subprocess.run([*cli, *study_args(iso1, tmp_path / "study1")], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "xQG queries: file:" in first.stdout and "for sw, te" in first.stdout
    out = tmp_path / "study3"
    lines = Watched([*cli, *study_args(iso3, out)]).interrupt_when(lambda: (out / "cells.jsonl").is_file(), "the study")
    assert not any("Traceback" in line for line in lines), lines
    assert lines[-1].startswith("interrupted: study stopped")
    assert not list(out.glob("study.*")) and not list(out.rglob(".*.tmp-*"))  # no report, nothing half-written
    again = subprocess.run([*cli, *study_args(iso3, out)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "reusing" in again.stdout  # the encoders and indexes of the interrupted run
    analysis, robustness, tables = comparable(tmp_path / "study1")
    assert comparable(out) == (analysis, robustness, tables)
    assert set(robustness["clean"]["languages"].values()) == {"sw", "te"}
    assert "## xQG coverage" in tables and "| Swahili (sw) |" in tables and "| Telugu (te) |" in tables


def test_an_import_keyed_with_other_codes_is_one_language(tmp_path, mini_corpus):
    from pyserini_xqg.__main__ import main

    queries = write(tmp_path / "xqg.jsonl", jsonl([{"docid": "d1", "generated_queries": {"ha": ["a?"], "ig": ["b?"]}},
                                                   {"docid": "d2", "generated_queries": {"ha": ["c?"]}}]))
    out = tmp_path / "out.jsonl"
    with pytest.warns(UserWarning, match=r"queries for only part of the 6 passages, by language: ha 2 \(33.3%\), "
                      r"ig 1 \(16.7%\); the others have none"):
        assert main(["generate", "--corpus", str(mini_corpus), "--output", str(out), "--generator", f"file:{queries}",
                     "--langs", "hau", "ibo"]) == 0
    assert sorted((r["docid"], r["lang"]) for r in read_jsonl(out)) == [("d1", "ha"), ("d1", "ig"), ("d2", "ha")]


def test_an_import_with_no_queries_in_a_language_stops(tmp_path, mini_corpus):
    queries = write(tmp_path / "xqg.jsonl", jsonl([{"docid": "d1", "generated_queries": {"ha": ["a?"], "ig": ["b?"]}}]))
    out = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-m", "pyserini_xqg", "generate", "--corpus", str(mini_corpus), "--output",
                           str(out), "--generator", f"file:{queries}", "--langs", "hau", "yor"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and not out.exists()
    assert done.stderr.strip().splitlines() == [
        f"error: {queries}: no queries in Yoruba (yo) for the passages asked for; the file has queries in "
        "ha (1 passages), ig (1 passages)"]


def test_per_language_answer_files_are_found_and_used(tmp_path, capsys):
    from pyserini_xqg.__main__ import main

    d = make_collection(tmp_path / "c")
    answers = read_jsonl(d / "answers.jsonl")
    (d / "answers.jsonl").unlink()
    write(d / "answers.swa.jsonl", jsonl({"qid": a["qid"], "answers": a["answers"]} for a in answers
                                         if a["lang"] == "sw"))
    write(d / "answers.te.jsonl", jsonl({**a, "answers": ["no such answer"]} for a in answers if a["lang"] == "te"))
    write(d / "answers.te-en.jsonl", jsonl(a for a in answers if a["lang"] == "te"))  # preferred: the pivot's
    write(d / "answers.te-fr.jsonl", jsonl(a for a in answers if a["lang"] == "te"))  # not the passages' language
    found = read_collection(d)
    assert found.answers == {"sw": str(d / "answers.swa.jsonl"), "te": str(d / "answers.te-en.jsonl")}
    assert found.select(["te"]).answers == {"te": str(d / "answers.te-en.jsonl")}
    assert main(["index", "--corpus", str(d / "corpus.jsonl"), "--index", str(tmp_path / "bm25")]) == 0
    run = tmp_path / "bm25.trec"
    assert main(["search", "--collection", str(d), "--index", str(tmp_path / "bm25"), "--output", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--collection", str(d), "--run", f"bm25={run}", "--measures", "R@2kt",
                 "--query-set", "run"]) == 0
    table = capsys.readouterr().out
    # per language, each with its answers (te's in the passages' language: its own file's would never match)
    assert "| R@2kt | sw | te | avg |\n|---|---:|---:|---:|\n| bm25 | 1.000 | 1.000 | 1.000 |" in table
    # the long form names them as LANG=PATH
    capsys.readouterr()
    assert main(["evaluate", "--run", f"bm25={run}", "--qrels", str(d / "qrels.txt"), "--corpus",
                 str(d / "corpus.jsonl"), "--answers", f"swa={d / 'answers.swa.jsonl'}", f"te={d / 'answers.te-en.jsonl'}", "--measures",
                 "R@2kt", "--query-set", "run"]) == 0
    assert capsys.readouterr().out == table
    write(d / "answers.jsonl", jsonl(answers))  # two kinds of answers: which?
    assert main(["evaluate", "--collection", str(d), "--run", f"bm25={run}"]) == 2
    assert "answers in answers.jsonl and in answers.swa.jsonl, answers.te-en.jsonl: keep one kind" \
        in capsys.readouterr().err


def test_a_record_in_another_language_than_its_file_is_refused(tmp_path, capsys):
    from pyserini_xqg.io.collection import load_query_languages
    from pyserini_xqg.io.files import DataError

    path = write(tmp_path / "a.jsonl", jsonl([{"qid": "q1", "answers": ["x"]}, {"qid": "q2", "lang": "yo",
                                                                                 "answers": ["y"]}]))
    with pytest.raises(DataError, match=r"a.jsonl:2: lang 'yo' in a file of language ha"):
        load_query_languages([f"hau={path}"])
    assert load_query_languages([f"yor={write(tmp_path / 'b.jsonl', jsonl([{'qid': 'q3', 'answers': ['z']}]))}"]) == \
        {"q3": "yo"}


@pytest.mark.parametrize("command", ["encode", "search"])
def test_a_pipe_is_refused_up_front(tmp_path, mini_corpus, command):
    """``--corpus <(zcat c.jsonl.gz)``: one line saying that the file must be seekable, before any work."""
    index = tmp_path / "index"
    option = {"encode": f"--corpus <(cat {mini_corpus}) --index {index}",
              "search": f"--index {index} --topics <(printf 'q1\\tNile\\n') --output {tmp_path / 'run.trec'}"}[command]
    done = subprocess.run(["bash", "-c", f"{sys.executable} -m pyserini_xqg {command} {option}"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and not index.exists()
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: /dev/fd/") and "is a pipe, not a file" in line and "must be a seekable file" in line


def test_ctrl_c_during_encode(tmp_path, e5_dir):
    """SIGINT while passages are being encoded: one line, exit 130, no index and no half-written folder; the
    rerun writes the same index as an uninterrupted run."""
    from pyserini_xqg.io.sample import Sample

    corpus = Sample().corpus
    cli = [sys.executable, "-m", "pyserini_xqg", "encode", "--corpus", str(corpus), "--batch-size", "4"]
    watched = Watched([*cli, "--index", str(tmp_path / "interrupted")])
    # the bar is up: the model is loaded and passages are being encoded (7 s on 2 cores)
    lines = watched.interrupt_when(lambda: "encode passages: 0passage" in watched.text() and not time.sleep(1),
                                   "encode")
    assert not any("Traceback" in line for line in lines), lines
    assert lines[-1].startswith("interrupted: encode stopped")
    assert not (tmp_path / "interrupted").exists() and [p.name for p in tmp_path.iterdir()] == []
    for name in ("interrupted", "uninterrupted"):
        assert subprocess.run([*cli, "--index", str(tmp_path / name)], capture_output=True).returncode == 0
    for name in ("index", "docid"):
        assert (tmp_path / "interrupted" / name).read_bytes() == (tmp_path / "uninterrupted" / name).read_bytes()
