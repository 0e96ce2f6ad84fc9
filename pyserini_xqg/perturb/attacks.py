"""Query perturbation attacks: topics in, perturbed topics out, same qids, deterministic for a seed.

Each attack declares the scripts (ISO 15924, from ``io.languages``) it applies to and
refuses other languages with ``NotApplicable`` - never a silent no-op. Edits work on grapheme
clusters (``regex``'s ``\\X``), so combining marks stay with their base letter.

- character level: ``char-insert``, ``char-delete``, ``char-substitute``, ``char-swap``
  (graphemes drawn from the query itself, so the script is kept) and ``keyboard-typo``
  (a neighbouring key on the language's layout: Latin QWERTY, Russian/Kazakh JCUKEN,
  Arabic, Bengali and Telugu InScript);
- orthographic: ``strip-marks`` (diacritics, Arabic harakat, Indic vowel signs), ``nfd`` /
  ``nfkd`` (Unicode normalisation variants), ``romanize`` (anyascii);
- word level: ``word-shuffle`` (swaps within a window of 3) and ``word-drop``;
- code-switching: ``code-switch`` replaces words with their English translation from a
  FreeDict bilingual dictionary in dictd format (Debian's ``dict-freedict-<lang>-eng``
  packages, read from ``$PYSERINI_XQG_DICTD`` or /usr/share/dictd without a server); applies
  to the languages whose dictionary is installed (Debian 12 packages them for ar, fi, ja, sw;
  ``dictionary_languages`` lists those present);
- model based: ``paraphrase:MODEL`` and ``backtranslate:MODEL[,MODEL]`` (``perturb.paraphrase``, on the
  translation layer: each family's language codes, candidates, a meaning filter), any script;
- from a file: ``file:PATH`` (qid<TAB>variant, e.g. human paraphrases).

``rate`` is the share of graphemes (character level) or words (word level) edited, at
least one edit per query.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import regex

from ..io.collection import load_topics
from ..io.files import DataError
from ..io.languages import LANGUAGES, UNKNOWN
from . import paraphrase as paraphrases


class NotApplicable(ValueError):
    """The attack does not apply to this language or script."""


ALL_SCRIPTS = None
_SPACED = {"Latn", "Cyrl", "Arab", "Beng", "Telu", "Deva", "Ethi", "Grek", "Kore", "Thai"}  # words split on spaces

# Keyboard layouts, as rows of keys (unshifted), described here so nothing is downloaded. Neighbours: same row +/- 1,
# and the keys at the same position in the rows above and below.
KEYBOARDS = {
    "Latn": ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"],
    "Cyrl": ["1234567890", "йцукенгшщзх", "фывапролджэ", "ячсмитьбю"],
    "Arab": ["1234567890", "ضصثقفغعهخحج", "شسيبلاتنمكط", "ئءؤرلاىةوزظ"],
    "Beng": ["১২৩৪৫৬৭৮৯০", "ৌৈাীূবহগদজড", "োেিুপরকতচট", "ংমনবলসয"],    # InScript
    "Telu": ["౧౨౩౪౫౬౭౮౯౦", "ౌైాీూబహగదజడ", "ోెిుపరకతచట", "ంమనవలసయ"],  # InScript
}


def graphemes(text: str) -> list[str]:
    return regex.findall(r"\X", text)


def _letters(gs: list[str]) -> list[int]:
    return [i for i, g in enumerate(gs) if unicodedata.category(g[0])[0] in "LM"]


def _count(n: int, rate: float) -> int:
    return max(1, round(n * rate)) if n else 0


def _neighbours(layout: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r, row in enumerate(layout):
        for c, key in enumerate(row):
            near = [row[c - 1] if c else "", row[c + 1] if c + 1 < len(row) else ""]
            for rr in (r - 1, r + 1):
                if 0 <= rr < len(layout) and c < len(layout[rr]):
                    near.append(layout[rr][c])
            out[key] = "".join(k for k in near if k and not k.isdigit())
    return out


def char_edit(kind: str) -> Callable[[str, random.Random, float, str], str]:
    def edit(text: str, rng: random.Random, rate: float, script: str) -> str:
        gs = graphemes(text)
        letters = _letters(gs)
        if not letters:
            return text
        pool = [gs[i] for i in letters]
        for i in sorted(rng.sample(letters, min(len(letters), _count(len(letters), rate))), reverse=True):
            if kind == "delete":
                del gs[i]
            elif kind == "insert":
                gs.insert(i, rng.choice(pool))
            elif kind == "substitute":
                gs[i] = rng.choice([g for g in pool if g != gs[i]] or pool)
            elif kind == "swap" and i + 1 < len(gs) and i + 1 in letters:
                gs[i], gs[i + 1] = gs[i + 1], gs[i]
        return "".join(gs)
    return edit


def keyboard_typo(text: str, rng: random.Random, rate: float, script: str) -> str:
    near = _neighbours(KEYBOARDS[script])
    gs = graphemes(text)
    keyed = [i for i, g in enumerate(gs) if near.get(g[0].lower())]
    for i in rng.sample(keyed, min(len(keyed), _count(len(keyed), rate))):
        base = gs[i][0]
        new = rng.choice(near[base.lower()])
        gs[i] = (new.upper() if base.isupper() else new) + gs[i][1:]
    return "".join(gs)


def strip_marks(text: str, rng: random.Random, rate: float, script: str) -> str:
    """Remove combining marks: Latin/Cyrillic diacritics, Arabic harakat, Indic vowel signs and viramas."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Mc"))
    return unicodedata.normalize("NFC", kept)


