"""The model-guided attack, ``adversarial``: the fewest single edits that push a query's relevant
passages down one system's ranking, found with that system's own scores (white-box).

At each step every active query proposes every applicable single edit (``candidates``):
grapheme delete / swap / substitute / insert (graphemes drawn from the query itself), keyboard
typos, removing the diacritics or vowel signs of one word, romanising one word, dropping one
word, and translating one word into English where a FreeDict dictionary is installed. All
candidates of all queries of a step are searched as one batch (one encoding pass, one index
search), and the search keeps the candidate with the lowest objective, if it is lower than
the query's current one; ``beam`` > 1 keeps that many. A query stops when the budget is spent,
when no edit lowers the objective, or when the attack succeeds.

Objective (lower is better for the attacker), from the system's run at its search depth:
``margin = score(best relevant passage) - score(k-th best non-relevant passage)``, with k = 10.
It is negative exactly when the best relevant passage ranks below k non-relevant ones; a
relevant passage missing from the run counts with the run's last score (an upper bound).
Success: the first relevant passage leaves the top k.

Constraints keep the query recognisable: ``budget`` edits, a grapheme edit distance of at most
``max_distance`` x the query's length in graphemes (at least 1), and optionally a cosine of at
least ``min_similarity`` to the original under a ``reference`` encoder other than the attacked one.
Deterministic for a seed: candidate draws are seeded by (seed, qid, step).
"""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import regex

from ..io.languages import LANGUAGES
from ..io.runs import Run
from ..perturb.attacks import KEYBOARDS, MARKED, NotApplicable, _letters, _neighbours, _seed, char_edit, dictionary_for, \
    graphemes, strip_marks
from ..perturb.objective import objective
from .measures import group_of

ADVERSARIAL = "adversarial"
EDITS = ("delete", "swap", "substitute", "insert", "keyboard", "strip-marks", "romanize", "word-drop", "code-switch")
SCRIPT_PRESERVING = ("delete", "swap", "substitute", "insert", "keyboard", "strip-marks", "word-drop")
DRAWS = 3  # graphemes drawn per position for substitute and insert


@dataclass(frozen=True)
class Settings:
    """How hard the attack searches, and what keeps a query recognisable."""

    budget: int = 3
    k: int = 10
    max_candidates: int = 64         # per query and step, drawn with the seed where more apply
    max_distance: float = 0.2        # grapheme edit distance / query length in graphemes
    beam: int = 1
    min_similarity: float = 0.0      # cosine under the reference encoder (0: not checked)
    edits: tuple[str, ...] = EDITS
    queries: int | None = None       # per language, a fixed sample (``sample_queries``); None: all

    def check(self) -> None:
        if self.budget < 1 or self.k < 1 or self.max_candidates < 1 or self.beam < 1:
            raise ValueError("--budget, k, --max-candidates and --beam must be at least 1")
        if not 0 < self.max_distance <= 1:
            raise ValueError(f"--max-distance must be in (0, 1], not {self.max_distance}")
        if self.queries is not None and self.queries < 1:
            raise ValueError(f"--queries must be at least 1, not {self.queries}")
        if unknown := set(self.edits) - set(EDITS):
            raise ValueError(f"unknown edit(s) {sorted(unknown)}; known: {', '.join(EDITS)}")


def sample_queries(topics: Mapping[str, str], n: int | None) -> dict[str, str]:
    """At most ``n`` of ``topics``, the same ones for every system and seed (ordered by a hash of the qid)."""
    if n is None or n >= len(topics):
        return dict(topics)
    chosen = set(sorted(topics, key=lambda q: _seed(0, "adversarial-sample", q))[:n])
    return {q: t for q, t in topics.items() if q in chosen}


def random_swaps(topics: Mapping[str, str], budget: int, seed: int = 0) -> dict[str, str]:
    """The random baseline at the attack's budget: ``budget`` grapheme swaps per query at seeded positions."""
    swap, rng = char_edit("swap"), random.Random(seed)
    return {q: swap(t, rng, min(1.0, budget / max(1, len(_letters(graphemes(t))))), "") for q, t in topics.items()}


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in regex.finditer(r"\S+", text)]


