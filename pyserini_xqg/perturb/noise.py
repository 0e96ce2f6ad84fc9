"""Query noise as a defence: seeded perturbed copies of training queries and of generated queries.

Both defences (``train-encoder --query-noise``, ``encode --xqg-noise``) draw on the rule-based
attacks (``attacks.ATTACKS`` and ``code-switch``). A query named ``key`` gets its copy from the
first of the listed attacks, in an order drawn for ``key``, that applies to its language and
changes it; the copy is that attack's seeded output, ``attack_topics({key: text}, lang, attack,
rate, seed)[0][key]``, so reruns are identical whatever the batching or sharding. A query that
no listed attack changes gets no copy.

Noisy xQG (``with_copies``): each generated query of a passage is followed by ``copies`` perturbed
copies, keyed ``docid|lang|query number|copy number``, which the xQG index folds in as ordinary
generated queries.
"""
from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Iterator

from .attacks import ATTACKS, NotApplicable, _seed, attack_topics

RULE_ATTACKS = (*ATTACKS, "code-switch")  # the attacks that need no model and no file


def attacks_label(attacks: Iterable[str]) -> str:
    """A short name for a set of attacks in a report's name: ``rule-attacks`` (every rule-based one),
    up to three names joined by ``+``, or a count."""
    attacks = list(attacks)
    if set(attacks) == set(RULE_ATTACKS):
        return "rule-attacks"
    return "+".join(map(_file_name, attacks)) if len(attacks) <= 3 else f"{len(attacks)}-attacks"


def _file_name(attack: str) -> str:
    """An attack's name as a part of a file name: ``paraphrase:/models/mt5/`` -> ``paraphrase-mt5``."""
    kind, _, where = attack.partition(":")
    return re.sub(r"[^\w.+-]+", "-", f"{kind}-{where.rstrip('/').rsplit('/', 1)[-1]}" if where else kind)
COPIES = 1  # noisy xQG: perturbed copies per generated query, unless told


@dataclass(frozen=True)
class Noise:
    """Which attacks, at what edit rate (share of graphemes or words, as ``attack --rate``), from which seed."""

    attacks: tuple[str, ...]
    rate: float = 0.1
    seed: int = 0

    def __post_init__(self):
        unknown = [a for a in self.attacks if a not in RULE_ATTACKS]
        if not self.attacks or unknown:
            raise ValueError(f"query noise takes rule-based attacks ({', '.join(RULE_ATTACKS)}), "
                             f"not {', '.join(unknown) or 'none'}")
        if not 0 < self.rate <= 1:
            raise ValueError(f"the noise's edit rate must be in (0, 1], not {self.rate}")

    def rng(self, key: str, purpose: str = "order") -> random.Random:
        """Query ``key``'s random stream for ``purpose``: its attack order, or a draw a defence makes for it."""
        return random.Random(_seed(self.seed, f"noise-{purpose}", key))

    def perturb(self, texts: dict[str, str], lang: str) -> dict[str, tuple[str, str]]:
        """key -> (perturbed copy, attack) for the queries of ``texts`` (key -> query in ``lang``) that
        one of the attacks changes; the others are left out."""
        orders = {k: self.rng(k).sample(self.attacks, len(self.attacks)) for k in texts}
        done: dict[str, tuple[str, str]] = {}
        for turn in range(len(self.attacks)):  # each query's next attack, one attack_topics call per attack
            groups: dict[str, dict[str, str]] = defaultdict(dict)
            for k, text in texts.items():
                if k not in done:
                    groups[orders[k][turn]][k] = text
            for attack, group in groups.items():
                try:
                    out, _ = attack_topics(group, lang, attack, self.rate, self.seed)
                except NotApplicable:
                    continue
                done.update((k, (t, attack)) for k, t in out.items() if t != group[k])
        return done

    def describe(self) -> dict:
        return {"attacks": list(self.attacks), "rate": self.rate, "seed": self.seed}


def with_copies(records: Iterable[dict], noise: Noise, copies: int, made: Counter) -> Iterator[dict]:
    """Generated-query records (``io.generated``) with each query followed by its perturbed copies, up to
    ``copies`` of them; ``made`` counts the copies by attack, and as ``skipped`` those no attack changes."""
    if not isinstance(copies, int) or copies < 0:
        raise ValueError(f"the number of noisy copies must be a whole number >= 0, not {copies}")
    return _with_copies(records, noise, copies, made)


def _with_copies(records: Iterable[dict], noise: Noise, copies: int, made: Counter) -> Iterator[dict]:
    for record in records:
        docid, lang, queries = record["docid"], record["lang"], record["queries"]
        keys = [[f"{docid}|{lang}|{i}|{c}" for c in range(copies)] for i in range(len(queries))]
        out = noise.perturb({k: q for q, ks in zip(queries, keys) for k in ks}, lang) if copies else {}
        expanded = []
        for query, ks in zip(queries, keys):
            expanded.append(query)
            for k in ks:
                if k in out:
                    expanded.append(out[k][0])
                made[out[k][1] if k in out else "skipped"] += 1
        yield {**record, "queries": expanded}


def copies_summary(noise: Noise, copies: int, made: Counter) -> dict:
    """meta.json's ``xqg.noise``: the settings, the copies made by attack, and those skipped."""
    return {**noise.describe(), "copies": copies, "made": {a: n for a, n in sorted(made.items()) if a != "skipped"},
            "skipped": made["skipped"]}
