"""The built-in sample collection (pyserini_xqg/resources/sample), written by the project's authors.

Authoring sources live in ``resources/sample/src``: ``passages.jsonl`` (100 English
passages, each with three English questions and short answers that occur in the
passage) and ``queries_<lang>.jsonl`` (those questions written in each sample
language, ids ``p001-1`` .. ``p100-3``). ``build`` derives the standard files:

- ``corpus.jsonl``: Pyserini JsonCollection (id, title, contents);
- ``topics/<split>.<lang>.tsv`` and ``topics/<split>.<lang>.en.tsv``: native queries
  and their English translations, same qids (``<lang>-<passage>-<n>``);
- ``qrels.<split>.txt`` (TREC) and ``answers.<split>.jsonl`` (qid, lang, answers).

- ``reference-queries.hand-written.jsonl``: questions 2 and 3 of every passage in every
  sample language, in the plugin's generated-query format but labelled as what they are:
  hand-written reference queries, not model output. They stand in for generated queries
  (``generate --generator file:...``) and never overlap the dev or train queries.

Splits: question 1 of odd-numbered passages is ``dev`` (the test queries), question 1
of even-numbered passages is ``train``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .files import RESOURCES, write_text_atomic
from .languages import XOR_TYDI

SAMPLE = RESOURCES / "sample"
SPLITS = ("dev", "train")
ORDER = XOR_TYDI + ("sw", "yo", "am", "jv", "kk")
"""The sample's query languages in the order of its derived files: XOR-TyDi's seven, then the others."""


def languages(root: Path = SAMPLE) -> list[str]:
    """Query languages of the sample, in ``ORDER`` (any others after, sorted)."""
    have = {p.stem.split("_", 1)[1] for p in (root / "src").glob("queries_*.jsonl")}
    return [code for code in ORDER if code in have] + sorted(have - set(ORDER))


def split_of(question_id: str) -> str | None:
    passage, n = question_id.split("-")
    if n != "1":
        return None
    return "dev" if int(passage[1:]) % 2 == 1 else "train"


@dataclass(frozen=True)
class Sample:
    """Paths of the sample's standard files."""

    root: Path = SAMPLE

    @property
    def corpus(self) -> Path:
        return self.root / "corpus.jsonl"

    def topics(self, split: str, lang: str, english: bool = False) -> Path:
        return self.root / "topics" / f"{split}.{lang}{'.en' if english else ''}.tsv"

    def qrels(self, split: str) -> Path:
        return self.root / f"qrels.{split}.txt"

    def answers(self, split: str) -> Path:
        return self.root / f"answers.{split}.jsonl"

    @property
    def reference_queries(self) -> Path:
        return self.root / "reference-queries.hand-written.jsonl"

    @property
    def languages(self) -> list[str]:
        return languages(self.root)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build(root: Path = SAMPLE) -> dict[str, str]:
    """Derive the standard files from the authoring sources; return {relative path: text}."""
    passages = _read_jsonl(root / "src" / "passages.jsonl")
    files: dict[str, str] = {}
    files["corpus.jsonl"] = "".join(
        json.dumps({"id": p["id"], "title": p["title"], "contents": p["contents"]}, ensure_ascii=False) + "\n"
        for p in passages)
    english = {f"{p['id']}-{i}": q for p in passages for i, q in enumerate(p["questions"], 1)}
    qrels = {s: [] for s in SPLITS}
    answers = {s: [] for s in SPLITS}
    references = []
    for lang in languages(root):
        native = {r["id"]: r["text"] for r in _read_jsonl(root / "src" / f"queries_{lang}.jsonl")}
        provenance = {"backend": "hand-written", "source": f"resources/sample/src/queries_{lang}.jsonl",
                      "note": "hand-written reference queries (questions 2 and 3 of each passage), not model output"}
        for p in passages:
            queries = [native[f"{p['id']}-{i}"] for i in (2, 3)]
            references.append(json.dumps({"docid": p["id"], "lang": lang, "queries": queries,
                                           "provenance": provenance}, ensure_ascii=False) + "\n")
        topics = {s: [] for s in SPLITS}
        topics_en = {s: [] for s in SPLITS}
        for qn, q in english.items():
            split = split_of(qn)
            if split is None:
                continue
            qid = f"{lang}-{qn}"
            topics[split].append(f"{qid}\t{native[qn]}\n")
            topics_en[split].append(f"{qid}\t{q['q']}\n")
            qrels[split].append(f"{qid} 0 {qn.split('-')[0]} 1\n")
            answers[split].append(json.dumps({"qid": qid, "lang": lang, "answers": [q["answer"]]},
                                             ensure_ascii=False) + "\n")
        for split in SPLITS:
            files[f"topics/{split}.{lang}.tsv"] = "".join(topics[split])
            files[f"topics/{split}.{lang}.en.tsv"] = "".join(topics_en[split])
    files["reference-queries.hand-written.jsonl"] = "".join(references)
    for split in SPLITS:
        files[f"qrels.{split}.txt"] = "".join(qrels[split])
        files[f"answers.{split}.jsonl"] = "".join(answers[split])
    return files


def write(root: Path = SAMPLE) -> None:
    for rel, text in build(root).items():
        write_text_atomic(root / rel, text)


if __name__ == "__main__":
    write()
