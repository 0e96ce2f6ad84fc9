import json
import os
from pathlib import Path

import pytest

FORCED = f"PYSERINI_XQG_DTYPE={os.environ['PYSERINI_XQG_DTYPE']} " if os.environ.get("PYSERINI_XQG_DTYPE") else ""
"""How a recorded command begins when the suite runs with the dtype forced (the other CPU kind's check)."""


@pytest.fixture(scope="session")
def e5_dir():
    """The built-in model, rebuilt once into the user cache (idempotent)."""
    from pyserini_xqg.encode.models import prepare

    return prepare()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A 2-layer BERT with random weights and the XLM-R tokenizer, saved as a local model folder."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    from pyserini_xqg.encode.models import _sources

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=1)
    BertModel(config, add_pooling_layer=False).save_pretrained(path)
    XLMRobertaTokenizerFast(tokenizer_file=str(_sources()[1]), model_max_length=128).save_pretrained(path)
    return str(path)


@pytest.fixture
def mini_corpus(tmp_path):
    """Six short passages on distinct subjects."""
    rows = [
        ("d1", "Nile", "The Nile flows north through Egypt into the Mediterranean Sea."),
        ("d2", "Fuji", "Mount Fuji is the highest mountain in Japan, a volcano near Tokyo."),
        ("d3", "Baikal", "Lake Baikal in Siberia is the deepest lake on Earth."),
        ("d4", "Sejong", "King Sejong created the Korean alphabet Hangul in the fifteenth century."),
        ("d5", "Kilimanjaro", "Kilimanjaro in Tanzania is the highest mountain in Africa."),
        ("d6", "Helsinki", "Helsinki is the capital of Finland, on the Gulf of Finland."),
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"id": i, "title": t, "contents": c}) + "\n" for i, t, c in rows))
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_mt5(tmp_path_factory):
    """A 2-layer mT5 with random weights and the XLM-R tokenizer: a stand-in generator."""
    import torch
    from transformers import MT5Config, MT5ForConditionalGeneration, XLMRobertaTokenizerFast

    from pyserini_xqg.encode.models import _sources

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-mt5")
    config = MT5Config(vocab_size=250037, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                       num_heads=2, pad_token_id=1, eos_token_id=2, decoder_start_token_id=1,
                       tie_word_embeddings=True)
    MT5ForConditionalGeneration(config).save_pretrained(path)
    XLMRobertaTokenizerFast(tokenizer_file=str(_sources()[1]), model_max_length=512).save_pretrained(path)
    return str(path)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_seq2seq(tmp_path_factory):
    """``tiny_seq2seq(family, ct2=False) -> Path``: a tiny random translation model of ``family``
    (``tests.tiny_models.FAMILIES``: nllb, m2m100, mbart50, marian, mt5), or its CTranslate2 conversion;
    built once per session. (``tiny_model`` is the BERT encoder above.)"""
    from . import tiny_models

    built: dict = {}

    def get(family: str, ct2: bool = False) -> Path:
        if family not in built:
            built[family] = tiny_models.build(family, tmp_path_factory.mktemp(f"tiny-{family}"))
        if ct2 and (family, "ct2") not in built:
            built[family, "ct2"] = tiny_models.convert_ct2(built[family], tmp_path_factory.mktemp(f"tiny-{family}-ct2")
                                                           / "model")
        return built[family, "ct2"] if ct2 else built[family]

    return get


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models decode step by step: on 2 busy cores, 2 torch threads ran 25-90x slower than one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, e5_dir):
    """The demo on the built-in sample, once, in fp32 on any CPU (the committed sample page is fp32): the
    folder ROOT with ROOT/runs/demo as ``python -m pyserini_xqg demo`` leaves it."""
    import os

    from pyserini_xqg.apps.demo import run_demo
    from pyserini_xqg.encode.dtype import ENV

    root = tmp_path_factory.mktemp("demo-root")
    before = os.environ.get(ENV)
    os.environ[ENV] = "fp32"
    try:
        results = run_demo(root / "runs" / "demo", log=lambda *a: None, argv=["demo"])
    finally:
        os.environ.pop(ENV) if before is None else os.environ.__setitem__(ENV, before)
    return root, results
