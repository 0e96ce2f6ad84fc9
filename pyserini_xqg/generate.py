"""Cross-lingual query generation: queries in each target language for every passage.

Back ends, behind one registry (``--generator NAME:ARG``):

- ``hf:MODEL`` - any Hugging Face seq2seq model (hub name or local path), prompted as in
  the paper, ``Generate a {language} question for this passage: {title} {passage}``,
  with top-k sampling (k = 10) and at most 32 new tokens, ``n`` sequences per passage
  and language. The paper's generator is ``hf:ielabgroup/xor-tydi-docTquery-mt5-base``.
- ``file:PATH`` - queries generated elsewhere: this plugin's own output, or the released
  record shape ``{docid, title, text, generated_queries: {lang: [queries]}}``.

Output: one JSONL record per passage and language,
``{"docid", "lang", "queries": [...], "provenance": {...}}``, appended batch by batch
(see ``journal``), so a killed run resumes with no passage lost or duplicated.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Iterator

from .data import DataError, Passage, check_language, iter_corpus, iter_jsonl, nfc
from .journal import Journal
from .languages import LANGUAGES

PROMPT = "Generate a {language} question for this passage: {title} {passage}"
PAPER_GENERATOR = "ielabgroup/xor-tydi-docTquery-mt5-base"


def prompt(template: str, lang: str, passage: Passage) -> str:
    return template.format(language=LANGUAGES[lang].name, title=passage.title, passage=passage.text).strip()


def shard(items: list, shard_id: int, shard_num: int) -> list:
    """Pyserini's sharding: contiguous slices of len // shard_num, the last one taking the rest."""
    if not 0 <= shard_id < shard_num:
        raise ValueError(f"--shard-id must be in [0, {shard_num}), not {shard_id}")
    size = len(items) // shard_num
    start = shard_id * size
    return items[start:] if shard_id == shard_num - 1 else items[start:start + size]


def _seed(seed: int, lang: str, docid: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}|{lang}|{docid}".encode()).digest()[:4], "little")


