"""Query generation: hf and file back ends, sharding, and resuming after a kill."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pyserini_xqg.generate.queries import PROMPT, generate_queries as run, prompt
from pyserini_xqg.io.collection import Passage, shard
from pyserini_xqg.io.files import DataError
from pyserini_xqg.io.generated import read_generated

from .conftest import read_jsonl, write


def test_prompt_is_the_papers():
    text = prompt(PROMPT, "sw", Passage("d1", "The Nile is long.", "Nile"))
    assert text == "Generate a Swahili question for this passage: Nile The Nile is long."


def test_shards_like_pyserini():
    items = list(range(10))
    parts = [shard(items, i, 3) for i in range(3)]
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    with pytest.raises(ValueError, match="shard-id"):
        shard(items, 3, 3)


def test_hf_backend_batches_seeds_and_provenance(tiny_mt5, mini_corpus, tmp_path):
    out = run(mini_corpus, tmp_path / "q.jsonl", f"hf:{tiny_mt5}", ["sw", "yo"], n=3, batch_size=4,
              max_new_tokens=8, seed=1, progress=False)
    records = read_jsonl(out)
    assert {(r["docid"], r["lang"]) for r in records} == {(f"d{i}", l) for i in range(1, 7) for l in ("sw", "yo")}
    assert all(len(r["queries"]) == 3 for r in records)
    prov = records[0]["provenance"]
    assert prov["backend"] == "hf" and prov["model"] == tiny_mt5 and prov["seed"] == 1
    assert prov["decoding"] == {"do_sample": True, "top_k": 10, "max_new_tokens": 8, "num_return_sequences": 3}
    again = read_jsonl(run(mini_corpus, tmp_path / "q2.jsonl", f"hf:{tiny_mt5}", ["sw", "yo"], n=3, batch_size=4,
                           max_new_tokens=8, seed=1, progress=False))
    other = read_jsonl(run(mini_corpus, tmp_path / "q3.jsonl", f"hf:{tiny_mt5}", ["sw", "yo"], n=3, batch_size=4,
                           max_new_tokens=8, seed=2, progress=False))
    assert again == records and [r["queries"] for r in other] != [r["queries"] for r in records]


def test_shards_partition_the_output(tiny_mt5, mini_corpus, tmp_path):
    got = []
    for i in range(2):
        out = run(mini_corpus, tmp_path / f"s{i}.jsonl", f"hf:{tiny_mt5}", ["sw"], shard_id=i, shard_num=2, n=1,
                  max_new_tokens=4, progress=False)
        got.append([r["docid"] for r in read_jsonl(out)])
    assert got == [["d1", "d2", "d3"], ["d4", "d5", "d6"]]


def test_file_backend_reads_both_shapes(mini_corpus, tmp_path):
    released = write(tmp_path / "released.jsonl", json.dumps(
        {"docid": "d1", "title": "Nile", "text": "...", "generated_queries": {"sw": ["Mto Nile uko wapi?"],
                                                                              "ja": ["ナイル川はどこ？"]}}) + "\n")
    out = read_jsonl(run(mini_corpus, tmp_path / "a.jsonl", f"file:{released}", ["sw", "ja"], progress=False))
    assert [(r["docid"], r["lang"], r["queries"]) for r in out] == [("d1", "sw", ["Mto Nile uko wapi?"]),
                                                                     ("d1", "ja", ["ナイル川はどこ？"])]
    source = {"source": str(released), "sha256": hashlib.sha256(released.read_bytes()).hexdigest(), "n": None,
              "langs": ["sw", "ja"]}
    assert out[0]["provenance"] == {"backend": "file", "source": str(released), "format": "released",
                                    "imports": [source]}
    # the plugin's own output reads back unchanged, language filter applied, with the second import recorded
    again = read_jsonl(run(mini_corpus, tmp_path / "b.jsonl", f"file:{tmp_path / 'a.jsonl'}", ["ja"], progress=False))
    assert [{**r, "provenance": {**r["provenance"], "imports": r["provenance"]["imports"][:1]}} for r in again] == out[1:]
    assert again[0]["provenance"]["imports"][1]["source"] == str(tmp_path / "a.jsonl")


def test_file_import_keeps_the_first_n_and_refuses_to_resume_from_another_source(mini_corpus, tmp_path):
    rows = [{"docid": "d1", "lang": "sw", "queries": ["a?", "b?", "c?"], "provenance": {"backend": "x"}}]
    first = write(tmp_path / "first.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = read_jsonl(run(mini_corpus, tmp_path / "out.jsonl", f"file:{first}", ["sw"], n=2, progress=False))
    assert out[0]["queries"] == ["a?", "b?"] and out[0]["provenance"]["imports"][0]["n"] == 2
    rows[0]["queries"][0] = "changed?"  # another file of the same shape and name
    other = write(tmp_path / "other.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    for source, n in ((other, 2), (first, 3), (first, None)):
        with pytest.raises(DataError, match="out.jsonl:1: was made with other settings"):
            run(mini_corpus, tmp_path / "out.jsonl", f"file:{source}", ["sw"], n=n, progress=False)
    assert read_jsonl(tmp_path / "out.jsonl") == out  # untouched


def test_file_backend_errors(mini_corpus, tmp_path):
    bad = write(tmp_path / "bad.jsonl", '{"docid": "d1", "lang": "sw", "queries": ["ok?"]}\n{"docid": "d2"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: expected \{docid, lang, queries\}"):
        run(mini_corpus, tmp_path / "o.jsonl", f"file:{bad}", ["sw"], progress=False)
    unknown = write(tmp_path / "u.jsonl", '{"docid": "d1", "lang": "xx", "queries": ["?"]}\n')
    with pytest.raises(DataError, match="u.jsonl:1: unknown language code 'xx'"):
        list(read_generated(unknown))
    stray = write(tmp_path / "s.jsonl", '{"docid": "d99", "lang": "sw", "queries": ["?"]}\n')
    with pytest.raises(DataError, match="passage 'd99', which is not in"):
        run(mini_corpus, tmp_path / "o2.jsonl", f"file:{stray}", ["sw"], progress=False)
    with pytest.raises(DataError, match="expected NAME:ARG"):
        run(mini_corpus, tmp_path / "o3.jsonl", "magic", ["sw"], progress=False)


def test_killed_run_resumes_without_loss_or_duplicates(tiny_mt5, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i:02d}", "contents": f"Passage number {i} about rivers."}) + "\n"
                              for i in range(24)))
    out = tmp_path / "q.jsonl"
    cmd = [sys.executable, "-m", "pyserini_xqg", "generate", "--corpus", str(corpus), "--output", str(out),
           "--generator", f"hf:{tiny_mt5}", "--langs", "sw", "am", "--n", "2", "--batch-size", "2",
           "--max-new-tokens", "16"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 6):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(out.read_text().splitlines())
    assert 6 <= written < 48, "the run must be killed part way"
    with open(out, "a", encoding="utf-8") as f:
        f.write('{"docid": "p23", "lang": "am", "quer')  # a torn last write, as a kill mid-write leaves
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = read_jsonl(out)
    keys = [(r["docid"], r["lang"]) for r in records]
    assert len(keys) == len(set(keys)) == 48
    assert set(keys) == {(f"p{i:02d}", l) for i in range(24) for l in ("sw", "am")}
    assert all(len(r["queries"]) == 2 for r in records)


def test_top_k_sampler_with_k1_is_greedy_generate(tiny_mt5):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from pyserini_xqg.generate.queries import sample_top_k

    tokenizer = AutoTokenizer.from_pretrained(tiny_mt5)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_mt5).eval()
    inputs = dict(tokenizer(["Generate a Yoruba question for this passage: " + "river " * n for n in (40, 3, 12)],
                            return_tensors="pt", padding=True))
    ours = sample_top_k(model, inputs, n=1, top_k=1, max_new_tokens=12)
    assert torch.equal(ours, model.generate(**inputs, do_sample=False, max_new_tokens=12))
    torch.manual_seed(0)
    sampled = sample_top_k(model, inputs, n=4, top_k=10, max_new_tokens=12)
    assert sampled.shape[0] == 12 and len({tuple(r.tolist()) for r in sampled}) > 1