def candidates(text: str, lang: str, rng: random.Random, edits=EDITS) -> list[tuple[str, str]]:
    """(description, edited text) for every applicable single edit of ``text``, without repeats."""
    from anyascii import anyascii

    script = LANGUAGES[lang].script
    gs = graphemes(text)
    letters = _letters(gs)
    pool = sorted(set(gs[i] for i in letters))
    out: dict[str, str] = {}

    def add(description: str, parts) -> None:
        new = parts if isinstance(parts, str) else "".join(parts)
        new = " ".join(new.split())
        if new and new != text and new not in out.values():
            out[description] = new

    for i in letters:
        if "delete" in edits:
            add(f"delete {gs[i]!r} at {i}", gs[:i] + gs[i + 1:])
        if "swap" in edits and i + 1 in letters and gs[i] != gs[i + 1]:
            add(f"swap {gs[i]!r}{gs[i + 1]!r} at {i}", gs[:i] + [gs[i + 1], gs[i]] + gs[i + 2:])
        others = [g for g in pool if g != gs[i]]
        if "substitute" in edits:
            for g in rng.sample(others, min(DRAWS, len(others))):
                add(f"substitute {gs[i]!r}->{g!r} at {i}", gs[:i] + [g] + gs[i + 1:])
        if "insert" in edits:
            for g in rng.sample(pool, min(DRAWS, len(pool))):
                add(f"insert {g!r} at {i}", gs[:i] + [g] + gs[i:])
    if "keyboard" in edits and script in KEYBOARDS:
        near = _neighbours(KEYBOARDS[script])
        for i, g in enumerate(gs):
            for key in near.get(g[0].lower(), ""):
                typed = (key.upper() if g[0].isupper() else key) + g[1:]
                add(f"keyboard {g!r}->{typed!r} at {i}", gs[:i] + [typed] + gs[i + 1:])
    spans = _words(text)
    dictionary = dictionary_for(lang) if "code-switch" in edits else None
    for start, end in spans:
        word = text[start:end]

        def put(description: str, new_word: str) -> None:
            add(f"{description} {word!r}", text[:start] + new_word + text[end:])

        if "strip-marks" in edits and script in MARKED:
            put("strip-marks", strip_marks(word, rng, 1.0, script))
        if "romanize" in edits and script != "Latn":
            put("romanize", anyascii(word))
        if "word-drop" in edits and len(spans) > 1:
            put("word-drop", "")
        if dictionary is not None:
            core = regex.sub(r"^\W+|\W+$", "", word)
            if core and (english := dictionary.translate(core)):
                put("code-switch", word.replace(core, english))
    return list(out.items())


def _distance(a: list[str], b: list[str]) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)


def _succeeded(rank: int | None, k: int) -> bool:
    return rank is None or rank > k


def adversarial_topics(topics: Mapping[str, str], lang: str, search: Callable[[dict[str, str]], Run],
                       relevant: Mapping[str, set[str]], settings: Settings = Settings(), seed: int = 0,
                       reference: Callable[[list[str]], np.ndarray] | None = None,
                       log: Callable[[str], None] | None = None) -> tuple[dict[str, str], list[dict]]:
    """Attacked topics (same qids) against ``search`` and one provenance record per query.

    ``relevant``: qid -> relevant docids (a query without any is left as it is, marked so);
    ``reference``: texts -> L2-normalised vectors of another encoder, for ``min_similarity``.
    """
    settings.check()
    if lang not in LANGUAGES:
        raise NotApplicable(f"unknown language code {lang!r}")
    qids = [q for q in topics if relevant.get(q)]
    first = search({q: topics[q] for q in qids}) if qids else {}
    state = {}  # qid -> beam of (margin, rank, text, edits)
    for q in qids:
        margin, rank = objective(first.get(q, []), relevant[q], settings.k)
        state[q] = [(margin, rank, topics[q], [])]
    active = [q for q in qids if not _succeeded(state[q][0][1], settings.k)]
    original = {q: graphemes(topics[q]) for q in qids}
    cap = {q: max(1, int(settings.max_distance * len(original[q]))) for q in qids}
    anchor = dict(zip(qids, reference([topics[q] for q in qids]))) if reference is not None and qids else {}
    encodings = 0
    for step in range(1, settings.budget + 1):
        batch: dict[str, str] = {}
        owner: dict[str, tuple[str, int, str]] = {}  # batch key -> (qid, beam entry, edit)
        for q in active:
            rng = random.Random(_seed(seed, f"adversarial-{step}", q))
            proposals = []
            for b, (_, _, text, edits) in enumerate(state[q]):
                for description, new in candidates(text, lang, rng, settings.edits):
                    if _distance(original[q], graphemes(new)) <= cap[q]:
                        proposals.append((b, description, new))
            if len(proposals) > settings.max_candidates:
                keep = sorted(rng.sample(range(len(proposals)), settings.max_candidates))
                proposals = [proposals[i] for i in keep]
            for b, description, new in proposals:
                key = f"{q}\u0001{len(owner)}"
                batch[key], owner[key] = new, (q, b, description)
        if reference is not None and settings.min_similarity > 0 and batch:
            keys = list(batch)
            vectors = reference([batch[key] for key in keys])
            for key, v in zip(keys, vectors):
                if float(v @ anchor[owner[key][0]]) < settings.min_similarity:
                    del batch[key], owner[key]
        if not batch:
            break
        encodings += len(batch)
        run = search(batch)
        scored: dict[str, list] = {}
        for key, (q, b, description) in owner.items():
            margin, rank = objective(run.get(key, []), relevant[q], settings.k)
            _, _, _, edits = state[q][b]
            entry = {"step": step, "edit": description, "text": batch[key], "objective_before": state[q][b][0],
                     "objective_after": margin, "rank_after": rank}
            scored.setdefault(q, []).append((margin, rank, batch[key], edits + [entry]))
        still = []
        for q in active:
            best_now = state[q][0][0]
            better = sorted((c for c in scored.get(q, []) if c[0] < best_now), key=lambda c: c[0])[:settings.beam]
            if not better:
                continue  # no edit lowers the objective: the query stops here
            state[q] = better
            if not _succeeded(better[0][1], settings.k):
                still.append(q)
        active = still
        if log:
            log(f"adversarial step {step}: {len(owner)} candidates, {len(qids) - len(active)} of {len(qids)} queries "
                "done")
        if not active:
            break
    out = dict(topics)
    provenance = []
    params = {**settings.__dict__, "edits": list(settings.edits), "seed": seed}
    for q in topics:
        record = {"qid": q, "attack": "adversarial", "params": params, "original": topics[q]}
        if q not in state:
            provenance.append({**record, "perturbed": topics[q], "changed": False, "edits": [],
                               "skipped": "no relevant passage"})
            continue
        margin, rank, text, edits = state[q][0]
        out[q] = text
        first_margin, first_rank = objective(first.get(q, []), relevant[q], settings.k)
        success_step = next((e["step"] for e in edits if _succeeded(e["rank_after"], settings.k)), None)
        if _succeeded(first_rank, settings.k):
            success_step = 0
        provenance.append({**record, "perturbed": text, "changed": text != topics[q], "edits": edits,
                           "edit_distance": _distance(original[q], graphemes(text)),
                           "objective_before": first_margin, "objective_after": margin,
                           "rank_before": first_rank, "rank_after": rank,
                           "success": _succeeded(rank, settings.k), "success_step": success_step})
    if provenance:
        provenance[0]["candidate_encodings"] = encodings  # the attack's cost, once per call
    return out, provenance