@dataclass
class HFGenerator:
    """Sampling from a Hugging Face seq2seq model."""

    model: str
    n: int = 5
    top_k: int = 10
    max_new_tokens: int = 32
    template: str = PROMPT
    seed: int = 0
    batch_size: int = 8
    max_length: int = 512
    dtype: str = "fp32"
    device: str = "cpu"
    _loaded: tuple = field(default=None, repr=False)

    @property
    def provenance(self) -> dict:
        return {"backend": "hf", "model": self.model, "prompt": self.template,
                "decoding": {"do_sample": True, "top_k": self.top_k, "max_new_tokens": self.max_new_tokens,
                             "num_return_sequences": self.n},
                "seed": self.seed, "dtype": self.dtype}

    def _load(self):
        if self._loaded is None:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            from .encoders import resolve_dtype

            tokenizer = AutoTokenizer.from_pretrained(self.model)
            model = AutoModelForSeq2SeqLM.from_pretrained(self.model, dtype=resolve_dtype(self.dtype, self.device))
            self._loaded = (tokenizer, model.to(self.device).eval(), torch)
        return self._loaded

    def generate(self, passages: list[Passage], lang: str) -> list[list[str]]:
        """``n`` queries in ``lang`` for each passage; seeded by (seed, lang, first docid) per batch."""
        tokenizer, model, torch = self._load()
        prompts = [prompt(self.template, lang, p) for p in passages]
        enc = tokenizer(prompts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        torch.manual_seed(_seed(self.seed, lang, passages[0].docid))
        out = sample_top_k(model, {k: v.to(self.device) for k, v in enc.items()}, self.n, self.top_k,
                           self.max_new_tokens)
        texts = [nfc(t).strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]
        return [texts[i * self.n:(i + 1) * self.n] for i in range(len(passages))]


def sample_top_k(model, inputs: dict, n: int, top_k: int, max_new_tokens: int):
    """Top-k sampling from an encoder-decoder model: ``n`` sequences per input, as token ids.

    The same distribution as ``model.generate(do_sample=True, top_k=k)`` at temperature 1
    (no other logits processors), but each step draws among the k best tokens only:
    drawing from the full 250k-token mT5 vocabulary made ``generate`` 20x slower on CPUs.
    """
    import torch

    mask = inputs["attention_mask"].repeat_interleave(n, 0)
    config = model.config
    with torch.inference_mode():
        encoded = model.get_encoder()(**inputs).last_hidden_state.repeat_interleave(n, 0)
        tokens = torch.full((len(encoded), 1), config.decoder_start_token_id, dtype=torch.long, device=encoded.device)
        done = torch.zeros(len(encoded), dtype=torch.bool, device=encoded.device)
        cache = None
        for _ in range(max_new_tokens):
            out = model(encoder_outputs=(encoded,), attention_mask=mask, decoder_input_ids=tokens[:, -1:],
                        cache=cache, use_cache=True)
            cache = out.cache
            best, ids = out.logits[:, -1].float().topk(top_k, dim=-1)
            step = ids.gather(1, torch.multinomial(torch.softmax(best, dim=-1), 1)).squeeze(1)
            step = torch.where(done, torch.full_like(step, config.pad_token_id), step)
            tokens = torch.cat([tokens, step[:, None]], dim=1)
            done |= step == config.eos_token_id
            if done.all():
                break
    return tokens


def read_generated(path: str | os.PathLike, langs: list[str] | None = None) -> Iterator[dict]:
    """Stream generated queries as plugin records, from the plugin's format or the released shape."""
    for number, obj in iter_jsonl(path):
        if "generated_queries" in obj:  # released shape: all languages of one passage
            docid = str(obj.get("docid", obj.get("id", "")))
            groups = obj["generated_queries"]
            if not docid or not isinstance(groups, dict):
                raise DataError(path, number, "expected docid and generated_queries: {lang: [queries]}")
            provenance = {"backend": "file", "source": str(path), "format": "released"}
            items = groups.items()
        elif {"docid", "lang", "queries"} <= obj.keys():
            docid, items, provenance = str(obj["docid"]), [(obj["lang"], obj["queries"])], obj.get("provenance", {})
        else:
            raise DataError(path, number, "expected {docid, lang, queries} or {docid, generated_queries}")
        for lang, queries in items:
            check_language(lang, path, number)
            if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
                raise DataError(path, number, f"queries for {lang!r} must be a list of strings")
            if langs is None or lang in langs:
                yield {"docid": docid, "lang": lang, "queries": [nfc(q).strip() for q in queries if q.strip()],
                       "provenance": provenance}


def run(corpus: str | os.PathLike, output: str | os.PathLike, generator: str, langs: list[str],
        shard_id: int = 0, shard_num: int = 1, progress: bool = True, **options) -> Path:
    """Generate (or import) queries for a corpus shard into ``output``, resuming if it exists."""
    from tqdm import tqdm

    for lang in langs:
        check_language(lang)
    backend, _, arg = generator.partition(":")
    if backend not in GENERATORS or not arg:
        raise DataError("<--generator>", None, f"expected NAME:ARG with NAME one of {sorted(GENERATORS)}, not {generator!r}")
    corpus_ids = [p.docid for p in iter_corpus(corpus)]  # ids only: the corpus itself is streamed
    start = shard_id * (len(corpus_ids) // shard_num)
    docids = set(shard(corpus_ids, shard_id, shard_num))
    passages = lambda: islice(iter_corpus(corpus), start, start + len(docids))  # noqa: E731  (this shard, in order)
    with Journal(output, key=lambda r: (r["docid"], r["lang"])) as journal:
        if backend == "file":
            known = set(corpus_ids)
            batch = []
            for record in tqdm(read_generated(arg, langs), desc="import", unit="record", disable=not progress):
                if record["docid"] not in known:
                    raise DataError(arg, None, f"queries for passage {record['docid']!r}, which is not in {corpus}")
                if record["docid"] in docids and (record["docid"], record["lang"]) not in journal.done:
                    batch.append(record)
                if len(batch) >= 1000:
                    journal.write(batch)
                    batch = []
            journal.write(batch)
            return Path(output)
        gen = GENERATORS[backend](arg, **options)
        left = sum(1 for lang in langs for d in docids if (d, lang) not in journal.done)
        bar = tqdm(total=left, desc="generate", unit="query set", disable=not progress)
        for lang in langs:
            pending = (p for p in passages() if (p.docid, lang) not in journal.done)
            while chunk := list(islice(pending, gen.batch_size)):
                queries = gen.generate(chunk, lang)
                journal.write({"docid": p.docid, "lang": lang, "queries": q, "provenance": gen.provenance}
                              for p, q in zip(chunk, queries))
                bar.update(len(chunk))
        bar.close()
    return Path(output)


GENERATORS = {"hf": HFGenerator, "file": read_generated}