def normal_form(form: str):
    def apply(text: str, rng: random.Random, rate: float, script: str) -> str:
        return unicodedata.normalize(form, text)
    return apply


def romanize(text: str, rng: random.Random, rate: float, script: str) -> str:
    from anyascii import anyascii

    return " ".join(anyascii(text).split())


def word_edit(kind: str):
    def edit(text: str, rng: random.Random, rate: float, script: str) -> str:
        words = text.split()
        if len(words) < 2:
            return text
        n = _count(len(words), rate)
        if kind == "drop":
            drop = set(rng.sample(range(len(words)), min(n, len(words) - 1)))
            return " ".join(w for i, w in enumerate(words) if i not in drop)
        for _ in range(n):  # local shuffle: swap a word with one at most 2 positions away
            i = rng.randrange(len(words) - 1)
            j = min(len(words) - 1, i + rng.randint(1, 2))
            words[i], words[j] = words[j], words[i]
        return " ".join(words)
    return edit


@dataclass(frozen=True)
class Attack:
    name: str
    level: str
    scripts: frozenset[str] | None
    apply: Callable[[str, random.Random, float, str], str]
    why_not: str = ""

    def check(self, lang: str) -> str:
        """The language's script, or NotApplicable."""
        if lang not in LANGUAGES:
            raise NotApplicable(f"unknown language code {lang!r}")
        script = LANGUAGES[lang].script
        if self.scripts is not ALL_SCRIPTS and script not in self.scripts:
            raise NotApplicable(f"{self.name} does not apply to {LANGUAGES[lang].name} ({script} script): "
                                f"{self.why_not} (it applies to {', '.join(sorted(self.scripts))})")
        return script


MARKED = frozenset({"Latn", "Cyrl", "Grek", "Arab", "Beng", "Telu", "Deva"})
ATTACKS = {a.name: a for a in [
    Attack("char-insert", "character", ALL_SCRIPTS, char_edit("insert")),
    Attack("char-delete", "character", ALL_SCRIPTS, char_edit("delete")),
    Attack("char-substitute", "character", ALL_SCRIPTS, char_edit("substitute")),
    Attack("char-swap", "character", ALL_SCRIPTS, char_edit("swap")),
    Attack("keyboard-typo", "character", frozenset(KEYBOARDS), keyboard_typo, "no keyboard layout is described for it"),
    Attack("strip-marks", "orthographic", MARKED, strip_marks, "its script writes no separable diacritics or vowel signs"),
    Attack("nfd", "orthographic", MARKED | {"Kore", "Jpan"}, normal_form("NFD"), "NFD leaves its text unchanged"),
    Attack("nfkd", "orthographic", MARKED | {"Kore", "Jpan"}, normal_form("NFKD"), "NFKD leaves its text unchanged"),
    Attack("romanize", "orthographic", frozenset({l.script for l in LANGUAGES.values()} - {"Latn", UNKNOWN}),
           romanize, "it is already written in Latin script"),
    Attack("word-shuffle", "word", frozenset(_SPACED), word_edit("shuffle"), "its words are not separated by spaces"),
    Attack("word-drop", "word", frozenset(_SPACED), word_edit("drop"), "its words are not separated by spaces"),
]}


FREEDICT_CODES = {"sw": "swh"}  # FreeDict names Swahili by its individual-language code
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(text: str) -> int:
    n = 0
    for c in text:
        n = n * 64 + _B64.index(c)
    return n


class Dictionary:
    """A dictd dictionary (``.index`` + ``.dict`` or ``.dict.dz``), read without a dict server."""

    def __init__(self, index: Path):
        import gzip

        self.entries = {}
        for line in index.read_text(encoding="utf-8").splitlines():
            word, offset, length = line.split("\t")[:3]
            if not word.startswith("00database"):
                self.entries.setdefault(word.lower(), (_b64(offset), _b64(length)))
        data = index.with_suffix(".dict")
        self.data = data.read_bytes() if data.exists() else gzip.open(index.with_suffix(".dict.dz")).read()

    def translate(self, word: str) -> str | None:
        """The first translation of ``word``: the first item of the entry's first sense."""
        if word.lower() not in self.entries:
            return None
        offset, length = self.entries[word.lower()]
        lines = self.data[offset:offset + length].decode("utf-8").splitlines()[1:]
        for line in lines:
            line = line.strip()
            if line and not regex.fullmatch(r"\d+\.", line):
                first = regex.split(r"[,;]", regex.sub(r"\(.*?\)|<.*?>|\[.*?\]", "", line))[0].strip()
                if first:
                    return first
        return None


