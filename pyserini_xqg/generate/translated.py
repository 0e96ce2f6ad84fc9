"""Translate-generate xQG: questions in one language, translated into every target language.

The questions come from a query generator in ``source_lang`` (``hf:MODEL``: the QG model writes
them about the passage) or from a file (``file:PATH``: e.g. English reference questions, the
released shape ``{docid, generated_queries: {"en": [...]}}`` included). Each is translated by one
translator (``translate.load_translator``: a hub name, a local folder or ``ct2:DIR``) into every
target language; a target equal to the source keeps the questions as they are. Records keep the
plugin's shape, ``{docid, lang, queries, provenance}``, with ``provenance = {"generator": ...,
"translator": ...}`` (the translator's names its codes and decoding). Empty translations are left
out of ``queries``. Passages go through in chunks of ``batch_size`` (the source generator's, which
seeds its sampling by chunk), each chunk's records written language by language to the journal, so a
killed run resumes on the same chunks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from ..io.collection import Passage, Shard
from ..io.files import DataError
from ..io.generated import read_generated
from ..io.journal import Journal
from ..io.languages import check_language
from ..translate import PROMPT, Decoding, Translator, load_translator
from .queries import FileGenerator, HFGenerator, _imported


@dataclass
class TranslatedGenerator:
    """``source``'s questions in ``source_lang``, translated by ``translator`` (MODEL or ``ct2:DIR``)."""

    source: HFGenerator | FileGenerator
    translator: str
    source_lang: str = "en"
    decoding: Decoding = field(default_factory=Decoding)
    template: str = PROMPT
    device: str = "cpu"
    dtype: str = "fp32"
    batch_size: int = 8  # passages per chunk for a file source (a QG model's own batch size otherwise)
    _loaded: Translator | None = field(default=None, repr=False)

    def __post_init__(self):
        self.source_lang = check_language(self.source_lang)
        if isinstance(self.source, HFGenerator):
            self.batch_size = self.source.batch_size

    def _translator(self) -> Translator:
        if self._loaded is None:
            self._loaded = load_translator(self.translator, self.template, self.device, self.dtype)
        return self._loaded

    def _passthrough(self, lang: str) -> bool:
        return check_language(lang) == self.source_lang

    def _source_provenances(self) -> list[dict]:
        if isinstance(self.source, HFGenerator):
            return self.source.provenances()
        found = []
        for record in self._file_records().values():
            if self._imported(record["provenance"]) not in found:
                found.append(self._imported(record["provenance"]))
        if not found:
            raise DataError(self.source.path, None, f"no queries in {self.source_lang} (--source-lang) to translate")
        return found

    def _imported(self, provenance: dict) -> dict:
        """A file source's record provenance with the import's settings (its source file's checksum)."""
        return _imported(provenance, self.source.settings([self.source_lang]))

    def record_bytes(self) -> int:
        """About what one record takes on disk: the source's, times the candidates, and the translator's provenance."""
        return self.source.record_bytes() * self.decoding.num_candidates + 600

    def provenances(self, langs: list[str] | None = None) -> list[dict]:
        """The provenances records may carry; loads the translator and checks every pair it will translate."""
        translator, sources, out = self._translator(), self._source_provenances(), []
        for lang in langs or []:
            translation = None if self._passthrough(lang) else translator.provenance(self.source_lang, lang,
                                                                                     self.decoding)
            out += [{"generator": g, "translator": translation} for g in sources]
        return out

    def _file_records(self) -> dict[str, dict]:
        """docid -> the file's record in ``source_lang``."""
        found = {}
        for record in read_generated(self.source.path, [self.source_lang]):
            if record["docid"] in found:
                raise DataError(self.source.path, None, f"two records for passage {record['docid']!r} in "
                                f"{self.source_lang}")
            found[record["docid"]] = record
        return found

    def fill(self, journal: Journal, part: Shard, langs: list[str], progress: bool = True) -> None:
        """Source questions for the shard's passages with records missing, translated chunk by chunk."""
        from tqdm import tqdm

        translator = self._translator()
        given = None
        if isinstance(self.source, FileGenerator):
            records = self._file_records()
            if unknown := set(records) - set(part.ids):
                raise DataError(self.source.path, None, f"queries for passage {sorted(unknown)[0]!r}, which is not "
                                f"in {part.corpus}")
            given = {docid: r for docid, r in records.items() if docid in part.docids}
        pending = (p for p in part.passages() if (given is None or p.docid in given)
                   and any((p.docid, lang) not in journal.done for lang in langs))
        left = sum(1 for d in part.docids if (given is None or d in given)
                   and any((d, lang) not in journal.done for lang in langs))
        with tqdm(total=left, desc="translate-generate", unit="passage", disable=not progress) as bar:
            while chunk := list(islice(pending, self.batch_size)):
                sources = self._sources(chunk, given)
                for lang in langs:
                    todo = [p for p in chunk if (p.docid, lang) not in journal.done]
                    journal.write(self._records(translator, todo, sources, lang))
                bar.update(len(chunk))

    def _sources(self, chunk: list[Passage], given: dict | None) -> dict[str, tuple[list[str], dict]]:
        """docid -> (source questions, their provenance) for a chunk of passages."""
        if given is not None:
            return {p.docid: (given[p.docid]["queries"], self._imported(given[p.docid]["provenance"])) for p in chunk}
        generated = self.source.generate(chunk, self.source_lang)
        return {p.docid: ([q for q in queries if q], self.source.provenance) for p, queries in zip(chunk, generated)}

    def _records(self, translator: Translator, passages: list[Passage], sources: dict, lang: str) -> list[dict]:
        if not passages:
            return []
        if self._passthrough(lang):
            return [{"docid": p.docid, "lang": lang, "queries": sources[p.docid][0],
                     "provenance": {"generator": sources[p.docid][1], "translator": None}} for p in passages]
        flat = [q for p in passages for q in sources[p.docid][0]]
        translated = iter(translator.translate(flat, self.source_lang, lang, self.decoding, progress=False))
        provenance = translator.provenance(self.source_lang, lang, self.decoding)
        out = []
        for p in passages:
            candidates = [c for _ in sources[p.docid][0] for c in next(translated) if c]
            out.append({"docid": p.docid, "lang": lang, "queries": candidates,
                        "provenance": {"generator": sources[p.docid][1], "translator": provenance}})
        return out
