"""Query generation back ends, behind one registry (``--generator NAME:ARG``):

- ``hf:MODEL`` - any Hugging Face seq2seq model (hub name or local path), prompted as in
  the paper, ``Generate a {language} question for this passage: {title} {passage}``,
  with top-k sampling (k = 10) and at most 32 new tokens, ``n`` sequences per passage
  and language. The paper's generator is ``hf:ielabgroup/xor-tydi-docTquery-mt5-base``.
- ``file:PATH`` - queries generated elsewhere: this plugin's own records, or the released
  shape ``{docid, title, text, generated_queries: {lang: [queries]}}`` (``io.generated``),
  the first ``n`` of each record where ``n`` is given. Imported records keep their provenance
  and append the import's to its ``imports``: the source file, its sha256, ``n`` and the languages.

Each back end ``fill``s a journal (``io.journal``) with the records of one corpus shard
that it does not hold yet, so a killed run resumes with no passage lost or duplicated.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path

from ..encode.dtype import resolve_dtype
from ..io.collection import Passage, Shard, iter_corpus
from ..io.files import DataError, check_free_space, count_lines, nfc
from ..io.generated import read_generated, read_provenances
from ..io.journal import Journal
from ..io.languages import LANGUAGES, check_language
from ..io.templates import check_template

PROMPT = "Generate a {language} question for this passage: {title} {passage}"


PLACEHOLDERS = ("language", "title", "passage")


def prompt(template: str, lang: str, passage: Passage) -> str:
    return template.format(language=LANGUAGES[lang].name, title=passage.title, passage=passage.text).strip()


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

    def __post_init__(self):
        for name in ("n", "top_k", "max_new_tokens", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}")
        check_template(self.template, PLACEHOLDERS, "--prompt")

    @property
    def provenance(self) -> dict:
        return {"backend": "hf", "model": self.model, "prompt": self.template,
                "decoding": {"do_sample": True, "top_k": self.top_k, "max_new_tokens": self.max_new_tokens,
                             "num_return_sequences": self.n},
                "seed": self.seed, "dtype": self.dtype}

    def provenances(self, langs: list[str] | None = None) -> list[dict]:
        """The provenance every record this generator writes carries."""
        return [self.provenance]

    def record_bytes(self) -> int:
        """About what one record takes on disk (``n`` queries of at most ``max_new_tokens`` tokens)."""
        return len(json.dumps(self.provenance)) + 100 + self.n * 4 * self.max_new_tokens

    def _load(self):
        if self._loaded is None:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            try:
                tokenizer = AutoTokenizer.from_pretrained(self.model)
                model = AutoModelForSeq2SeqLM.from_pretrained(self.model, dtype=resolve_dtype(self.dtype, self.device))
            except OSError as err:  # no such folder, or a hub name that cannot be fetched
                raise DataError(self.model, None, f"cannot load the generator: {str(err).splitlines()[0]}") from None
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

    def fill(self, journal: Journal, part: Shard, langs: list[str], progress: bool = True) -> None:
        """Generate the shard's missing (passage, language) records, a batch at a time."""
        from tqdm import tqdm

        left = sum(1 for lang in langs for d in part.docids if (d, lang) not in journal.done)
        with tqdm(total=left, desc="generate", unit="query set", disable=not progress) as bar:
            for lang in langs:
                pending = (p for p in part.passages() if (p.docid, lang) not in journal.done)
                while chunk := list(islice(pending, self.batch_size)):
                    queries = self.generate(chunk, lang)
                    journal.write({"docid": p.docid, "lang": lang, "queries": q, "provenance": self.provenance}
                                  for p, q in zip(chunk, queries))
                    bar.update(len(chunk))


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


@dataclass
class FileGenerator:
    """Queries made elsewhere, imported with the provenance their records carry and the import's own.

    ``n``: keep the first n queries of each record (all where None). ``origin``: the file the records
    were first read from, where ``path`` is a part of it (the Ray engine's shards).
    """

    path: str | os.PathLike
    n: int | None = None
    origin: str | os.PathLike | None = None

    def __post_init__(self):
        if self.n is not None and self.n < 1:
            raise ValueError(f"--n must be at least 1, not {self.n}")

    @cached_property
    def _sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.origin or self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def settings(self, langs: list[str]) -> dict:
        """What an import is made of: another source file, or other settings, makes other records."""
        return {"source": str(self.origin or self.path), "sha256": self._sha256, "n": self.n, "langs": list(langs)}

    def provenances(self, langs: list[str]) -> list[dict]:
        """The provenances the file's records carry (read once through), each with the import's settings."""
        return [_imported(p, self.settings(langs)) for p in read_provenances(self.path)]

    def record_bytes(self) -> int:
        """About what one record takes on disk: the source's mean line, and the import's provenance."""
        return os.path.getsize(self.path) // count_lines(self.path) + 400

    def fill(self, journal: Journal, part: Shard, langs: list[str], progress: bool = True) -> None:
        """Copy the shard's missing records from the file; a record for a passage not in the corpus is an error,
        and so is a language the file has no queries in (``check_coverage``; the Ray engine checks the whole file)."""
        from tqdm import tqdm

        if self.origin is None:
            check_coverage(self.path, part, langs)
        batch, settings = [], self.settings(langs)
        for record in tqdm(read_generated(self.path, langs), desc="import", unit="record", disable=not progress):
            if record["docid"] in part.docids and (record["docid"], record["lang"]) not in journal.done:
                batch.append({**record, "queries": record["queries"][:self.n],
                              "provenance": _imported(record["provenance"], settings)})
            if len(batch) >= 1000:
                journal.write(batch)
                batch = []
        journal.write(batch)


