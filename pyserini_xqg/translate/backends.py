"""The two back ends under ``Translator``: transformers' ``generate`` and CTranslate2, and ``load_translator``.

CTranslate2 (``ct2:DIR``) runs a converted model with the Hugging Face tokenizer saved beside it.
Convert a model and copy its tokenizer and generation settings into the folder::

    ct2-transformers-converter --model facebook/nllb-200-distilled-600M --output_dir nllb-ct2 \\
        --copy_files tokenizer.json tokenizer_config.json generation_config.json

(or ``ctranslate2.converters.TransformersConverter(model_dir, copy_files=[...]).convert(out)``;
copy ``sentencepiece.bpe.model``/``vocab.json`` or ``source.spm``/``target.spm``/``vocab.json``
where the tokenizer has those files). As transformers does, a ``generation_config.json`` there
ends a candidate that reaches ``max_new_tokens`` with the end token (``forced_eos_token_id``)
and never emits its ``bad_words_ids``, so greedy outputs of the two back ends agree. CTranslate2
seeds each worker thread's sampler only once (``set_random_seed`` then applies to new threads), so a
sampled batch runs on a freshly opened model: reproducible, for the cost of a model load per batch.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io.files import DataError
from .codes import family_of
from .translator import PROMPT, Decoding, Translator


def _load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as err:  # no such folder, a hub name that cannot be fetched, no tokenizer files
        raise DataError(model, None, f"cannot load the translation model's tokenizer: {str(err).splitlines()[0]}") \
            from None


class TransformersTranslator(Translator):
    """A Hugging Face seq2seq model (hub name or local folder), decoded with ``generate``."""

    backend = "transformers"

    def __init__(self, model: str, template: str = PROMPT, device: str = "cpu", dtype: str = "fp32",
                 max_length: int = 512):
        from transformers import AutoModelForSeq2SeqLM

        from ..encode.dtype import resolve_dtype

        tokenizer = _load_tokenizer(model)
        super().__init__(model, tokenizer, family_of(tokenizer), template, max_length, dtype)
        try:
            net = AutoModelForSeq2SeqLM.from_pretrained(model, dtype=resolve_dtype(dtype, device))
        except (OSError, ValueError) as err:
            raise DataError(model, None, f"cannot load the translation model: {str(err).splitlines()[0]}") from None
        self.net, self.device = net.to(device).eval(), device

    def _generate(self, batch, prefix, decoding: Decoding, seed: int):
        import torch

        enc = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt").to(self.device)
        n = decoding.num_candidates
        options = {"max_new_tokens": decoding.max_new_tokens, "num_return_sequences": n}
        if prefix:
            options["forced_bos_token_id"] = prefix[0]
        if decoding.sample:
            options.update(do_sample=True, num_beams=1, top_k=decoding.top_k, top_p=decoding.top_p)
            torch.manual_seed(seed)
        else:
            options.update(do_sample=False, num_beams=n)
        with torch.inference_mode():
            out = self.net.generate(**enc, **options)[:, 1:].tolist()  # without the decoder's start token
        return [out[i * n:(i + 1) * n] for i in range(len(batch))]


class CTranslate2Translator(Translator):
    """A model converted with CTranslate2 (``ct2:DIR``), tokenised with the tokenizer saved in DIR; it runs
    as many threads as torch (``torch.set_num_threads``)."""

    backend = "ctranslate2"
    COMPUTE_TYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "auto": "auto"}

    def __init__(self, folder: str, template: str = PROMPT, device: str = "cpu", dtype: str = "fp32",
                 max_length: int = 512):
        import ctranslate2
        import torch

        if not (Path(folder) / "model.bin").is_file():
            raise DataError(folder, None, "no CTranslate2 model (model.bin) here; convert one with "
                            "ct2-transformers-converter --model MODEL --output_dir DIR --copy_files <tokenizer files>")
        if dtype not in self.COMPUTE_TYPES:
            raise ValueError(f"dtype must be one of {', '.join(self.COMPUTE_TYPES)}, not {dtype!r}")
        tokenizer = _load_tokenizer(folder)
        super().__init__(f"ct2:{folder}", tokenizer, family_of(tokenizer), template, max_length, dtype)
        kind, _, index = device.partition(":")
        self.ct2 = ctranslate2
        self._open = lambda: ctranslate2.Translator(folder, device=kind, device_index=int(index or 0),
                                                    compute_type=self.COMPUTE_TYPES[dtype],
                                                    intra_threads=torch.get_num_threads())
        self.net = self._open()
        settings = Path(folder) / "generation_config.json"
        generation = json.loads(settings.read_text(encoding="utf-8")) if settings.is_file() else {}
        self.forced_eos = generation.get("forced_eos_token_id") is not None
        vocabulary = _target_vocabulary(Path(folder))  # a token the conversion dropped is never emitted
        self.suppress = [tokens for ids in generation.get("bad_words_ids") or []
                         if set(tokens := tokenizer.convert_ids_to_tokens(ids)) <= vocabulary]

    def _generate(self, batch, prefix, decoding: Decoding, seed: int):
        tokens = [self.tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        n, limit = decoding.num_candidates, decoding.max_new_tokens
        options = {"max_decoding_length": limit, "num_hypotheses": n, "max_input_length": 0}
        if prefix:
            options["target_prefix"] = [self.tokenizer.convert_ids_to_tokens(prefix)] * len(batch)
        if self.suppress:
            options["suppress_sequences"] = self.suppress
        net = self.net
        if decoding.sample:
            options.update(beam_size=1, sampling_topk=decoding.top_k, sampling_topp=decoding.top_p)
            # CTranslate2 seeds a worker thread's sampler once, when it first draws: a fresh model, fresh threads
            self.ct2.set_random_seed(seed)
            net = self._open()
        else:
            options.update(beam_size=n, sampling_topk=1)
        out = []
        for result in net.translate_batch(tokens, **options):
            candidates = [self.tokenizer.convert_tokens_to_ids(h) for h in result.hypotheses]
            if self.forced_eos:  # transformers ends a candidate at the limit with the end token
                candidates = [c[:limit - 1] if len(c) >= limit else c for c in candidates]
            out.append(candidates)
        return out


def _target_vocabulary(folder: Path) -> set[str]:
    """The tokens a converted model can emit (``shared_`` or ``target_vocabulary``, .json or .txt)."""
    for name in ("target_vocabulary", "shared_vocabulary"):
        if (path := folder / f"{name}.json").is_file():
            return set(json.loads(path.read_text(encoding="utf-8")))
        if (path := folder / f"{name}.txt").is_file():
            return set(path.read_text(encoding="utf-8").split("\n"))
    return set()


def load_translator(model: str, template: str = PROMPT, device: str = "cpu", dtype: str = "fp32",
                    max_length: int = 512) -> Translator:
    """The translator for ``model``: a hub name or local folder (transformers), or ``ct2:DIR`` (CTranslate2).

    ``template`` prompts models of no translation family (``{source_language}``, ``{target_language}``,
    ``{text}``); sources longer than ``max_length`` tokens are cut.
    """
    if model.startswith("ct2:"):
        return CTranslate2Translator(model[4:], template, device, dtype, max_length)
    return TransformersTranslator(model, template, device, dtype, max_length)
