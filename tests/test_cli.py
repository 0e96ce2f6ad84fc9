"""The CLI end to end: help, BM25 and dense indexes, search, evaluate, the demo, and bad input."""
import json
import subprocess
import sys


from pyserini_xqg.__main__ import COMMANDS, main
from pyserini_xqg.io.runs import read_run

from .conftest import write


def test_help_lists_every_command_with_one_line():
    out = subprocess.run([sys.executable, "-m", "pyserini_xqg", "--help"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    for name, command in COMMANDS.items():
        assert any(line.split() == [name, *command.help.split()] for line in lines), name


def test_index_search_evaluate(mini_corpus, tmp_path, capsys, e5_dir):
    topics = write(tmp_path / "topics.tsv", "q1\tWhich lake is the deepest?\nq2\tWho created Hangul?\n")
    qrels = write(tmp_path / "qrels.txt", "q1 0 d3 1\nq2 0 d4 1\n")
    answers = write(tmp_path / "answers.jsonl", '{"qid": "q1", "lang": "en", "answers": ["Baikal"]}\n'
                                                '{"qid": "q2", "lang": "en", "answers": ["Sejong"]}\n')
    assert main(["index", "--corpus", str(mini_corpus), "--index", str(tmp_path / "bm25")]) == 0
    assert main(["encode", "--corpus", str(mini_corpus), "--index", str(tmp_path / "dense")]) == 0
    meta = json.loads((tmp_path / "dense" / "meta.json").read_text())
    assert meta["passages"] == 6 and meta["encoder"]["pooling"] == "mean" and meta["encoder"]["dimension"] == 384
    for name in ("bm25", "dense"):
        assert main(["search", "--index", str(tmp_path / name), "--topics", str(topics),
                     "--output", str(tmp_path / f"{name}.trec"), "--hits", "5"]) == 0
        run = read_run(tmp_path / f"{name}.trec")
        assert run["q1"][0][0] == "d3" and run["q2"][0][0] == "d4"
    capsys.readouterr()
    assert main(["evaluate", "--run", f"bm25={tmp_path / 'bm25.trec'}", f"dense={tmp_path / 'dense.trec'}",
                 "--qrels", str(qrels), "--answers", str(answers), "--corpus", str(mini_corpus),
                 "--baseline", "bm25", "--output", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "| bm25 | 1.000 | 1.000 |" in out and "| nDCG@10 | en | avg |" in out
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["measures"]["MRR@10"]["dense"]["en"] == 1.0
    assert results["significance"]["baseline"] == "bm25"
    for name in ("results.md", "results.csv", "results.tex", "per-query.tsv"):
        assert (tmp_path / "eval" / name).stat().st_size > 0
    assert main(["fuse", "--run", str(tmp_path / "bm25.trec"), str(tmp_path / "dense.trec"),
                 "--output", str(tmp_path / "fused.trec"), "--hits", "3"]) == 0
    assert read_run(tmp_path / "fused.trec")["q1"][0][0] == "d3"


def test_bad_input_exits_2_with_file_and_line(tmp_path, capsys):
    bad = write(tmp_path / "topics.tsv", "q1\tfine\nq2 missing tab\n")
    assert main(["search", "--index", str(tmp_path), "--topics", str(bad), "--output", str(tmp_path / "r")]) == 2
    assert f"error: {bad}:2: expected qid<TAB>text" in capsys.readouterr().err
    assert main(["index", "--corpus", str(bad), "--index", str(tmp_path / "i"), "--language", "xx"]) == 2
    assert "unknown language code 'xx'" in capsys.readouterr().err


def test_demo_on_the_sample(demo_run):
    from pyserini_xqg.io.sample import Sample

    root, results = demo_run
    tmp_path = root / "runs"
    table = results["measures"]["R@2kt"]
    assert set(table) == {"bm25 (native)", "bm25 (translate-test)", "dense", "dense+xQG (sum, a=0.01)",
                          *(f"dense+xQG (mean, a={a})" for a in (0.1, 0.2, 0.3, 0.5)),
                          "bm25+dense (RRF)", "bm25+xQG (RRF)", "bm25+dense (HybridSearcher)",
                          "bm25+xQG (HybridSearcher)"}
    for row in table.values():
        assert set(Sample().languages) | {"avg"} == set(row)
    # the multilingual dense retriever must beat lexical matching of native queries against English passages
    assert results["measures"]["nDCG@10"]["dense"]["avg"] > results["measures"]["nDCG@10"]["bm25 (native)"]["avg"]
    assert (tmp_path / "demo" / "report.md").exists()
    assert len(list((tmp_path / "demo" / "runs").glob("*.trec"))) == 12
    assert results["significance"]["baseline"] == "dense"
    report = (tmp_path / "demo" / "report.md").read_text()
    assert "▼" in report and "ndcg-by-language.png" in report
    for name in ("ndcg-by-language.png", "ndcg-vs-a.png", "results.csv", "results.tex", "per-query.tsv"):
        assert (tmp_path / "demo" / name).exists()
    meta = json.loads((tmp_path / "demo" / "indexes" / "xqg-sum" / "meta.json").read_text())["xqg"]
    assert meta["n_per_passage"] == {"min": 24, "max": 24, "mean": 24.0}  # 2 hand-written queries x 12 languages
    assert meta["generator"][0]["backend"] == "hand-written"


def test_index_and_encode_leave_the_title_out_on_request(tmp_path, tiny_model):
    import faiss
    import numpy as np

    from pyserini_xqg.encode.embedder import Embedder, Recipe
    from pyserini_xqg.search import lucene

    corpus = write(tmp_path / "c.jsonl", '{"id": "t1", "title": "Zanzibar", "contents": "An island off the coast."}\n'
                                         '{"id": "t2", "title": "Other", "contents": "Something else entirely."}\n')
    found = {}
    for flag in ("--title", "--no-title"):
        name = flag.strip("-")
        assert main(["index", "--corpus", str(corpus), "--index", str(tmp_path / f"bm25-{name}"), flag]) == 0
        found[name] = [d for d, _ in lucene.search(tmp_path / f"bm25-{name}", {"q": "Zanzibar"}, 2)["q"]]
        assert main(["encode", "--corpus", str(corpus), "--index", str(tmp_path / f"dense-{name}"), "--encoder",
                     tiny_model, "--pooling", "mean", "--dtype", "fp32", flag]) == 0
        assert json.loads((tmp_path / f"dense-{name}" / "meta.json").read_text())["title"] == (flag == "--title")
    assert found == {"title": ["t1"], "no-title": []}  # the title's word is found only where it was indexed
    embedder = Embedder(tiny_model, Recipe(pooling="mean"), dtype="fp32")
    texts = ["An island off the coast.", "Something else entirely."]
    for name, titles in (("title", ["Zanzibar", "Other"]), ("no-title", None)):
        stored = faiss.read_index(str(tmp_path / f"dense-{name}" / "index"))
        np.testing.assert_allclose(stored.reconstruct_n(0, 2), embedder.passages(texts, titles), rtol=1e-5, atol=1e-6)