def first_relevant_rank(hits: list[tuple[str, float]], relevant: set[str], missing: int) -> int:
    """Rank of the first relevant passage; ``missing`` (past the search depth) where none was retrieved,
    an empty run included."""
    return next((r for r, (d, _) in enumerate(hits, 1) if d in relevant), missing)


def relevant_ranks(clean: Run, attacked: Run, relevant: Mapping[str, set[str]], qids, k: int = 10) -> dict:
    """qid -> [before, after]: the first relevant passage's rank in the clean and the attacked run, for the
    queries whose first relevant passage was in the clean top k (the others have nothing to break)."""
    out = {}
    for q in qids:
        if not relevant.get(q) or q not in clean:
            continue
        missing = max(len(clean[q]), k) + 1  # one past the depth the system searches to
        before = first_relevant_rank(clean[q], relevant[q], missing)
        if before <= k:
            out[q] = [before, first_relevant_rank(attacked.get(q, []), relevant[q], missing)]
    return out


def success_by_group(ranks: list[dict[str, list[int]]], qid_lang: Mapping[str, str], groupings, k: int = 10) -> dict:
    """grouping -> group -> success rate (the share of ``relevant_ranks``'s queries whose first relevant
    passage left the top k) and that passage's mean rank before and after, averaged over seeds (one
    ``relevant_ranks`` each)."""
    out: dict = {}
    for grouping in groupings:
        rows: dict[str, list[list[float]]] = {}
        for seed in ranks:
            per_group: dict[str, list[tuple[float, float, float]]] = {}
            for q, (before, after) in seed.items():
                if q in qid_lang:
                    per_group.setdefault(group_of(qid_lang[q], grouping), []).append((float(after > k), before, after))
            for group, values in per_group.items():
                rows.setdefault(group, []).append([statistics.fmean(v[i] for v in values) for i in range(3)]
                                                  + [len(values)])
        out[grouping] = {g: {"success_rate": statistics.fmean(r[0] for r in seeds),
                             "rank_before": statistics.fmean(r[1] for r in seeds),
                             "rank_after": statistics.fmean(r[2] for r in seeds), "queries": seeds[0][3]}
                         for g, seeds in sorted(rows.items())}
    return out


def budget_curve(provenance: list[list[dict]], budget: int) -> list[tuple[int, float]]:
    """(K, success rate with at most K edits) for K = 1..budget, mean over seeds: white-box provenance, of
    the queries whose first relevant passage was in the top k before the attack."""
    points = []
    for K in range(1, budget + 1):
        rates = []
        for records in provenance:
            live = [r for r in records if "skipped" not in r and r["success_step"] != 0]
            if live:
                rates.append(statistics.fmean(r["success_step"] is not None and r["success_step"] <= K for r in live))
        points.append((K, statistics.fmean(rates) if rates else 0.0))
    return points
