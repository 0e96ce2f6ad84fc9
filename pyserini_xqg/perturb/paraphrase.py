"""Paraphrase attacks on the translation layer (``translate``): candidates, a meaning filter, and a pick.

- ``backtranslate:MODEL`` (one multilingual model, both ways) or ``backtranslate:FORWARD,BACKWARD``: each
  query into the ``pivot`` language (greedy), then back into its own, ``num_candidates`` sampled candidates;
- ``paraphrase:MODEL``: a prompted paraphraser (``template``, with ``{text}``), ``num_candidates`` sampled
  candidates in the query's language.

The **meaning filter** keeps a candidate that differs from the query, is written in the query's script,
and, with a ``reference`` encoder, has a cosine of at least ``min_similarity`` to the query under it. A
query none of whose candidates is kept stays unchanged, and its provenance says so. Among the kept, the
**pick** is the average case, a seeded draw (``pick_random``), or the worst case, the candidate that most
lowers a target system's objective (``pick_worst``, with ``objective``: every candidate of
every query searched in one batch).
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import numpy as np
import regex

from ..io.languages import LANGUAGES, check_language
from .objective import objective

PICKS = ("random", "worst")
PARAPHRASE_TEMPLATE = "paraphrase: {text}"
_SCRIPTS = {"Kore": ("Hang", "Hani"), "Jpan": ("Hira", "Kana", "Hani"), "Hans": ("Hani",), "Hant": ("Hani",)}


@dataclass(frozen=True)
class Settings:
    """How paraphrases are made, filtered and picked (the options of ``attack``, ``robustness`` and ``study``)."""

    num_candidates: int = 4
    pivot: str = "en"
    top_k: int = 0            # 0: no top-k cut
    top_p: float = 0.9
    template: str = PARAPHRASE_TEMPLATE
    pick: str = "random"
    min_similarity: float = 0.0

    def check(self) -> None:
        if self.num_candidates < 1:
            raise ValueError(f"--num-candidates must be at least 1, not {self.num_candidates}")
        if self.pick not in PICKS:
            raise ValueError(f"--pick must be one of {', '.join(PICKS)}, not {self.pick!r}")
        check_language(self.pivot)


WORST = " (worst)"
"""Appended to a paraphrase attack's name in ``robustness`` and ``study``: its worst-case pick, beside the
average case under the plain name."""


def is_model_attack(attack: str) -> bool:
    return attack.startswith(("paraphrase:", "backtranslate:"))


def base_attack(attack: str) -> str:
    """``backtranslate:M (worst)`` -> ``backtranslate:M``."""
    return attack.removesuffix(WORST)


def _seed(seed: int, *parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()[:8], "little")


def candidates(attack: str, topics: Mapping[str, str], lang: str, settings: Settings, seed: int,
               progress: bool = True, device: str = "cpu") -> tuple[dict[str, list[str]], dict]:
    """qid -> ``num_candidates`` candidates, and the models (run on ``device``), codes and decoding that made
    them. A language a model does not cover is refused before anything is generated."""
    from ..translate import Decoding, load_translator

    attack = base_attack(attack)
    kind, _, models = attack.partition(":")
    qids, texts = list(topics), [topics[q] for q in topics]
    sampled = Decoding(num_candidates=settings.num_candidates, sample=True, top_k=settings.top_k, top_p=settings.top_p,
                       seed=_seed(seed, attack, lang))
    if kind == "paraphrase":
        model = load_translator(models, template=settings.template, device=device)
        model.check(lang, lang)
        made = model.translate(texts, lang, lang, sampled, progress)
        params = {"paraphraser": model.provenance(lang, lang, sampled)}
    elif kind == "backtranslate":
        first, _, second = models.partition(",")
        forward = load_translator(first, device=device)
        backward = load_translator(second, device=device) if second else forward
        forward.check(lang, settings.pivot)
        backward.check(settings.pivot, lang)
        pivots = [c[0] for c in forward.translate(texts, lang, settings.pivot, progress=progress)]
        made = backward.translate(pivots, settings.pivot, lang, sampled, progress)
        params = {"forward": forward.provenance(lang, settings.pivot), "backward": backward.provenance(
            settings.pivot, lang, sampled), "route": " -> ".join(
            str(c) for c in (*forward.codes(lang, settings.pivot), backward.codes(settings.pivot, lang)[1]))}
        params["pivots"] = dict(zip(qids, pivots))
    else:
        raise ValueError(f"not a paraphrase attack: {attack!r} (paraphrase:MODEL or backtranslate:MODEL[,MODEL])")
    return dict(zip(qids, made)), {**params, "settings": asdict(settings)}


_MADE: dict = {}


def candidates_once(attack: str, topics: Mapping[str, str], lang: str, settings: Settings, seed: int,
                    device: str = "cpu"):
    """``candidates``, made once per process for the same inputs: the average and the worst case of an attack
    pick among the same candidates (a model is slow)."""
    key = (base_attack(attack), tuple(topics.items()), lang, settings, seed, device)
    if key not in _MADE:
        _MADE[key] = candidates(attack, topics, lang, settings, seed, device=device)
    return _MADE[key]


def describe_encoder(encode) -> dict | None:
    """What identifies a reference encoder (``Embedder.queries``) in provenance and across runs."""
    return encode.__self__.describe() if hasattr(encode, "__self__") else None


def warn_if_attacked(reference, models: Mapping[str, str], log=print) -> None:
    """Say so where the meaning filter's reference encoder is one that an attacked system encodes with: it then
    keeps the candidates that system finds close, which favours it."""
    found = describe_encoder(reference)
    for name, model in models.items():
        if found and str(found.get("model")) == str(model):
            log(f"warning: the reference encoder {model} is the encoder of the attacked system {name}: the meaning "
                "filter then favours that system's view of meaning; pass another --reference-encoder")


def in_script(text: str, lang: str, share: float = 0.9) -> bool:
    """Whether ``share`` of ``text``'s letters (or more) are in ``lang``'s script (ISO 15924, from ``io.languages``):
    a name in another script may stay, token soup of several scripts may not."""
    script = LANGUAGES[lang].script
    letters = regex.findall(r"\p{L}", text)
    if not letters or script == "unknown":
        return bool(letters)
    names = _SCRIPTS.get(script, (script,))
    ours = sum(any(regex.match(rf"\p{{sc={name}}}", c) for name in names) for c in letters)
    return ours >= share * len(letters)


def meaning_filter(topics: Mapping[str, str], made: Mapping[str, list[str]], lang: str, min_similarity: float = 0.0,
                   reference: Callable[[list[str]], np.ndarray] | None = None) -> dict[str, list[dict]]:
    """qid -> every candidate with ``kept`` and why not: ``same`` (equal to the query, or empty), ``script``
    (another script), ``similarity`` (below ``min_similarity`` under ``reference``)."""
    out = {}
    texts = list(dict.fromkeys([*topics.values(), *(c for cs in made.values() for c in cs if c)]))
    vectors = dict(zip(texts, _unit(reference(texts)))) if reference is not None and texts else {}
    for q, original in topics.items():
        rows = []
        for text in made[q]:
            row: dict = {"text": text}
            if vectors and text:
                row["similarity"] = round(float(vectors[original] @ vectors[text]), 6)
            if not text or text == original:
                row["rejected"] = "same"
            elif not in_script(text, lang):
                row["rejected"] = "script"
            elif reference is not None and row["similarity"] < min_similarity:
                row["rejected"] = "similarity"
            row["kept"] = "rejected" not in row
            rows.append(row)
        out[q] = rows
    return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def pick_random(filtered: Mapping[str, list[dict]], seed: int, attack: str) -> dict[str, int | None]:
    """qid -> the index of a kept candidate drawn with the seed (None: nothing was kept)."""
    out = {}
    for q, rows in filtered.items():
        kept = [i for i, r in enumerate(rows) if r["kept"]]
        out[q] = random.Random(_seed(seed, attack, q)).choice(kept) if kept else None
    return out


def pick_worst(filtered: Mapping[str, list[dict]], search, relevant: Mapping[str, set[str]], k: int = 10,
               fallback: Mapping[str, int | None] | None = None) -> tuple[dict[str, int | None], dict[str, list]]:
    """qid -> the index of the kept candidate with the lowest objective under ``search`` (white-box: the target
    system's own scores; one batch for every candidate of every query), and each candidate's objective. A
    query without a relevant passage has no objective: it keeps ``fallback``'s pick."""
    batch = {f"{q}\x00{i}": r["text"] for q, rows in filtered.items() if relevant.get(q)
             for i, r in enumerate(rows) if r["kept"]}
    run = search(batch) if batch else {}
    scores: dict[str, list] = {q: [None] * len(rows) for q, rows in filtered.items()}
    for key in batch:
        q, i = key.split("\x00")
        scores[q][int(i)] = objective(run.get(key, []), relevant[q], k)[0]
    out = {}
    for q in filtered:
        live = [(s, i) for i, s in enumerate(scores[q]) if s is not None]
        out[q] = min(live)[1] if live else (fallback or {}).get(q)
    return out, scores


def models_of(provenance: list[dict]) -> dict:
    """What made a language's paraphrases (models, codes, route, decoding, filter), from its provenance."""
    return {k: v for k, v in provenance[0]["params"].items() if k != "pivots"} if provenance else {}


def apply(topics: Mapping[str, str], filtered: Mapping[str, list[dict]], picks: Mapping[str, int | None],
          attack: str, params: dict, how: str, objectives: Mapping[str, list] | None = None
          ) -> tuple[dict[str, str], list[dict]]:
    """The attacked topics (a query without a pick stays as it was) and each query's provenance."""
    out, provenance = {}, []
    for q, original in topics.items():
        i = picks[q]
        out[q] = original if i is None else filtered[q][i]["text"]
        record = {"qid": q, "attack": attack.split(":")[0], "params": params, "original": original,
                  "perturbed": out[q], "changed": out[q] != original, "pick": how, "picked": i,
                  "candidates": [{**r, **({"objective": objectives[q][j]} if objectives else {})}
                                 for j, r in enumerate(filtered[q])],
                  "made": len(filtered[q]), "kept": sum(r["kept"] for r in filtered[q])}
        provenance.append(record)
    return out, provenance


def worst_topics(topics: Mapping[str, str], lang: str, attack: str, settings: Settings, seed: int,
                 searches: Mapping[str, Callable], relevant: Mapping[str, set[str]], reference=None,
                 k: int = 10, device: str = "cpu") -> dict[str, tuple[dict[str, str], list[dict]]]:
    """The worst case against each system of ``searches`` (name -> search; white-box): the candidates (their
    models on ``device``) and the meaning filter once, ``pick_worst`` per system; name -> (attacked topics,
    provenance)."""
    made, params = candidates_once(attack, topics, lang, settings, seed, device)
    params = {**params, "reference_encoder": describe_encoder(reference)}
    filtered = meaning_filter(topics, made, lang, settings.min_similarity, reference)
    fallback = pick_random(filtered, seed, attack)
    out = {}
    for name, search in searches.items():
        picks, objectives = pick_worst(filtered, search, relevant, k, fallback)
        out[name] = apply(topics, filtered, picks, attack, params, "worst", objectives)
    return out