def check_coverage(path: str | os.PathLike, part: Shard, langs: list[str]) -> dict[str, int]:
    """language -> how many passages of corpus shard ``part`` the generated-queries file ``path`` gives queries in
    that language. A record for a passage not in the corpus, or a language with no queries, is a DataError (the
    latter names the languages the file has); a language that covers only part of the passages is a warning that
    says how many, per language."""
    have: dict[str, set[str]] = defaultdict(set)
    known, docids = set(part.ids), part.docids
    for record in read_generated(path):
        if record["docid"] not in known:
            raise DataError(path, None, f"queries for passage {record['docid']!r}, which is not in {part.corpus}")
        if record["queries"]:
            have[record["lang"]].add(record["docid"])
    langs = [check_language(lang) for lang in langs]
    counts = {lang: len(have[lang] & docids) for lang in langs}
    none = [lang for lang in langs if not counts[lang]]
    if none:
        present = ", ".join(f"{lang} ({len(have[lang]):,} passages)" for lang in sorted(have) if have[lang])
        raise DataError(path, None, f"no queries in {', '.join(f'{LANGUAGES[lang].name} ({lang})' for lang in none)} "
                        f"for the passages asked for; the file has queries in {present or 'no language'}")
    partial = [f"{lang} {counts[lang]:,} ({counts[lang] / len(docids):.1%})" for lang in langs
               if counts[lang] < len(docids)]
    if partial:
        warnings.warn(f"{path}: queries for only part of the {len(docids):,} passages, by language: "
                      f"{', '.join(partial)}; the others have none in that language", stacklevel=2)
    return counts


def _imported(provenance: dict, settings: dict) -> dict:
    """A record's provenance with one more import (a file of imported queries may be imported again)."""
    return {**provenance, "imports": [*provenance.get("imports", []), settings]}


GENERATORS = {"hf": HFGenerator, "file": FileGenerator}
Generator = HFGenerator | FileGenerator  # or generate.translated.TranslatedGenerator over either


def parse_generator(spec: str) -> tuple[str, str]:
    """``NAME:ARG`` -> (NAME, ARG), NAME a key of ``GENERATORS``: the one check of a ``--generator`` spec."""
    backend, _, arg = spec.partition(":")
    if backend not in GENERATORS or not arg:
        raise DataError("<--generator>", None, f"expected NAME:ARG with NAME one of {sorted(GENERATORS)}, not {spec!r}")
    return backend, arg


def make_generator(spec: str, **options) -> Generator:
    """The back end named by ``spec``; ``options`` (n, top_k, seed, ...) configure ``hf``, ``file`` takes ``n``."""
    backend, arg = parse_generator(spec)
    if backend == "file":
        return FileGenerator(arg, options.get("n"))
    return HFGenerator(arg, **{k: v for k, v in options.items() if v is not None or k != "n"})


def generate_queries(corpus: str | os.PathLike, output: str | os.PathLike, generator: str | Generator,
                     langs: list[str], shard_id: int = 0, shard_num: int = 1, progress: bool = True,
                     **options) -> Path:
    """Generate (or import) queries for a corpus shard into ``output``, resuming if it exists.

    ``generator`` is a spec (``hf:MODEL``, ``file:PATH``) or a back end already made (a
    ``generate.translated.TranslatedGenerator`` for translate-generate).
    """
    langs = list(dict.fromkeys(check_language(lang) for lang in langs))  # one identity per language
    gen = make_generator(generator, **options) if isinstance(generator, str) else generator
    part = Shard(corpus, [p.docid for p in iter_corpus(corpus)], shard_id, shard_num)
    left = len(part.docids) * len(langs)  # checks the shard numbers before anything is written
    check_free_space(output, left * gen.record_bytes(), "the generated queries")
    expected = gen.provenances(langs)

    def same_settings(number: int, record: dict) -> None:
        if record.get("provenance") not in expected:
            raise DataError(output, number, f"was made with other settings ({record.get('provenance')}), not "
                            f"{expected[0] if len(expected) == 1 else expected}: resume only with the same generator "
                            "and options, or choose another --output")

    with Journal(output, key=lambda r: (r["docid"], r["lang"]), check=same_settings, start='{"docid": ') as journal:
        gen.fill(journal, part, langs, progress)
    if not Path(output).exists():
        raise DataError(output, None, f"nothing was written: no queries for the {len(part.docids):,} passages of the "
                        f"shard in {', '.join(langs)}")
    return Path(output)
