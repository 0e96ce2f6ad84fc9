"""``--device``: one decision (``encode.device``), taken by every command that runs a model, reaching each model.

On a machine without CUDA the models must land on the CPU and ``cuda`` is refused; where torch sees a CUDA
device, the same tests run the models there."""
import gc
import json
from dataclasses import replace

import pytest
import torch
from transformers import PreTrainedModel

from pyserini_xqg.__main__ import main
from pyserini_xqg.encode import embedder
from pyserini_xqg.encode.dtype import auto_cpu_dtype
from pyserini_xqg.io.provenance import latest_report, parse_header
from pyserini_xqg.robustness import study, systems
from pyserini_xqg.train.encoder import EncoderTraining

from .conftest import write
from .test_study import LANGS, slice_of_sample  # noqa: F401 (a fixture)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
COMMANDS = {  # each command with its required options; none is read before --device is checked
    "train-encoder": ["--output", "model"],
    "train-generator": ["--model", "model", "--output", "generator"],
    "generate": ["--corpus", "corpus.jsonl", "--output", "queries.jsonl", "--generator", "hf:model", "--langs", "sw"],
    "encode": ["--corpus", "corpus.jsonl", "--index", "index"],
    "encode-queries": ["--index", "index", "--topics", "topics.tsv", "--output", "queries.npz"],
    "search": ["--index", "index", "--topics", "topics.tsv", "--output", "run.trec"],
    "attack": ["--topics", "topics.tsv", "--lang", "sw", "--attack", "char-swap", "--output", "attacked.tsv"],
    "robustness": ["--system", "dense=index", "--attacks", "char-swap", "--output", "report"],
    "study": ["--output", "study"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("device, says", [("tpu", "must be cpu, cuda or cuda:N, not 'tpu'"),
                                          ("cuda:x", "must be cpu, cuda or cuda:N, not 'cuda:x'")])
def test_an_unknown_device_is_one_error_line(command, device, says, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([command, *COMMANDS[command], "--device", device]) == 2
    assert capsys.readouterr().err == f"error: --device {says}\n"
    assert not list(tmp_path.iterdir())  # refused before any work


@pytest.mark.skipif(torch.cuda.is_available(), reason="torch sees a CUDA device here")
@pytest.mark.parametrize("command", COMMANDS)
def test_cuda_where_torch_sees_none_is_one_error_line(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([command, *COMMANDS[command], "--device", "cuda"]) == 2
    assert capsys.readouterr().err == "error: --device cuda: torch sees no CUDA device here; use --device cpu\n"


def live_models() -> dict[int, PreTrainedModel]:
    gc.collect()
    return {id(m): m for m in gc.get_objects() if issubclass(type(m), PreTrainedModel)}


def models_run_by(argv: list[str]) -> list[PreTrainedModel]:
    """The transformers models that ``argv`` loaded and still holds (the encoders' cache keeps them)."""
    embedder._load.cache_clear()
    before = live_models()  # held, so that no new model takes an old one's id
    assert main(argv) == 0
    return [m for i, m in live_models().items() if i not in before]


def on_device(models: list[PreTrainedModel]) -> bool:
    return bool(models) and all(p.device.type == DEVICE for m in models for p in m.parameters())


def test_encode_search_and_robustness_run_their_encoders_on_the_device(tiny_model, mini_corpus, tmp_path):
    index = tmp_path / "dense"
    topics = write(tmp_path / "sw.tsv", "q1\tZiwa Baikal lenye kina kirefu\nq2\tMlima Kilimanjaro Afrika\n")
    qrels = write(tmp_path / "qrels.txt", "q1 0 d3 1\nq2 0 d5 1\n")
    answers = write(tmp_path / "answers.jsonl", '{"qid": "q1", "answers": ["Baikal"]}\n'
                                                '{"qid": "q2", "answers": ["Kilimanjaro"]}\n')
    assert on_device(models_run_by(["encode", "--corpus", str(mini_corpus), "--index", str(index), "--encoder",
                                    tiny_model, "--device", DEVICE]))
    assert on_device(models_run_by(["search", "--index", str(index), "--topics", str(topics), "--output",
                                    str(tmp_path / "run.trec"), "--device", DEVICE]))
    assert on_device(models_run_by(["robustness", "--system", f"dense={index}", "--topics", f"sw={topics}", "--qrels",
                                    str(qrels), "--answers", str(answers), "--corpus", str(mini_corpus), "--attacks",
                                    "char-swap", "--seeds", "0", "--measures", "nDCG@10", "--output",
                                    str(tmp_path / "report"), "--device", DEVICE]))
    record, _ = parse_header(latest_report(tmp_path / "report", "robustness", ".md").read_text(encoding="utf-8"))
    assert record["device"] == DEVICE


def test_the_study_trains_and_encodes_on_the_device_and_reuses_across_devices(slice_of_sample, tiny_model,  # noqa: F811
                                                                              tmp_path):
    d, out = slice_of_sample, tmp_path / "study"
    models = models_run_by([
        "study", "--corpus", str(d / "corpus.jsonl"), "--topics", *(f"{l}={d / f'dev.{l}.tsv'}" for l in LANGS),
        "--qrels", str(d / "qrels.txt"), "--answers", str(d / "answers.jsonl"), "--train", str(d / "train.jsonl"),
        "--generator", f"file:{d / 'queries.jsonl'}", "--model", tiny_model, "--steps", "1", "--attacks", "char-swap",
        "--seeds", "0", "--measures", "nDCG@10", "--output", str(out), "--device", DEVICE])
    assert len(models) == 2 and on_device(models)  # the starting encoder and the fine-tuned one
    trained = out / "encoders" / systems.Trained(1, 0).folder(systems.FT)
    assert json.loads((trained / "training.json").read_text())["args"]["device"] == DEVICE
    assert json.loads(latest_report(out, "study").read_text())["settings"]["run"]["device"] == DEVICE
    # what one device trained, another reuses (were it trained again, it would be on a device torch may not have)
    said = []
    other = EncoderTraining(str(trained), tiny_model, str(d / "train.jsonl"), 1, device="cuda:7",
                            dtype=auto_cpu_dtype())  # as the study trains: in the dtype it encodes in
    systems._trained(other, systems.Timings(tmp_path / "timings.json"), said.append)
    assert said == [f"{trained.name}: reusing {trained}"]
    settings = systems.Settings()
    assert study.report_stem(systems.Collection.sample(), replace(settings, device="cuda"), None) == \
        study.report_stem(systems.Collection.sample(), settings, None)
