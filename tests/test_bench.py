"""The bench in a reduced setting: every in-process section runs and reports coherent figures."""
import json

from .conftest import FORCED
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
    assert run == figures["run"] and run["command"].removeprefix(FORCED).startswith("python -m pyserini_xqg bench --limit 6 ")
    assert "### Search: flat index of 3,000" in tables
    assert all(line in printed for line in tables.splitlines()[2:] if line and not line.startswith("## "))
    # one "## NAME" section per section run, so that a docs page can quote one of them
    assert [line[3:] for line in tables.splitlines() if line.startswith("## ")] == [
        "queries", "augment", "search", "ann", "generate"]
    from pyserini_xqg.apps.pages import sections_of

    assert "### Search: flat index of 3,000" in sections_of(tables, ["search"], out, 1)


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


def test_bench_says_why_an_encoding_target_is_missed(tmp_path, e5_dir):
    from pyserini_xqg.apps.bench import Bench
    from pyserini_xqg.io.sample import Sample

    s = Sample()
    bench = Bench(str(s.corpus), [str(s.topics("dev", "sw"))], tmp_path, limit=2, log=lambda *a: None)
    bench._peak = {"float32": 100e9, "bfloat16": 400e9}  # as if measured

    per_passage = bench._useful_flops() / 2
    assert 1e9 < per_passage < 20e9  # a sample passage: some 50-300 tokens at ~45 MFLOP a token
    ceiling = 100e9 / per_passage
    missed = bench._encode_ceiling(rate=0.5 * ceiling, base=0.25 * ceiling, dtype="float32")
    assert not missed["met"] and missed["target"] == 3.0
    assert abs(missed["share_of_matmul"] - 0.5) < 1e-9 and abs(missed["ceiling_speedup"] - 4.0) < 1e-9
    assert missed["line"].startswith("target 3x (fp32): missed: at 50% of the fp32 matmul (100 GFLOP/s")
    assert "= 4.0x pyserini.encode, so 3x needs 75% of the matmul" in missed["line"]
    over = bench._encode_ceiling(rate=1.2 * ceiling, base=0.3 * ceiling, dtype="float32")  # a slow matmul moment
    assert over["met"] and "at 120% of the fp32 matmul" in over["line"] and "above 100%" in over["line"]
    assert "above 100%" not in missed["line"]
    met = bench._encode_ceiling(rate=0.8 * ceiling, base=0.05 * ceiling, dtype="bfloat16")
    assert met["met"] and met["target"] == 10.0 and met["line"].startswith("target 10x (bf16): met: at 20% of the bf16")


def test_bench_train_section_times_fp32_and_bf16_side_by_side(tmp_path, e5_dir, capsys):
    """train: steps/s of train-encoder in fp32 and bf16 from child processes, the ratio, the peak memory, and
    a verdict that says whether this CPU can show the target at all."""
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.encode.dtype import cpu_has_native_bf16

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"question": f"q{i}?", "positive_ctxs": [{"text": f"passage number {i}"}]})
                             + "\n" for i in range(8)), encoding="utf-8")
    out = tmp_path / "bench.json"
    assert main(["bench", "--limit", "2", "--sections", "train", "--train", str(pairs), "--train-steps", "2",
                 "--output", str(out)]) == 0
    figures = json.loads(out.read_text())["train"]
    assert {figures[d]["steps"] for d in ("fp32", "bf16")} == {2}
    assert all(figures[d]["steps_per_s"] > 0 and figures[d]["peak_rss_mb"] > 100 for d in ("fp32", "bf16"))
    assert abs(figures["ratio"] - figures["bf16"]["steps_per_s"] / figures["fp32"]["steps_per_s"]) < 1e-9
    printed = capsys.readouterr().out
    assert f"bf16 {figures['ratio']:.2f}x fp32 steps/s" in printed
    assert ("target 2x" in printed) if cpu_has_native_bf16() else ("no native bf16 on this CPU" in printed)
