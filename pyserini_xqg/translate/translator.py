"""One translator over every model family: language codes, batching by length, decoding settings, provenance.

A ``Translator`` turns the plugin's language codes into what its model family is told:
NLLB-200 (``hau_Latn``), M2M100 (``ha``) and mBART-50 (``sw_KE``) set the tokenizer's
``src_lang`` and force the target's code as the first generated token; multi-target Marian
models read a ``>>xxx<<`` token at the start of the source (single-pair ones nothing);
any other seq2seq model is *prompted* with ``template``. The back end (``backends``) runs
the model: transformers' ``generate`` or a CTranslate2 ``Translator``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..io.files import nfc
from ..io.languages import LANGUAGES, check_language
from ..io.templates import check_template
from .codes import language_tokens, model_code

PROMPT = "Translate from {source_language} to {target_language}: {text}"
PLACEHOLDERS = ("source_language", "target_language", "text")


@dataclass(frozen=True)
class Decoding:
    """How candidates are decoded. Greedy by default; ``num_candidates`` > 1 without ``sample`` is beam search
    with that many beams, returning them all; ``sample`` draws each candidate (``top_k`` 0 = no top-k cut,
    ``top_p`` 1 = no nucleus cut), reproducibly for the same ``seed``, texts and ``batch_size``."""

    num_candidates: int = 1
    sample: bool = False
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    max_new_tokens: int = 64
    batch_size: int = 16

    def __post_init__(self):
        for name in ("num_candidates", "max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"top_k must be >= 0 and top_p in (0, 1], not {self.top_k} and {self.top_p}")


def _batch_seed(seed: int, src: str, tgt: str, texts: list[str]) -> int:
    digest = hashlib.sha256("\x00".join([str(seed), src, tgt, *texts]).encode()).digest()
    return int.from_bytes(digest[:4], "little")


class Translator:
    """A model and its tokenizer, behind the plugin's language codes. Made by ``load_translator``."""

    backend = ""

    def __init__(self, model: str, tokenizer, family: str, template: str = PROMPT, max_length: int = 512,
                 dtype: str = "fp32"):
        self.model, self.tokenizer, self.family, self.template, self.dtype = model, tokenizer, family, template, dtype
        self.max_length = min(max_length, tokenizer.model_max_length or max_length)
        self._codes = language_tokens(tokenizer, family)
        if family == "prompted":
            check_template(template, PLACEHOLDERS, "translation prompt")

    @property
    def multi_target(self) -> bool:
        """A Marian model that reads its target from a ``>>xxx<<`` token."""
        return self.family == "marian" and bool(self._codes)

    def _declared_pair(self) -> tuple[str | None, str | None]:
        """A single-pair Marian model's languages, from its tokenizer or an ``opus-mt-SRC-TGT`` name."""
        src, tgt = getattr(self.tokenizer, "source_lang", None), getattr(self.tokenizer, "target_lang", None)
        if not (src or tgt) and (m := re.search(r"opus-mt-([A-Za-z_]+)-([A-Za-z_]+)$", Path(self.model).name)):
            src, tgt = m.groups()
        return src, tgt

    def check(self, src: str, tgt: str) -> None:
        """ValueError, before any generation, if the model does not cover ``src`` -> ``tgt``."""
        self.codes(src, tgt)

    def codes(self, src: str, tgt: str) -> tuple[str | None, str]:
        """What the model is told for ``src`` -> ``tgt``; for ``("ha", "en")``: NLLB ``("hau_Latn", "eng_Latn")``,
        M2M100 ``("ha", "en")``; mBART-50 ``("sw_KE", "en_XX")`` for ``("sw", "en")``; multi-target Marian
        ``(None, ">>eng<<")``; single-pair Marian the declared languages (else the plugin's); prompted models
        the languages' English names ``("Hausa", "English")``."""
        src, tgt = check_language(src), check_language(tgt)
        if self.family == "prompted":
            return LANGUAGES[src].name, LANGUAGES[tgt].name
        if self.family == "marian":
            declared = self._declared_pair()
            for lang, code, side in ((src, declared[0], "source"), (tgt, None if self.multi_target else declared[1],
                                                                   "target")):
                if code and code.lower() in LANGUAGES and LANGUAGES[code.lower()].code != lang:
                    raise ValueError(f"Marian model {self.model} translates {declared[0]} -> {declared[1]}: its "
                                     f"{side} language is not {LANGUAGES[lang].name} ({lang})")
            if self.multi_target:
                return None, self._codes[model_code(tgt, "marian", self._codes, self.model)]
            return declared[0] or src, declared[1] or tgt
        return (model_code(src, self.family, self._codes, self.model),
                model_code(tgt, self.family, self._codes, self.model))

    def source_ids(self, texts: list[str], src: str, tgt: str) -> list[list[int]]:
        """The encoder's input ids for each text, with the source language's code (or prompt, or ``>>xxx<<``)."""
        src_code, tgt_code = self.codes(src, tgt)
        if self.family == "prompted":
            texts = [self.template.format(source_language=src_code, target_language=tgt_code, text=t) for t in texts]
        elif self.multi_target:
            texts = [f"{tgt_code} {t}" for t in texts]
        elif self.family != "marian":
            self.tokenizer.src_lang = src_code
        return self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def target_prefix(self, tgt: str) -> list[int]:
        """The token ids decoding is forced to start with: the target's code for NLLB, M2M100, mBART-50."""
        if self.family not in ("nllb", "m2m100", "mbart50"):
            return []
        code = model_code(check_language(tgt), self.family, self._codes, self.model)
        return [self.tokenizer.convert_tokens_to_ids(self._codes[code])]

    def token_ids(self, texts: list[str], src: str, tgt: str, decoding: Decoding = Decoding(),
                  progress: bool = True) -> list[list[list[int]]]:
        """``num_candidates`` generated id sequences per text: the forced target code first where the family
        has one, then the tokens up to (not including) the end token. Texts run in batches of similar length."""
        from tqdm import tqdm

        self.check(src, tgt)
        if not texts:
            return []
        ids = self.source_ids(texts, src, tgt)
        prefix = self.target_prefix(tgt)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out: list = [None] * len(ids)
        with tqdm(total=len(ids), desc=f"translate {src}->{tgt}", unit="text", disable=not progress) as bar:
            for start in range(0, len(order), decoding.batch_size):
                batch = order[start:start + decoding.batch_size]
                seed = _batch_seed(decoding.seed, src, tgt, [texts[i] for i in batch])
                for i, candidates in zip(batch, self._generate([ids[i] for i in batch], prefix, decoding, seed)):
                    out[i] = [self._clean(c) for c in candidates]
                bar.update(len(batch))
        return out

    def translate(self, texts: list[str], src: str, tgt: str, decoding: Decoding = Decoding(),
                  progress: bool = True) -> list[list[str]]:
        """``num_candidates`` translations of each text from ``src`` into ``tgt`` (plugin language codes),
        whitespace-normalised NFC; an empty output stays an empty string."""
        skip = len(self.target_prefix(tgt)) if texts else 0
        return [[nfc(" ".join(self.tokenizer.decode(c[skip:], skip_special_tokens=True).split())) for c in candidates]
                for candidates in self.token_ids(texts, src, tgt, decoding, progress)]

    def provenance(self, src: str, tgt: str, decoding: Decoding = Decoding()) -> dict:
        """Back end, model, family, languages and codes, decoding settings (and the prompt, for prompted models)."""
        src_code, tgt_code = self.codes(src, tgt)
        out = {"backend": self.backend, "model": self.model, "family": self.family,
               "source_lang": check_language(src), "target_lang": check_language(tgt),
               "source_code": src_code, "target_code": tgt_code, "decoding": dataclasses.asdict(decoding),
               "dtype": self.dtype}
        if self.family == "prompted":
            out["prompt"] = self.template
        return out

    def _clean(self, ids: list[int]) -> list[int]:
        """Up to the first end token, without padding."""
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        if eos in ids:
            ids = ids[:ids.index(eos)]
        return [i for i in ids if i != pad]

    def _generate(self, batch: list[list[int]], prefix: list[int], decoding: Decoding,
                  seed: int) -> list[list[list[int]]]:
        """The back end: ``num_candidates`` output id sequences per input (``prefix`` first)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r}, family={self.family!r})"
