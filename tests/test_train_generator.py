"""train-generator: a tiny mT5 learns from the sample's train split and then generates."""
import json

import pytest

from pyserini_xqg.__main__ import main
from pyserini_xqg.io.files import DataError
from pyserini_xqg.train.generator import file_pairs, sample_pairs

from .conftest import read_jsonl, write


def test_sample_pairs_come_from_the_train_split():
    pairs = sample_pairs()
    assert len(pairs) == 600
    passage, lang, question = pairs[0]
    assert int(passage.docid[1:]) % 2 == 0 and lang == "ar" and question.endswith("؟")


def test_file_pairs_and_errors(tmp_path):
    good = write(tmp_path / "train.jsonl", json.dumps({"question": "Mto gani mrefu?", "lang": "sw",
                                                      "positive_ctxs": [{"title": "Nile", "text": "The Nile."}]}) + "\n")
    ((passage, lang, question),) = file_pairs(good)
    assert (passage.title, lang, question) == ("Nile", "sw", "Mto gani mrefu?")
    bad = write(tmp_path / "bad.jsonl", json.dumps({"question": "?", "positive_ctxs": []}) + "\n")
    with pytest.raises(DataError, match="bad.jsonl:1: expected question"):
        file_pairs(bad)


def test_train_then_generate(tiny_mt5, mini_corpus, tmp_path, capsys):
    out = tmp_path / "generator"
    assert main(["train-generator", "--model", tiny_mt5, "--output", str(out), "--steps", "30",
                 "--batch-size", "4", "--learning-rate", "3e-3"]) == 0
    log = json.loads((out / "training.json").read_text())
    first, last = sum(log["loss"][:5]) / 5, sum(log["loss"][-5:]) / 5
    assert last < first - 1.0, (first, last)
    assert main(["generate", "--corpus", str(mini_corpus), "--output", str(tmp_path / "q.jsonl"),
                 "--generator", f"hf:{out}", "--langs", "ko", "--n", "2", "--max-new-tokens", "8"]) == 0
    records = read_jsonl(tmp_path / "q.jsonl")
    assert len(records) == 6 and records[0]["provenance"]["model"] == str(out)
