"""Tiny random translation models of every family the translation layer serves, built offline.

Each ``build_<family>(folder)`` trains a SentencePiece model in memory on the built-in sample's text
(passages and topics), wraps it in the family's own tokenizer class, builds the model from a small
config (d_model 32, 2 + 2 layers) with a fixed torch seed, and saves both into ``folder``. The weights
are random: outputs are token soup, often empty, but every calling convention is the real one.
``build(family, folder)`` dispatches; ``FAMILIES`` lists them.
"""
from __future__ import annotations

import functools
import io
import json
import tempfile
from pathlib import Path

SMALL = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
             encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128, dropout=0.0,
             attention_dropout=0.0, activation_dropout=0.0)
MARIAN_TARGETS = ("hau", "yor", "swh", "fr")
"""The ``>>xxx<<`` target tokens of the tiny multi-target Marian model (ISO 639-3, a macrolanguage member, 639-1)."""


def sample_texts() -> list[str]:
    """The built-in sample's passages and topic texts, in a fixed order."""
    from pyserini_xqg.io.files import RESOURCES, iter_jsonl

    sample = RESOURCES / "sample"
    texts = [obj["contents"] for _, obj in iter_jsonl(sample / "corpus.jsonl")]
    for path in sorted((sample / "topics").glob("*.tsv")):
        texts += [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return texts


@functools.lru_cache(maxsize=None)
def sentencepiece_model(model_type: str = "unigram", vocab_size: int = 1000, t5: bool = False) -> bytes:
    """A SentencePiece model trained in memory on the sample (about a second); T5's special ids if ``t5``."""
    import sentencepiece as spm

    ids = dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1) if t5 else {}
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sample_texts()), model_writer=out, vocab_size=vocab_size,
                                   model_type=model_type, character_coverage=0.99, hard_vocab_limit=False,
                                   num_threads=1, minloglevel=2, **ids)
    return out.getvalue()


def _spm_file(folder: Path, name: str, **kwargs) -> Path:
    path = folder / name
    path.write_bytes(sentencepiece_model(**kwargs))
    return path


def _seeded():
    import torch

    torch.manual_seed(0)


def nllb_tokenizer(spm_dir: Path):
    from transformers import NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    _spm_file(spm_dir, NllbTokenizer.vocab_files_names["vocab_file"], model_type="bpe")
    return NllbTokenizer.from_pretrained(spm_dir, extra_special_tokens=FAIRSEQ_LANGUAGE_CODES, model_max_length=128)


