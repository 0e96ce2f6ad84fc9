"""train-encoder: contrastive fine-tuning with BM25 hard negatives; the saved model keeps its recipe."""
import json

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
