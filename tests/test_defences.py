"""Defences against noisy queries: noise-aware fine-tuning (typos-aware training, self-teaching) and noisy xQG."""
import json
import unicodedata
from collections import Counter

import pytest
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from pyserini_xqg.__main__ import main
from pyserini_xqg.index import xqg
from pyserini_xqg.io.generated import read_generated
from pyserini_xqg.perturb.attacks import attack_topics
from pyserini_xqg.perturb.noise import Noise, with_copies
from pyserini_xqg.train.encoder import (EncoderTraining, contrastive_loss, file_examples, noise_key,
                                        training_queries)

from .conftest import write

TRAIN = [  # (lang, question, positive); the last record has no language
    ("sw", "Mto Nile unapita nchi gani?", "The Nile flows north through Egypt."),
    ("ja", "富士山はどこにありますか？", "Mount Fuji is the highest mountain in Japan."),
    ("ru", "Какое озеро самое глубокое?", "Lake Baikal in Siberia is the deepest lake on Earth."),
    ("fi", "Mikä on Suomen pääkaupunki?", "Helsinki is the capital of Finland."),
    ("ar", "أين يقع جبل كليمنجارو؟", "Kilimanjaro in Tanzania is the highest mountain in Africa."),
    ("sw", "¿? ...", "Punctuation only: no attack of the list changes it."),
    (None, "Who created Hangul?", "King Sejong created the Korean alphabet Hangul."),
]
ATTACKS = ["keyboard-typo", "romanize"]  # one or the other applies to each language above
FAST = ["--steps", "3", "--batch-size", "4", "--learning-rate", "1e-3"]


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    rows = [{"question": q, "positive_ctxs": [{"title": "", "text": p}], **({"lang": lang} if lang else {})}
            for lang, q, p in TRAIN]
    return write(tmp_path_factory.mktemp("train") / "train.jsonl",
                 "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@pytest.fixture(scope="module")
def trained(tiny_model, train_file, tmp_path_factory):
    """name -> (weights, training.json) of four short runs that differ only in their noise settings (the
    tokenizer, which takes most of a run's time to load, loaded once)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    runs = {"standard": [], "rate 0": ["--query-noise", *ATTACKS, "--noise-rate", "0"],
            "rate 1": ["--query-noise", *ATTACKS, "--noise-rate", "1"],
            "self-teaching": ["--query-noise", *ATTACKS, "--noise-rate", "1", "--self-teaching", "1"]}
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AutoTokenizer, "from_pretrained", lambda path: tokenizer)
        for name, options in runs.items():
            folder = tmp_path_factory.mktemp("model")
            assert main(["train-encoder", "--model", tiny_model, "--train", str(train_file), "--output", str(folder),
                         *FAST, *options]) == 0
            out[name] = load_file(folder / "model.safetensors"), json.loads((folder / "training.json").read_text())
    return out


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_noise_rate_zero_trains_as_standard_training_bit_for_bit(trained):
    (standard, log), (noisy, noisy_log) = trained["standard"], trained["rate 0"]
    assert same_weights(standard, noisy) and noisy_log["loss"] == log["loss"]
    assert noisy_log["args"]["query_noise"] == ATTACKS and noisy_log["args"]["noise_rate"] == 0
    assert noisy_log["query_noise"]["queries"] == {"clean": 12}  # 3 steps of 4
    assert log["args"]["query_noise"] == [] and log["args"]["self_teaching"] == 0 and "query_noise" not in log


def test_training_queries_are_the_attacks_seeded_output(train_file):
    examples = file_examples(str(train_file))
    noise = EncoderTraining("out", query_noise=ATTACKS, noise_rate=1, seed=7).noise()
    for step in (0, 5):
        made = training_queries(examples, step, noise, 1.0)
        for i, ((text, what), e) in enumerate(zip(made, examples)):
            if what in ATTACKS:
                key = noise_key(step, i)
                assert text == attack_topics({key: e.query}, e.lang, what, 0.1, 7)[0][key] != e.query
        # every query some listed attack applies to is perturbed: all but the punctuation and the one without
        # language; Latin script takes no romanize, Japanese no keyboard, Russian and Arabic either
        whats = [what for _, what in made]
        assert whats[:2] == ["keyboard-typo", "romanize"] and whats[3] == "keyboard-typo"
        assert {whats[2], whats[4]} <= set(ATTACKS) and whats[5:] == ["not applicable", "no language"]
    half = [training_queries(examples, step, noise, 0.5) for step in range(6)]
    assert half == [training_queries(examples, step, noise, 0.5) for step in range(6)]  # seeded: reruns agree
    drawn = Counter(what for made in half for _, what in made)
    assert 0 < drawn["clean"] < 6 * len(examples) and drawn["keyboard-typo"] + drawn["romanize"] > 0
    assert training_queries(examples, 0, None, 1.0) == [(e.query, "clean") for e in examples]


def test_noise_at_rate_one_perturbs_and_self_teaching_changes_the_weights(trained):
    (typos, log), (taught, taught_log) = trained["rate 1"], trained["self-teaching"]
    assert not same_weights(typos, trained["standard"][0]) and not same_weights(taught, typos)
    made = log["query_noise"]
    assert made["attacks"] == ATTACKS and made["rate"] == 0.1 and made["seed"] == 0
    assert sum(made["queries"].values()) == 12 and "clean" not in made["queries"]
    assert taught_log["args"]["self_teaching"] == 1 and taught_log["query_noise"]["queries"] == made["queries"]


def test_contrastive_loss_adds_the_self_teaching_kl_term():
    torch.manual_seed(0)
    q, q_noisy, p = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4, requires_grad=True), torch.randn(5, 4)
    clean, noisy = q @ p.T / 0.5, q_noisy @ p.T / 0.5
    ce = F.cross_entropy(clean, torch.arange(3))
    kl = F.kl_div(F.log_softmax(noisy, 1), F.softmax(clean, 1), reduction="sum") / 3  # KL(p_clean || p_noisy)
    by_hand = (F.softmax(clean, 1) * (F.log_softmax(clean, 1) - F.log_softmax(noisy, 1))).sum() / 3
    assert torch.allclose(kl, by_hand) and kl > 0
    loss = contrastive_loss(q, p, 0.5, q_noisy, 0.3)
    assert torch.allclose(loss, ce + 0.3 * kl)
    assert torch.equal(contrastive_loss(q, p, 0.5), ce)
    loss.backward()  # the clean distribution is the teacher: the KL term moves only the noisy query
    (ce_grad,) = torch.autograd.grad(F.cross_entropy(q @ p.T / 0.5, torch.arange(3)), q)
    assert torch.allclose(q.grad, ce_grad) and q_noisy.grad.abs().sum() > 0


@pytest.mark.parametrize("options, message", [
    (["--self-teaching", "1"], "--self-teaching needs --query-noise"),
    (["--query-noise", "paraphrase:m"], "rule-based attacks"),
    (["--query-noise", "romanize", "--noise-rate", "2"], "--noise-rate must be in [0, 1]"),
])
def test_bad_noise_settings_are_one_line_errors(tmp_path, capsys, options, message):
    assert main(["train-encoder", "--output", str(tmp_path / "m"), *options]) == 2
    assert message in capsys.readouterr().err


def test_noise_needs_the_queries_language(tmp_path, capsys):
    path = write(tmp_path / "t.jsonl", json.dumps({"question": "Q?", "positive_ctxs": [{"text": "P"}]}) + "\n")
    assert main(["train-encoder", "--output", str(tmp_path / "m"), "--train", str(path), "--query-noise",
                 "romanize"]) == 2
    assert "carry no 'lang'" in capsys.readouterr().err


GENERATED = {"d1": {"sw": ["Mto Nile unapita nchi gani?", "Nile inaishia wapi?"], "ja": ["ナイル川はどこに流れる？"]},
             "d2": {"sw": ["Mlima Fuji uko nchi gani?"], "ja": ["富士山は？"]},
             "d3": {"ja": ["バイカル湖はどこ？", "シベリアの湖は？"]}}


@pytest.fixture
def generated(tmp_path):
    lines = [json.dumps({"docid": d, "lang": lang, "queries": q}, ensure_ascii=False)
             for d, by_lang in GENERATED.items() for lang, q in by_lang.items()]
    return write(tmp_path / "generated.jsonl", "\n".join(lines) + "\n")


def encode(tiny_model, corpus, generated, index, *options):
    assert main(["encode", "--corpus", str(corpus), "--index", str(index), "--encoder", tiny_model, "--dtype", "fp32",
                 "--pooling", "mean", "--xqg", str(generated), "--agg", "mean", *options]) == 0
    return (index / "index").read_bytes(), (index / "docid").read_text(), json.loads((index / "meta.json").read_text())


def test_noisy_xqg(tiny_model, mini_corpus, generated, tmp_path):
    plain = encode(tiny_model, mini_corpus, generated, tmp_path / "plain")
    none = encode(tiny_model, mini_corpus, generated, tmp_path / "k0", "--xqg-noise", "keyboard-typo",
                  "--xqg-noise-copies", "0")
    assert none[:2] == plain[:2]  # K = 0: the plain xQG index, bit for bit
    assert none[2]["xqg"]["noise"] == {"attacks": ["keyboard-typo"], "rate": 0.1, "seed": 0, "copies": 0, "made": {},
                                       "skipped": 0}

    options = ["--xqg-noise", "keyboard-typo", "nfd", "--xqg-noise-copies", "2", "--xqg-noise-seed", "3"]
    noisy = encode(tiny_model, mini_corpus, generated, tmp_path / "k2", *options)
    assert noisy[:2] == encode(tiny_model, mini_corpus, generated, tmp_path / "again", *options)[:2]  # determinism
    assert noisy[0] != plain[0] and noisy[1] == plain[1]
    meta = noisy[2]["xqg"]
    # Swahili: keyboard-typo (NFD changes no Swahili query); Japanese: no keyboard, NFD where a kana is voiced
    # (ど, バ, ベ), so 富士山は？ gets no copy
    assert meta["noise"] == {"attacks": ["keyboard-typo", "nfd"], "rate": 0.1, "seed": 3, "copies": 2,
                             "made": {"keyboard-typo": 6, "nfd": 6}, "skipped": 2}
    assert meta["queries"] == 7 + 12 and meta["languages"] == {"ja": 4 + 6, "sw": 3 + 6}
    assert meta["n_per_passage"] == {"min": 0, "max": 9, "mean": 19 / 6}

    made = Counter()  # the copies are the attacks' seeded output, keyed by passage, language, query and copy
    records = list(with_copies(read_generated(generated), Noise(("keyboard-typo", "nfd"), 0.1, 3), 2, made))
    sw, ja = records[0]["queries"], records[1]["queries"]
    assert sw[0] == GENERATED["d1"]["sw"][0] and sw[3] == GENERATED["d1"]["sw"][1] and len(sw) == 6
    assert sw[2] == attack_topics({"d1|sw|0|1": sw[0]}, "sw", "keyboard-typo", 0.1, 3)[0]["d1|sw|0|1"] != sw[0]
    assert ja == [GENERATED["d1"]["ja"][0], *[unicodedata.normalize("NFD", GENERATED["d1"]["ja"][0])] * 2]
    assert made == Counter({"keyboard-typo": 6, "nfd": 6, "skipped": 2})


def test_noisy_xqg_index_folds_copies_in_as_generated_queries(tiny_model, mini_corpus, generated, tmp_path):
    """The noisy index is the plain index of a queries file that holds the copies."""
    from pyserini_xqg.encode.embedder import Embedder, Recipe

    embedder = Embedder(tiny_model, Recipe(pooling="mean"), dtype="fp32")
    noise = Noise(("keyboard-typo", "romanize"), 0.2, 1)
    expanded = write(tmp_path / "expanded.jsonl", "".join(
        json.dumps(r, ensure_ascii=False) + "\n" for r in with_copies(read_generated(generated), noise, 3, Counter())))
    noisy = xqg.build_index(mini_corpus, generated, tmp_path / "noisy", embedder, 0.3, "mean", progress=False,
                            noise=noise, copies=3)
    plain = xqg.build_index(mini_corpus, expanded, tmp_path / "plain", embedder, 0.3, "mean", progress=False)
    assert (noisy / "index").read_bytes() == (plain / "index").read_bytes()


def test_noisy_xqg_options_need_their_main_option(tiny_model, mini_corpus, generated, tmp_path, capsys):
    base = ["encode", "--corpus", str(mini_corpus), "--index", str(tmp_path / "i"), "--encoder", tiny_model]
    assert main([*base, "--xqg-noise", "romanize"]) == 2
    assert "--xqg-noise applies only with --xqg QUERIES" in capsys.readouterr().err
    assert main([*base, "--xqg", str(generated), "--xqg-noise-copies", "2"]) == 2
    assert "--xqg-noise-copies applies only with --xqg-noise ATTACK..." in capsys.readouterr().err
    assert main([*base, "--xqg", str(generated), "--xqg-noise", "romanize", "--xqg-noise-copies", "-1"]) == 2
    assert "whole number >= 0" in capsys.readouterr().err