def dictionary_dir() -> Path:
    import os

    return Path(os.environ.get("PYSERINI_XQG_DICTD", "/usr/share/dictd"))


def dictionary_for(lang: str) -> Dictionary | None:
    """The installed FreeDict ``lang``-English dictionary, if any."""
    index = _dictionary_index(lang)
    return Dictionary(index) if index.exists() else None


def _dictionary_index(lang: str) -> Path:
    return dictionary_dir() / f"freedict-{FREEDICT_CODES.get(lang, LANGUAGES[lang].iso639_3)}-eng.index"


def dictionary_languages() -> list[str]:
    """Languages with a FreeDict dictionary into English installed here (a dictionary that
    ``FREEDICT_CODES`` gives to a language counts once, for that language: swh's is sw's)."""
    claimed = set(FREEDICT_CODES.values())
    return [lang for lang in LANGUAGES if lang != "en"
            and (lang in FREEDICT_CODES or LANGUAGES[lang].iso639_3 not in claimed)
            and _dictionary_index(lang).exists()]


def code_switch(topics: dict[str, str], lang: str, rate: float, seed: int) -> dict[str, str]:
    """Replace a share ``rate`` of each query's dictionary words with their English translation."""
    dictionary = dictionary_for(lang)
    if dictionary is None:
        code = FREEDICT_CODES.get(lang, LANGUAGES[lang].iso639_3)
        raise NotApplicable(f"code-switch does not apply to {LANGUAGES[lang].name}: no FreeDict {code}-eng dictionary "
                            f"in {dictionary_dir()} (Debian: apt-get install dict-freedict-{code}-eng)")
    out = {}
    for qid, text in topics.items():
        rng = random.Random(_seed(seed, "code-switch", qid))
        words = text.split()
        known = [i for i, w in enumerate(words) if dictionary.translate(regex.sub(r"^\W+|\W+$", "", w))]
        for i in rng.sample(known, min(len(known), _count(len(known), rate))):
            core = regex.sub(r"^\W+|\W+$", "", words[i])
            words[i] = words[i].replace(core, dictionary.translate(core))
        out[qid] = " ".join(words)
    return out


def _seed(seed: int, attack: str, qid: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{seed}|{attack}|{qid}".encode()).digest()[:8], "little")


def attack_topics(topics: dict[str, str], lang: str, attack: str, rate: float = 0.1, seed: int = 0,
                  paraphrase: paraphrases.Settings = paraphrases.Settings(), reference=None, device: str = "cpu"):
    """Perturbed topics (same qids) and one provenance record per query; a model attack (``paraphrase``, its
    models on ``device``) picks among its candidates at random (the average case)."""
    from rapidfuzz.distance import Levenshtein

    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], not {rate}")
    if attack.startswith("file:"):
        variants = load_topics(attack[5:])
        missing = [q for q in topics if q not in variants]
        if missing:
            raise DataError(attack[5:], None, f"no variant for {len(missing)} queries, e.g. {missing[0]!r}")
        out = {q: variants[q] for q in topics}
        params = {"source": attack[5:]}
    elif paraphrases.is_model_attack(attack):
        made, params = paraphrases.candidates_once(attack, topics, lang, paraphrase, seed, device)
        params = {**params, "reference_encoder": paraphrases.describe_encoder(reference)}
        filtered = paraphrases.meaning_filter(topics, made, lang, paraphrase.min_similarity, reference)
        return paraphrases.apply(topics, filtered, paraphrases.pick_random(filtered, seed, attack), attack, params,
                                 "random")
    elif attack == "code-switch":
        out = code_switch(topics, lang, rate, seed)
        params = {"rate": rate, "seed": seed, "level": "word", "dictionary": f"FreeDict {lang}-eng"}
    else:
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack {attack!r}; known: {', '.join(ATTACKS)}, "
                             "code-switch, paraphrase:MODEL, backtranslate:FORWARD,BACKWARD, file:PATH")
        a = ATTACKS[attack]
        script = a.check(lang)
        out = {q: a.apply(t, random.Random(_seed(seed, attack, q)), rate, script) for q, t in topics.items()}
        if a.level == "orthographic" and topics and out == topics:  # the orthography, not only the script
            raise NotApplicable(f"{attack} does not apply to {LANGUAGES[lang].name}: it leaves every one of its "
                                f"{len(topics)} queries unchanged (its spelling here has nothing the attack changes)")
        params = {"rate": rate, "seed": seed, "level": a.level}
    provenance = [{"qid": q, "attack": attack.split(":")[0], "params": params, "original": topics[q],
                   "perturbed": out[q], "changed": out[q] != topics[q],
                   "edit_distance": Levenshtein.distance(graphemes(topics[q]), graphemes(out[q]))}
                  for q in topics]
    return out, provenance


def changed(topics: dict[str, str], attacked: dict[str, str]) -> dict[str, str]:
    """The attacked queries that differ from their originals: an attack that left a query as it was (a model
    that returned nothing, a word drop on a one-word query) did not attack it, and its drop would count 0."""
    return {q: t for q, t in attacked.items() if t != topics[q]}
