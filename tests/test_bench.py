"""The bench in a reduced setting: every in-process section runs and reports coherent figures."""
import json

from .test_models import BF16_COSINE


def test_bench_sections_on_the_sample(tmp_path, e5_dir, capsys):
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.io.sample import Sample

    topics = tmp_path / "topics.tsv"
    topics.write_text("".join(Sample().topics("dev", "sw").read_text(encoding="utf-8").splitlines(keepends=True)[:12]),
                      encoding="utf-8")
    out = tmp_path / "bench.json"
    assert main(["bench", "--limit", "6", "--topics", str(topics), "--sections", "queries", "augment", "search",
                 "ann", "generate", "--search-passages", "3000",
                 "--output", str(out)]) == 0
    figures = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "### Search: flat index of 3,000" in printed and "plugin/raw" in printed
    assert sorted(figures["search"]["by_k"], key=int) == ["10", "100", "1000"] and figures["search"]["queries"] == 1000
    assert all(row["same_run"] is True for row in figures["search"]["by_k"].values())  # the plugin's run is Pyserini's
    # Pyserini's encoder runs fp32; the plugin's runs what --dtype auto gives here
    bf16 = figures["queries"]["plugin_dtype"] == "bfloat16"
    assert figures["queries"]["min_cosine"] >= (BF16_COSINE if bf16 else 0.999)
    assert figures["augment"]["queries"] == 6 * 24  # the sample's 24 reference queries for each of 6 passages
    assert 0 < figures["ann"]["HNSW32"]["recall"]["10"] <= 1
    assert figures["generate"]["tokens"] > 0
    # beside the figures, the tables as a report that carries its run's record (for the docs' pages)
    from pyserini_xqg.io.provenance import parse_header

    run, tables = parse_header(out.with_suffix(".md").read_text())
    assert run == figures["run"] and run["command"].startswith("python -m pyserini_xqg bench --limit 6 ")
    assert "### Search: flat index of 3,000" in tables
    assert all(line in printed for line in tables.splitlines()[2:] if line)  # the tables the bench printed


def test_bench_memory_row_runs_in_a_fresh_process(tmp_path):
    from pyserini_xqg.apps.bench import Bench
    from pyserini_xqg.io.sample import Sample

    s = Sample()
    bench = Bench(str(s.corpus), [str(s.topics("dev", "sw"))], tmp_path, limit=2, log=lambda *a: None)
    table = bench.memory(40, scales=((2, 8),))
    (row,) = bench.figures["memory"]
    assert (row["passages"], row["queries"]) == (80, 1280) and 200 < row["peak_rss_mb"] < 4000
    assert "| 80 | 1,280 |" in table


def test_bench_refuses_unknown_sections(capsys):
    from pyserini_xqg.__main__ import main

    assert main(["bench", "--sections", "warp-drive"]) == 2
    assert "unknown bench sections ['warp-drive']" in capsys.readouterr().err


def test_bench_translate_section_times_both_back_ends(tmp_path, tiny_seq2seq, one_torch_thread):
    from pyserini_xqg.apps.bench import Bench
    from pyserini_xqg.io.sample import Sample

    s = Sample()
    bench = Bench(str(s.corpus), [str(s.topics("dev", "sw"))], tmp_path, limit=2, log=lambda *a: None)
    table = bench.translate(str(tiny_seq2seq("nllb")), count=24)
    figures = bench.figures["translate"]
    assert figures["texts"] == 24 and figures["same_outputs"] == 24  # the same greedy output from both
    assert figures["transformers"]["texts_per_s"] > 0 and figures["ratio"] > 0
    assert "| ctranslate2 | 24 |" in table
