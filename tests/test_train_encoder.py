"""train-encoder: contrastive fine-tuning with BM25 hard negatives; the saved model keeps its recipe."""
import json

import pytest

from pyserini_xqg.__main__ import main
from pyserini_xqg.encode.embedder import Recipe, default_recipe
from pyserini_xqg.io.sample import Sample
from pyserini_xqg.train.encoder import file_examples, sample_examples

from .conftest import write


def test_sample_examples_have_bm25_hard_negatives():
    examples = sample_examples()
    assert len(examples) == 600
    with_negative = [e for e in examples if e.negative is not None]
    assert len(with_negative) > 550
    assert all(e.negative.docid != e.positive.docid for e in with_negative)
    assert {e.lang for e in examples} == set(Sample().languages)  # query noise perturbs each in its language


def test_file_examples(tmp_path):
    path = write(tmp_path / "t.jsonl", json.dumps({"question": "Q?", "positive_ctxs": [{"title": "T", "text": "P"}],
                                                  "hard_negative_ctxs": [{"text": "N"}], "lang": "SWA"}) + "\n")
    ((query, positive, negative, lang),) = file_examples(str(path))
    assert (query, positive.text, negative.text, lang) == ("Q?", "P", "N", "sw")


def test_training_lowers_the_loss_and_saves_the_recipe(tiny_model, tmp_path):
    model = tmp_path / "start"
    import shutil

    shutil.copytree(tiny_model, model)
    (model / "pyserini_xqg_recipe.json").write_text(json.dumps({"pooling": "mean", "l2_norm": True}))
    out = tmp_path / "tuned"
    assert main(["train-encoder", "--model", str(model), "--output", str(out), "--steps", "40",
                 "--batch-size", "8", "--learning-rate", "1e-3"]) == 0
    log = json.loads((out / "training.json").read_text())
    assert sum(log["loss"][-8:]) / 8 < sum(log["loss"][:8]) / 8
    assert default_recipe(str(out)) == Recipe(pooling="mean", l2_norm=True)
    assert main(["encode", "--corpus", str(tmp_path.parent / "x.jsonl"), "--index", str(tmp_path / "i"),
                 "--encoder", str(out)]) == 2  # a missing corpus is a clear error, not a crash


def _tiny_training_file(tmp_path):
    """Eight DPR-style pairs with passages of very different lengths (so token-budget chunks differ)."""
    rows = [{"question": f"question {i}?", "lang": "sw",
             "positive_ctxs": [{"title": f"T{i}", "text": " ".join([f"word{i}"] * (3 + 20 * i))}],
             "hard_negative_ctxs": [{"text": f"other {i}"}]} for i in range(8)]
    return write(tmp_path / "pairs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def test_training_dtype_follows_the_encoding_rule_and_is_recorded(tiny_model, tmp_path, monkeypatch):
    """fp32 and bf16 (autocast, fp32 weights) as asked; auto as encoding decides (here forced through
    $PYSERINI_XQG_DTYPE, so that the test means the same on either CPU kind); fp16 refused."""
    import torch

    from pyserini_xqg.train.encoder import training_dtype

    pairs = _tiny_training_file(tmp_path)
    common = ["train-encoder", "--model", tiny_model, "--train", str(pairs), "--steps", "2", "--batch-size", "4"]
    for forced, asked, expected in (("fp32", "bf16", "bf16"), ("bf16", "fp32", "fp32"), ("bf16", "auto", "bf16"),
                                    ("fp32", "auto", "fp32")):
        monkeypatch.setenv("PYSERINI_XQG_DTYPE", forced)
        out = tmp_path / f"{forced}-{asked}"
        assert main([*common, "--dtype", asked, "--output", str(out)]) == 0
        log = json.loads((out / "training.json").read_text())
        assert (log["dtype"], log["args"]["dtype"]) == (expected, asked)
        from safetensors.torch import load_file

        assert {t.dtype for t in load_file(str(out / "model.safetensors")).values()} == {torch.float32}
    assert training_dtype("auto", "cpu") == "fp32"  # the last forced value
    with pytest.raises(ValueError, match="auto, fp32 or bf16, not 'fp16'"):  # fp16 would need loss scaling
        training_dtype("fp16")
    with pytest.raises(SystemExit) as refused:  # and the command line offers no fp16
        main([*common, "--dtype", "fp16", "--output", str(tmp_path / "x")])
    assert refused.value.code == 2


def test_passages_in_token_budget_chunks_are_the_batch_in_its_order(tiny_model):
    """A batch's passages cut into token-budget chunks (and put back in order) give the vectors of one padded
    batch, to float precision (dropout off), with gradients; the chunks really are several."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from pyserini_xqg.encode.embedder import token_batches
    from pyserini_xqg.train.encoder import encode_in_chunks

    tokenizer, model = AutoTokenizer.from_pretrained(tiny_model), AutoModel.from_pretrained(tiny_model).eval()
    texts = [" ".join([f"word{i}"] * (3 + 20 * i)) for i in (5, 0, 3, 1, 6, 2)]
    recipe = Recipe(pooling="mean", l2_norm=True)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=100)["input_ids"]]
    assert len(token_batches(lengths, len(texts), 150)) >= 3
    whole = encode_in_chunks(model, tokenizer, recipe, texts, 100, 100_000)
    chunked = encode_in_chunks(model, tokenizer, recipe, texts, 100, 150)
    assert torch.allclose(whole, chunked, atol=1e-5) and chunked.requires_grad
    assert not torch.allclose(chunked[0], chunked[1], atol=1e-3)  # distinct texts, distinct vectors: order matters
