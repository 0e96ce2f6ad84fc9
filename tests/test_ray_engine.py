"""``--engine ray``: generate and encode on a local Ray instance (2 workers) equal the local engine."""
import json
from contextlib import nullcontext

import faiss
import numpy as np
import pytest

from pyserini_xqg import jvm
from pyserini_xqg.__main__ import main
from pyserini_xqg.engines import ray as ray_engine
from pyserini_xqg.index import dense as dense_index
from pyserini_xqg.io.collection import shard
from pyserini_xqg.io.sample import Sample
from pyserini_xqg.search import dense

from .conftest import read_jsonl, write

SAMPLE = Sample()
LANGS = SAMPLE.languages[:2]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module: the engine uses it rather than starting its own."""
    def handlers():  # the handler address, the first field of struct sigaction (the rest holds padding)
        return {sig: raw[:8] for sig, raw in jvm.native_signal_handlers().items()}

    before = handlers()
    with ray_engine.session(workers=2) as ray:
        assert ray.is_initialized() and handlers() == before
        yield
    assert handlers() == before  # Ray's shutdown would leave SIGSEGV to crash the JVM


def records(path) -> dict:
    rows = read_jsonl(path)
    keyed = {(r["docid"], r["lang"]): r for r in rows}
    assert len(keyed) == len(rows), "a (docid, lang) record written twice"
    return keyed


def test_corpus_shards_are_pyserini_shards_on_batch_boundaries():
    items = list(range(100))
    assert ray_engine.corpus_shards(items, 3) == [shard(items, i, 3) for i in range(3)]
    parts = ray_engine.corpus_shards(items, 3, align=8)
    assert [p[0] for p in parts] == [0, 32, 64] and sum(parts, []) == items
    assert len(ray_engine.corpus_shards(items[:5], 4, align=2)) == 3  # never an empty shard


def test_generate_ray_equals_local(local_ray, tiny_mt5, tmp_path):
    args = ["generate", "--corpus", str(SAMPLE.corpus), "--generator", f"hf:{tiny_mt5}", "--langs", *LANGS,
            "--n", "2", "--max-new-tokens", "4", "--seed", "3"]
    assert main([*args, "--output", str(tmp_path / "local.jsonl")]) == 0
    # 3 shards on 2 workers; batch size 8 does not divide Pyserini's shard size (33), so shards end on batches
    ray_args = [*args, "--output", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--workers", "2", "--shards", "3"]
    assert main(ray_args) == 0
    local = records(tmp_path / "local.jsonl")
    assert len(local) == 100 * len(LANGS) and all(len(r["queries"]) == 2 for r in local.values())
    assert records(tmp_path / "ray.jsonl") == local
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.jsonl", "ray.jsonl"]  # work folder removed
    assert main(ray_args) == 2  # an existing output is refused, not appended to


@pytest.fixture(scope="module")
def xqg_queries(local_ray, tmp_path_factory):
    """The sample's reference queries in two languages, imported by both engines (which must agree);
    one language dropped for p091-p100 so the counts vary (agg=auto must then take the mean everywhere)."""
    folder = tmp_path_factory.mktemp("xqg")
    args = ["generate", "--corpus", str(SAMPLE.corpus), "--generator", f"file:{SAMPLE.reference_queries}",
            "--langs", *LANGS]
    assert main([*args, "--output", str(folder / "local.jsonl")]) == 0
    assert main([*args, "--output", str(folder / "ray.jsonl"), "--engine", "ray"]) == 0
    local = records(folder / "local.jsonl")
    assert len(local) == 100 * len(LANGS) and records(folder / "ray.jsonl") == local
    kept = [line for line in (folder / "local.jsonl").read_text(encoding="utf-8").splitlines()
            if not any(f'"docid": "p{n:03d}", "lang": "{LANGS[0]}"' in line for n in range(91, 101))]
    assert len(kept) == 100 * len(LANGS) - 10
    return write(folder / "queries.jsonl", "\n".join(kept) + "\n")


@pytest.mark.parametrize("xqg", [False, True], ids=["dense", "xqg"])
def test_encode_ray_equals_local(local_ray, e5_dir, xqg_queries, tmp_path, xqg):
    # short passages: a short test; fp32, since a bf16 vector depends on the batch it lands in (test_encoders)
    args = ["encode", "--corpus", str(SAMPLE.corpus), "--max-length", "64", "--dtype", "fp32"]
    if xqg:
        args += ["--xqg", str(xqg_queries), "--layout", "side-by-side"]
    local, distributed = tmp_path / "local", tmp_path / "ray"
    warns = (lambda: pytest.warns(UserWarning, match="agg=auto takes the mean")) if xqg else nullcontext
    with warns():
        assert main([*args, "--index", str(local)]) == 0
    with warns():
        assert main([*args, "--index", str(distributed), "--engine", "ray", "--workers", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local", "ray"]  # work folder removed

    assert (distributed / "docid").read_text() == (local / "docid").read_text()
    a, b = (faiss.read_index(str(p / "index")) for p in (local, distributed))
    assert (a.ntotal, a.d) == (b.ntotal, b.d) == (100, 768 if xqg else 384)
    np.testing.assert_allclose(b.reconstruct_n(0, b.ntotal), a.reconstruct_n(0, a.ntotal), atol=1e-5)
    meta = dense_index.read_meta(distributed)
    assert meta.pop("engine") == {"name": "ray", "workers": 2, "shards": 2}
    assert meta == dense_index.read_meta(local)  # encoder, counts and the xQG summary
    if xqg:
        assert meta["xqg"]["agg"] == "mean" and meta["xqg"]["queries"] == 4 * 100 - 20
        assert meta["xqg"]["n_per_passage"] == {"min": 2, "max": 4, "mean": 3.8}

    # Pyserini's own FaissSearcher loads the merged index and ranks as it does the local one
    encoder = dense.query_encoder_for(distributed, a=0.3 if xqg else None)
    topic = SAMPLE.topics("dev", LANGS[0]).read_text(encoding="utf-8").splitlines()[0].split("\t")[1]
    hits = [dense.searcher(p, encoder).search(topic, k=5) for p in (local, distributed)]
    assert [h.docid for h in hits[1]] == [h.docid for h in hits[0]] and len(hits[0]) == 5
    np.testing.assert_allclose([h.score for h in hits[1]], [h.score for h in hits[0]], atol=1e-4)


def test_noisy_xqg_on_ray_equals_local(tiny_model, mini_corpus, tmp_path, monkeypatch):
    """Noisy xQG's copies (NFD ones included, which a JSONL round trip would undo) and counts are the local
    engine's. The shards run in this process (Ray's scheduling is the tests' above), which keeps the test short."""
    monkeypatch.setattr(ray_engine, "session", lambda *args: nullcontext())
    monkeypatch.setattr(ray_engine, "_run", lambda ray, worker, kwargs, count, *rest: worker(**kwargs)(
        {"shard_id": list(range(count))}))
    generated = write(tmp_path / "queries.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"docid": "d1", "lang": "sw", "queries": ["Mto Nile unapita nchi gani?"]},
        {"docid": "d4", "lang": "ja", "queries": ["ハングルを作ったのは誰？", "世宗は誰？"]},
        {"docid": "d6", "lang": "fi", "queries": ["Mikä on Suomen pääkaupunki?"]}]))
    args = ["encode", "--corpus", str(mini_corpus), "--encoder", tiny_model, "--pooling", "mean", "--dtype", "fp32",
            "--xqg", str(generated), "--agg", "mean", "--xqg-noise", "keyboard-typo", "nfd", "--xqg-noise-copies", "2"]
    local, distributed = tmp_path / "local", tmp_path / "ray"
    with pytest.warns(UserWarning, match="cover 3 of 6 passages"):
        assert main([*args, "--index", str(local)]) == 0
    with pytest.warns(UserWarning, match="cover 3 of 6 passages"):
        assert main([*args, "--index", str(distributed), "--engine", "ray", "--workers", "2"]) == 0
    a, b = (faiss.read_index(str(p / "index")) for p in (local, distributed))
    np.testing.assert_allclose(b.reconstruct_n(0, b.ntotal), a.reconstruct_n(0, a.ntotal), atol=1e-5)
    meta = dense_index.read_meta(distributed)
    assert meta.pop("engine")["shards"] == 2 and meta == dense_index.read_meta(local)
    # Swahili: keyboard-typo (NFD changes no ASCII); Finnish: either (NFD splits ä); Japanese: NFD on グ, none on 世宗
    made = meta["xqg"]["noise"]["made"]
    assert sum(made.values()) == 6 and made["nfd"] >= 2 and meta["xqg"]["noise"]["skipped"] == 2
    assert meta["xqg"]["queries"] == 4 + 6