def build_nllb(folder: Path, **shape) -> Path:
    """NLLB-200: M2M100 architecture, the NLLB tokenizer with its 202 FLORES-200 codes."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = nllb_tokenizer(Path(tmp))
    config = M2M100Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          decoder_start_token_id=tokenizer.eos_token_id, scale_embedding=True,
                          tokenizer_class="NllbTokenizer", **{**SMALL, **shape})
    _seeded()
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_m2m100(folder: Path) -> Path:
    """M2M100: ``vocab.json`` and a SentencePiece file, two-letter codes as ``__xx__`` tokens."""
    import sentencepiece as spm
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        model = _spm_file(Path(tmp), "sentencepiece.bpe.model", model_type="bpe")
        pieces = spm.SentencePieceProcessor(model_file=str(model))
        vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        for i in range(pieces.get_piece_size()):
            vocab.setdefault(pieces.id_to_piece(i), len(vocab))
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = M2M100Tokenizer(str(Path(tmp) / "vocab.json"), str(model), model_max_length=128)
        tokenizer.save_pretrained(folder)
    size = tokenizer.encoder_size + len(tokenizer.lang_token_to_id) + tokenizer.num_madeup_words  # as M2M100's 128,112
    config = M2M100Config(vocab_size=size, pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          decoder_start_token_id=tokenizer.eos_token_id, scale_embedding=True, **SMALL)
    _seeded()
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def build_mbart50(folder: Path) -> Path:
    """mBART-50: the MBart50 tokenizer (``sw_KE``-style codes), decoding starts at ``</s>``."""
    from transformers import MBart50Tokenizer, MBartConfig, MBartForConditionalGeneration

    with tempfile.TemporaryDirectory() as tmp:
        _spm_file(Path(tmp), MBart50Tokenizer.vocab_files_names["vocab_file"])
        tokenizer = MBart50Tokenizer.from_pretrained(tmp, model_max_length=128)
    config = MBartConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=tokenizer.eos_token_id,
                         scale_embedding=True, tokenizer_class="MBart50Tokenizer", **SMALL)
    _seeded()
    MBartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_marian(folder: Path, targets: tuple[str, ...] = MARIAN_TARGETS, source_lang: str | None = None,
                 target_lang: str | None = None) -> Path:
    """Marian (OPUS-MT layout): ``source.spm``, ``target.spm``, a shared ``vocab.json`` with ``>>xxx<<``
    tokens for a multi-target model (none: a single-pair model, ``source_lang``/``target_lang`` declared)."""
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        source = _spm_file(Path(tmp), "source.spm")
        target = _spm_file(Path(tmp), "target.spm")
        pieces = spm.SentencePieceProcessor(model_file=str(source))
        vocab = {"</s>": 0, "<unk>": 1, **{f">>{t}<<": 2 + i for i, t in enumerate(targets)}}
        for i in range(pieces.get_piece_size()):
            vocab.setdefault(pieces.id_to_piece(i), len(vocab))
        vocab["<pad>"] = len(vocab)
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = MarianTokenizer(str(source), str(target), str(Path(tmp) / "vocab.json"), source_lang=source_lang,
                                    target_lang=target_lang, model_max_length=128)
        tokenizer.save_pretrained(folder)
    config = MarianConfig(vocab_size=len(vocab), pad_token_id=tokenizer.pad_token_id,
                          eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
                          forced_eos_token_id=tokenizer.eos_token_id, scale_embedding=True,
                          share_encoder_decoder_embeddings=True, **SMALL)
    _seeded()
    model = MarianMTModel(config)
    # OPUS-MT's generation settings: beam search by default, padding never emitted
    model.generation_config.update(num_beams=4, max_length=512, bad_words_ids=[[tokenizer.pad_token_id]])
    model.save_pretrained(folder)
    return folder


def build_mt5(folder: Path) -> Path:
    """A prompted model: mT5 with a T5 SentencePiece tokenizer (pad 0, eos 1, unk 2)."""
    from transformers import MT5Config, MT5ForConditionalGeneration, T5Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        _spm_file(Path(tmp), T5Tokenizer.vocab_files_names["vocab_file"], t5=True)
        tokenizer = T5Tokenizer.from_pretrained(tmp, model_max_length=128, extra_ids=0)
    config = MT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                       num_heads=2, dropout_rate=0.0, pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id)
    _seeded()
    MT5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


BUILDERS = {"nllb": build_nllb, "m2m100": build_m2m100, "mbart50": build_mbart50, "marian": build_marian,
            "mt5": build_mt5}
FAMILIES = tuple(BUILDERS)


def build(family: str, folder: str | Path, **options) -> Path:
    """A tiny random model of ``family`` (one of ``FAMILIES``) saved into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return BUILDERS[family](folder, **options)


def convert_ct2(model_dir: str | Path, output: str | Path) -> Path:
    """The model converted with CTranslate2, its tokenizer files and generation settings copied beside it."""
    import ctranslate2

    keep = [p.name for p in Path(model_dir).iterdir()
            if p.is_file() and p.name != "config.json" and not p.name.startswith(("model", "pytorch_model"))]
    ctranslate2.converters.TransformersConverter(str(model_dir), copy_files=keep).convert(str(output), force=True)
    return Path(output)


def build_swahili_paraphraser(folder: str | Path, words: str = " ziwa mlima kubwa nini wapi") -> Path:
    """The tiny mBART-50 allowed to write only a few Swahili words (every other token's logit is pushed down by
    ``final_logits_bias``): its back-translations are Latin-script token soup that differs from the query, so
    they pass the meaning filter's script check where no reference encoder is given."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = build("mbart50", Path(folder))
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModelForSeq2SeqLM.from_pretrained(folder)
    allowed = [*tokenizer.convert_tokens_to_ids(tokenizer.tokenize(words)), tokenizer.eos_token_id]
    with torch.no_grad():
        model.final_logits_bias.fill_(-1e4)
        model.final_logits_bias[0, allowed] = 0.0
    model.save_pretrained(folder)
    return folder
