"""The robustness study in one command: does xQG make a dense retriever more robust to attacked
queries, by language family, than standard multilingual fine-tuning does?

Four dense systems: dense (the starting encoder), dense+xQG (its index augmented with generated
queries), fine-tuned dense (``train-encoder`` on the collection's train split) and fine-tuned
dense+xQG; beside them BM25 (with the Lucene analyzer of the passages' language) and a BM25+dense
hybrid (RRF), and, on clean queries only, BM25 on the queries' human translations into the passages'
language, the pivot (translate-test). Each of the six runs on the clean topics and on every
applicable attack over several seeds (``runner.run_robustness``). A system's *drop* on a query is
clean minus attacked score; the main table averages each query's drop over the attacks that apply
to its language, then over the queries of a family. The effects table tests, per family, the
difference of two systems' per-query drops (paired t-test, Holm over every cell of the table): xQG's
effect, fine-tuning's, xQG's on top of fine-tuning, and xQG against fine-tuning head to head.

Each step's output is kept in the study folder, so a rerun skips what is done. Query vectors
are cached by text per encoder: dense and dense+xQG share their encoder, and an attack that
leaves a query unchanged (or a deterministic one over several seeds) costs no encoding.
"""
from __future__ import annotations

import json
import statistics
import time
import zlib
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..encode import models
from ..encode.dtype import auto_cpu_dtype
from ..encode.embedder import Embedder
from ..eval.evaluation import Results
from ..eval.report import UP, DOWN, comparisons, curve, grouped_bars, markdown as results_markdown
from ..eval.significance import BOOTSTRAP_RESAMPLES, bootstrap_ci, compare, holm
from ..generate.queries import generate_queries, parse_generator
from ..index import dense as dense_index, lucene as lucene_index, xqg
from ..io.collection import load_answers, load_corpus, load_language_topics, load_topics
from ..io.generated import read_provenances
from ..io.files import write_text_atomic
from ..io.languages import LANGUAGES, by_language, check_language
from ..io import provenance
from ..io.sample import Sample
from ..perturb import paraphrase
from ..perturb.noise import RULE_ATTACKS, Noise, attacks_label
from ..search import dense, lucene
from ..search.fusion import fuse
from ..train.encoder import EncoderTraining, train
from . import pooling
from .adversarial import ADVERSARIAL
from .runner import cell_seconds, changed_counts, markdown as robustness_markdown, run_robustness, success_markdown

DENSE, XQG, FT, FT_XQG = "dense", "dense+xQG", "fine-tuned", "fine-tuned+xQG"
BM25, HYBRID = "bm25", "bm25+dense (RRF)"
NOISE_FT, NOISE_FT_ST, NOISY_XQG = "noise-aware", "noise-aware+self-teaching", "dense+noisy xQG"  # the defences
SYSTEMS = (DENSE, XQG, FT, FT_XQG, BM25, HYBRID, NOISE_FT, NOISE_FT_ST, NOISY_XQG)  # clean and attacked queries
TRANSLATE_TEST = "bm25 (translate-test)"  # BM25 on the queries' translations into the pivot: clean scores only
EFFECTS = {  # name -> (system, against): the difference of their per-query drops (where both ran)
    "xQG (dense+xQG - dense)": (XQG, DENSE),
    "fine-tuning (fine-tuned - dense)": (FT, DENSE),
    "xQG after fine-tuning (fine-tuned+xQG - fine-tuned)": (FT_XQG, FT),
    "xQG vs fine-tuning (dense+xQG - fine-tuned)": (XQG, FT),
    "noise-aware vs standard fine-tuning (noise-aware - fine-tuned)": (NOISE_FT, FT),
    "self-teaching (noise-aware+self-teaching - noise-aware)": (NOISE_FT_ST, NOISE_FT),
    "self-teaching vs standard fine-tuning (noise-aware+self-teaching - fine-tuned)": (NOISE_FT_ST, FT),
    "noisy xQG vs xQG (dense+noisy xQG - dense+xQG)": (NOISY_XQG, XQG),
    "noisy xQG vs noise-aware (dense+noisy xQG - noise-aware)": (NOISY_XQG, NOISE_FT),
}
TYPOS = ("char-insert", "char-delete", "char-substitute", "char-swap", "keyboard-typo")
"""The defences' noise unless told (``--noise``): typos, as in typos-aware training (Zhuang and Zuccon 2021)."""


@dataclass
class Collection:
    """A collection with dev topics per language, judgements, answers and training data, its passages in
    ``language``: the pivot language that ``topics_pivot`` translates the topics into."""

    corpus: str
    topics: dict[str, str]      # language -> dev topics TSV
    qrels: str
    answers: list[str]          # answers files: PATH, or LANG=PATH per language
    train: str = "sample"       # train-encoder's data: "sample" or a DPR-style JSONL
    generator: str = ""         # generate's back end for the xQG queries (file:PATH or hf:MODEL)
    topics_pivot: dict[str, str] = field(default_factory=dict)  # language -> translations into ``language``
    language: str = "en"        # the passages' language: BM25's analyzer

    def __post_init__(self):  # the edge: every language by its canonical code from here on
        self.topics, self.topics_pivot = by_language(self.topics, "<--topics>"), by_language(self.topics_pivot,
                                                                                          "<--topics-pivot>")
        self.language = check_language(self.language)
        self.answers = [self.answers] if isinstance(self.answers, str) else list(self.answers)

    @classmethod
    def sample(cls, languages: list[str] | None = None) -> "Collection":
        s = Sample()
        langs = [check_language(lang) for lang in languages] if languages else s.languages
        unknown = sorted(set(langs) - set(s.languages))
        if unknown:
            raise ValueError(f"the sample has no topics in {', '.join(unknown)}; it has {', '.join(s.languages)}")
        return cls(str(s.corpus), {lang: str(s.topics("dev", lang)) for lang in langs}, str(s.qrels("dev")),
                   str(s.answers("dev")), "sample", f"file:{s.reference_queries}",
                   {lang: str(s.topics("dev", lang, english=True)) for lang in langs})


@dataclass
class Settings:
    output: str = "runs/study"
    model: str = models.BUILTIN_MODEL
    steps: list[int] = field(default_factory=lambda: [60])  # train-encoder steps: each a budget of its own
    train_seeds: list[int] = field(default_factory=lambda: [0])  # train-encoder seeds: each budget once per seed
    a: float = 0.01                     # the paper's xQG weight, with agg = sum for n queries per passage
    agg: str = "auto"
    attacks: list[str] = field(default_factory=lambda: list(RULE_ATTACKS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    rate: float = 0.1
    measures: tuple[str, ...] = ("nDCG@10", "R@2kt")
    hits: int = 100
    alpha: float = 0.05
    title: bool = True                  # index 'title text' (Pyserini's convention), or the text alone
    defences: bool = False              # add noise-aware fine-tuning and noisy xQG, with ``noise``
    noise: list[str] = field(default_factory=lambda: list(TYPOS))  # the attacks the defences see ("seen")
    noise_rate: float = 0.5             # noise-aware fine-tuning: a training query's chance of a noisy copy
    self_teaching: float = 0.0          # > 0: also noise-aware fine-tuning with self-teaching at this weight
    noise_copies: int = 1               # noisy xQG: perturbed copies of each generated query
    device: str = "cpu"                 # where every model runs, in the dtype auto means on the CPU: what one
                                        # device made (encoders, indexes, cells) the other reuses


class CachedQueries:
    """Query vectors of one encoder by text: each distinct text is encoded once."""

    def __init__(self, encode: dense.QueryVectorsFn):
        self.encode, self.vectors = encode, {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.encode(missing)))
        return np.stack([self.vectors[t] for t in texts])


TIMINGS = "timings.json"


class Timings:
    """How long each step of the study took when it was made, kept in the study folder (``timings.json``)
    beside what it made, so that a rerun which reuses a step still reports what the step cost."""

    def __init__(self, path: Path):
        self.path = path
        self.steps = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    @contextmanager
    def step(self, name: str):
        started = time.time()
        yield
        self.steps[name] = round(time.time() - started, 1)
        write_text_atomic(self.path, json.dumps(self.steps, indent=1) + "\n")


@dataclass(frozen=True)
class Trained:
    """One training run of the fine-tuned systems: its budget and seed. A trained system's name and folders
    depend on these alone, so a study grown with more budgets or seeds keeps every one it had."""
    steps: int
    seed: int

    def name(self, role: str) -> str:
        return f"{role} ({self.steps} steps, seed {self.seed})"

    def folder(self, role: str) -> str:
        return f"{role}.{self.steps}-steps.seed-{self.seed}"


TRAINED = (FT, FT_XQG, NOISE_FT, NOISE_FT_ST)
"""The systems trained once per budget and seed (``Trained``); the others are the same in every run."""


def training_runs(settings: Settings) -> list[Trained]:
    """Every (budget, seed) the settings ask for, budgets first."""
    return [Trained(steps, seed) for steps in settings.steps for seed in settings.train_seeds]


def build_systems(collection: Collection, settings: Settings, log=print) -> dict:
    """Fine-tune, generate, index (reusing what the study folder has); name -> search(topics), each search with
    the ``indexes`` it reads. The trained systems are named by ``Trained.name``, once per budget and seed."""
    out = Path(settings.output)
    out.mkdir(parents=True, exist_ok=True)
    timings = Timings(out / TIMINGS)
    langs = list(collection.topics)
    log(f"xQG queries: {collection.generator} for {', '.join(langs)}")
    queries = out / "xqg-queries.jsonl"
    with timings.step("xQG queries") if not queries.exists() else nullcontext():
        generate_queries(collection.corpus, queries, collection.generator, langs, device=settings.device)
    index = dict(collection=collection, settings=settings, queries=queries, timings=timings, log=log)
    systems = _dense_systems(settings.model, DENSE, XQG, None, **index)
    bm25 = bm25_index(collection, settings, timings, log)
    systems[BM25] = _searcher(_remember_last(lambda topics: lucene.search(bm25, topics, settings.hits)), bm25)
    systems[DENSE] = _searcher(_remember_last(systems[DENSE]), *systems[DENSE].indexes)
    systems[HYBRID] = _searcher(lambda topics: fuse([systems[BM25](topics), systems[DENSE](topics)], "rrf",
                                                    k=settings.hits), bm25, *systems[DENSE].indexes)
    ordered = {name: systems[name] for name in SYSTEMS if name in systems}
    for run in training_runs(settings):
        for (plain, augmented), model in _train_encoders(collection, settings, run, timings, log).items():
            ordered.update(_dense_systems(model, plain, augmented, run, **index))
    return ordered


def _train_encoders(collection: Collection, settings: Settings, run: Trained, timings: Timings, log=print) -> dict:
    """(plain, xQG system or None) -> the model folder of each fine-tuned encoder of one budget and seed."""
    out = Path(settings.output) / "encoders"
    where = dict(device=settings.device, dtype=auto_cpu_dtype(), seed=run.seed)  # trained as encoded: one dtype
    recipe = lambda role, **noise: EncoderTraining(str(out / run.folder(role)), settings.model,  # noqa: E731
                                                   collection.train, run.steps, **where, **noise)
    encoders = {(FT, FT_XQG): _trained(recipe(FT), timings, log)}
    if settings.defences:  # the same train pairs, steps and seed, with noisy queries
        noisy = dict(query_noise=list(settings.noise), noise_rate=settings.noise_rate, noise_edit_rate=settings.rate)
        encoders[(NOISE_FT, None)] = _trained(recipe(NOISE_FT, **noisy), timings, log)
        if settings.self_teaching:
            encoders[(NOISE_FT_ST, None)] = _trained(recipe(NOISE_FT_ST, **noisy, self_teaching=settings.self_teaching),
                                                     timings, log)
    return encoders


def _searcher(search, *indexes: Path):
    """``search`` with the index folders it reads (what identifies it in the journal: ``_fingerprints``)."""
    search.indexes = indexes
    return search


def _dense_systems(model: str, plain: str, augmented: str | None, run: Trained | None, collection: Collection,
                   settings: Settings, queries: Path, timings: Timings, log=print) -> dict:
    """``model``'s dense index and the xQG indexes made from its passage vectors (noisy xQG beside the starting
    encoder's, with the defences): name -> search. ``run``: the budget and seed of a fine-tuned encoder."""
    out = Path(settings.output)
    name = run.name if run else (lambda role: role)
    folder = (lambda role: out / "indexes" / run.folder(role)) if run else (lambda role: out / "indexes" / role)
    embedder = Embedder(model, dtype=auto_cpu_dtype(), device=settings.device)  # one dtype on every device
    where = {plain: folder(plain)}
    made = {"encoder": embedder.describe(), "corpus": str(collection.corpus), "title": settings.title}
    if not _current(where[plain] / dense_index.META, made):  # the encoder's fingerprint: retrained, rebuilt
        log(f"index {name(plain)}")
        with timings.step(f"index {name(plain)}"):
            dense_index.build_index(collection.corpus, where[plain], embedder, title=settings.title)
    variants = [(augmented, None)] if augmented else []
    if settings.defences and plain == DENSE:
        variants.append((NOISY_XQG, Noise(tuple(settings.noise), settings.rate)))
    for role, noise in variants:  # each from the passage vectors of the plain index
        where[role] = folder(role)
        xqg_made = {**made, "xqg": {"a": settings.a, "calibrate": True, "generator": read_provenances(queries),
                                    **({} if settings.agg == "auto" else {"agg": settings.agg}),
                                    "noise": {"attacks": list(noise.attacks), "rate": noise.rate,
                                              "seed": noise.seed, "copies": settings.noise_copies}
                                    if noise else None}}
        if not _current(where[role] / dense_index.META, xqg_made, where[plain] / dense_index.META):
            log(f"index {name(role)} (a = {settings.a}, agg = {settings.agg}), from the passage vectors of "
                f"{name(plain)}")
            with timings.step(f"index {name(role)}"):
                xqg.build_index(collection.corpus, queries, where[role], embedder, settings.a, settings.agg,
                                title=settings.title, passages_from=where[plain], noise=noise,
                                copies=settings.noise_copies)
    vectors = CachedQueries(dense.QueryVectors(embedder))
    return {name(role): _searcher(lambda topics, index=index: dense.batch_search(
        index, list(topics), vectors(list(topics.values())), settings.hits), index) for role, index in where.items()}


def bm25_index(collection: Collection, settings: Settings, timings: Timings, log=print) -> Path:
    """The study's BM25 index, with the analyzer of the passages' language (recorded in its metadata: one
    made with another language, corpus or title setting is rebuilt)."""
    bm25 = Path(settings.output) / "indexes" / BM25
    made = {"corpus": str(collection.corpus), "title": settings.title, "language": collection.language}
    if not _current(bm25 / lucene_index.META, made):
        log(f"index {BM25} (Lucene, {LANGUAGES[collection.language].name} analyzer)")
        with timings.step(f"index {BM25}"):
            lucene_index.build_index(collection.corpus, bm25, collection.language, title=settings.title)
    return bm25


REUSED_ACROSS = ("output", "device")
"""Settings that do not identify a trained encoder or a report: where it is written and the device it ran on (an
encoder trained on a CPU serves a run on CUDA)."""


def _trained(recipe: EncoderTraining, timings: Timings, log=print) -> str:
    """``recipe``'s model folder, trained unless the folder holds a model trained with the same arguments (where
    it was written and on which device aside)."""
    folder = Path(recipe.output)
    same = {k: v for k, v in json.loads(json.dumps(asdict(recipe), default=str)).items() if k not in REUSED_ACROSS}
    trained = folder / "training.json"
    if trained.exists() and {k: v for k, v in json.loads(trained.read_text())["args"].items()
                             if k not in REUSED_ACROSS} == same:
        log(f"{folder.name}: reusing {folder}")
    else:
        log(f"{folder.name}: train-encoder, {recipe.steps} steps on {recipe.train}"
            + (f", noise {', '.join(recipe.query_noise)}" if recipe.query_noise else ""))
        with timings.step(f"train {folder.name}"):
            train(recipe)
    return str(folder)


def _remember_last(search):
    """``search`` that keeps its last run: the hybrid fuses the BM25 and dense runs just made on the same
    topics instead of searching again."""
    last: dict = {}

    def remembered(topics: dict[str, str]):
        key = tuple(topics.items())
        if last.get("key") != key:
            last.update(key=key, run=search(topics))
        return last["run"]
    return remembered


def _current(meta: Path, expected: dict, newer_than: Path | None = None) -> bool:
    """True where an index the study folder holds was built with ``expected`` settings (and after what
    it was made from): a rerun reuses it; any other is rebuilt in its place."""
    if not meta.exists() or (newer_than is not None and newer_than.stat().st_mtime_ns > meta.stat().st_mtime_ns):
        return False
    return _matches(json.loads(meta.read_text()), expected)


def _matches(found: dict, expected: dict) -> bool:
    """Every key of ``expected`` has its value in ``found`` (nested dicts compared key by key)."""
    for key, value in expected.items():
        if isinstance(value, dict):
            if not isinstance(found.get(key), dict) or not _matches(found[key], value):
                return False
        elif found.get(key) != value:
            return False
    return True


KINDS = ("random", ADVERSARIAL, "paraphrase", "paraphrase, worst case")
"""The study's kinds of attack, each analysed apart: random noise (the average over the rule-based attacks),
the adversarial search, and paraphrases (model attacks) in the average case and in the worst case."""


SEEN, UNSEEN = "random noise the defences saw", "random noise the defences never saw"
"""With ``--defences``, the random attacks split by whether they are among the defences' noise (``--noise``); the
adversarial and paraphrase attacks are never seen."""


def kind_of(attack: str, seen: tuple[str, ...] = ()) -> str:
    """The attack's kind (``KINDS``); with the defences' ``seen`` attacks, a random one is ``SEEN`` or ``UNSEEN``."""
    if attack == ADVERSARIAL:
        return ADVERSARIAL
    if paraphrase.is_model_attack(attack):
        return KINDS[3] if attack.endswith(paraphrase.WORST) else KINDS[2]
    return (SEEN if attack in seen else UNSEEN) if seen else KINDS[0]


def query_drops(report: dict, measure: str, kind: str = KINDS[0],
                seen: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """system -> qid -> drop averaged over the attacks of ``kind`` (``KINDS``, or ``SEEN`` / ``UNSEEN`` given the
    defences' ``seen`` attacks) that changed the query: the worst case and the paraphrases are kept apart from
    random noise."""
    collected: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for attack, by_system in report["per_query_drop"].items():
        if kind_of(attack, seen if kind in (SEEN, UNSEEN) else ()) != kind:
            continue
        for system, by_measure in by_system.items():
            for qid, drop in by_measure[measure].items():
                collected[system][qid].append(drop)
    return {s: {q: statistics.fmean(v) for q, v in qs.items()} for s, qs in collected.items()}


def by_group(values: dict[str, float], groups: dict[str, str]) -> dict[str, float]:
    """Mean per group, then ``all`` (the mean over every query)."""
    members: dict[str, list[float]] = defaultdict(list)
    for qid, v in values.items():
        members[groups[qid]].append(v)
    return {**{g: statistics.fmean(members[g]) for g in sorted(members)}, "all": statistics.fmean(values.values())}


def interval(values, key: str) -> list[float]:
    """The 95% bootstrap interval of the mean of ``values`` (over queries), seeded by ``key``, the cell's name:
    the same cell gets the same interval on every run."""
    return list(bootstrap_ci(values, seed=zlib.crc32(key.encode())))


def group_intervals(values: dict[str, float], groups: dict[str, str], key: str) -> dict[str, list[float]]:
    """``interval`` of each group's mean (as ``by_group``), then of ``all``."""
    members: dict[str, list[float]] = defaultdict(list)
    for qid, v in values.items():
        members[groups[qid]].append(v)
    return {**{g: interval(members[g], f"{key}|{g}") for g in sorted(members)},
            "all": interval(list(values.values()), f"{key}|all")}


def effects(drops: dict[str, dict[str, float]], groups: dict[str, str], alpha: float) -> dict:
    """effect -> group -> {delta, ci (95% bootstrap over queries), p, p_holm, significant}; Holm over every
    (effect, group) cell."""
    cells = []
    for effect, (system, against) in EFFECTS.items():
        if system not in drops or against not in drops:
            continue
        shared = sorted(set(drops[system]) & set(drops[against]))
        for mapping in (groups, {q: "all" for q in groups}):
            for (_, group), c in compare({system: drops[system], against: drops[against]}, mapping, against).items():
                differences = [drops[system][q] - drops[against][q] for q in shared if mapping[q] == group]
                cells.append((effect, group, c.delta, interval(differences, f"{effect}|{group}"), c.p))
    adjusted = holm([p for *_, p in cells])
    out: dict = defaultdict(dict)
    for (effect, group, delta, ci, p), ph in zip(cells, adjusted):
        out[effect][group] = {"delta": delta, "ci": ci, "p": p, "p_holm": ph, "significant": ph < alpha}
    return dict(out)


NOISE_AWARE = "noise-aware vs standard fine-tuning (noise-aware - fine-tuned)"


def positive_control(analysis: dict, measure: str, steps: int) -> dict | None:
    """Whether noise-aware fine-tuning significantly reduced the drop under the very noise it trained on (the
    seen attacks, over all queries), at this training budget: where it did not, the defences' comparison is
    inconclusive, not evidence that they fail. None without the defences."""
    cell = analysis.get(SEEN, {}).get(measure, {}).get("family", {}).get("effects", {}).get(NOISE_AWARE, {}).get("all")
    if cell is None:
        return None
    return {"steps": steps, "measure": measure, **cell, "passed": cell["significant"] and cell["delta"] < 0}


def control_lines(control: dict) -> list[str]:
    """The positive control's verdict, as the findings state it."""
    effect = (f"{control['delta']:+.3f} {_ci(control['ci'])}, Holm p = {control['p_holm']:.3g}, on "
              f"{control['measure']}")
    if control["passed"]:
        return [f"- **Positive control passed** at {control['steps']} steps: noise-aware fine-tuning reduced the drop "
                f"under the noise it trained on ({effect}), so the defence can work at this budget."]
    return [f"- **Positive control failed** at {control['steps']} steps: noise-aware fine-tuning did not significantly "
            f"reduce the drop under the very noise it trained on ({effect}). The comparison of the defences at this "
            "budget is therefore **inconclusive**: a null effect under unseen attacks says nothing about whether "
            "they work."]


def part(analysis: dict, kind: str) -> dict:
    """The analysis of one kind of attack (``KINDS``, ``SEEN``, ``UNSEEN``): measure -> grouping -> tables."""
    if kind == KINDS[0]:  # random noise: the measures at the top level, beside the other kinds
        return {m: tables for m, tables in analysis.items() if "family" in tables}
    return analysis.get(kind, {})


def _view(report: dict, settings: Settings, runs: list[Trained]) -> dict:
    """The report with the trained systems of ``runs`` (one budget, its seeds) under their plain names, pooled
    over the seeds (``pooling.view``), and those of every other run left out."""
    pools = {role: [run.name(role) for run in runs] for role in TRAINED}
    members = {name for names in pools.values() for name in names}
    others = [run.name(role) for run in training_runs(settings) for role in TRAINED if run.name(role) not in members]
    return pooling.view(report, pools, others)


def analyse_budgets(report: dict, settings: Settings) -> dict[int, dict]:
    """Per budget (train-encoder steps): the ``analysis`` of the trained systems pooled over the seeds; each effect's
    ``agreement`` over the seeds (kind -> measure -> ``pooling.agreement`` by family, for the effects of a trained
    system: the others are the same in every seed); the trained systems' ``clean``
    scores over seeds (system -> measure -> ``pooling.mean_sd``), and the ``positive_control``."""
    seen = tuple(settings.noise) if settings.defences else ()
    out = {}
    for steps in settings.steps:
        runs = [Trained(steps, seed) for seed in settings.train_seeds]
        pooled = analyse(_view(report, settings, runs), settings.alpha, seen)
        seeds = [analyse(_view(report, settings, [run]), settings.alpha, seen) for run in runs] if len(runs) > 1 \
            else [pooled]
        trained = lambda effects: {e: c for e, c in effects.items() if set(EFFECTS[e]) & set(TRAINED)}  # noqa: E731
        agreement = {kind: {m: pooling.agreement(trained(table["family"]["effects"]),
                                                 [part(a, kind)[m]["family"]["effects"] for a in seeds])
                            for m, table in part(pooled, kind).items()}
                     for kind in (*KINDS, SEEN, UNSEEN) if part(pooled, kind)}
        per_query = report["clean"]["per_query"]
        clean = {role: {m: pooling.mean_sd([statistics.fmean(per_query[run.name(role)][m].values()) for run in runs])
                        for m in report["measures"]} for role in TRAINED if runs[0].name(role) in per_query}
        control = positive_control(pooled, settings.measures[0], steps)
        if control is not None:
            control["seeds"] = agreement[SEEN][settings.measures[0]][NOISE_AWARE]["all"]
        out[steps] = {"analysis": pooled, "agreement": agreement, "clean": clean, "positive_control": control}
    return out


def findings(analysis: dict, agreement: dict, lead: str, control: dict | None) -> list[str]:
    """The findings of one budget, on the ``lead`` measure by family: random noise, the positive control, then each
    other kind of attack."""
    lines = []
    if lead in analysis:
        lines += [f"On {lead}, by family (drop = clean - attacked, averaged over the random attacks that changed "
                  "the query):\n", *answer(analysis, lead, agreement=agreement.get(KINDS[0], {}).get(lead)), ""]
    if control:
        lines += [*control_lines(control), ""]
    for kind in (ADVERSARIAL, *KINDS[2:], SEEN, UNSEEN):
        if kind in analysis:
            where = "the adversarial attack (worst case)" if kind == ADVERSARIAL else \
                f"{'the ' * (kind in KINDS)}{kind} (a section of its own below)"
            lines += [f"Under {where}, on {lead}, by family:\n",
                      *answer(analysis[kind], lead, agreement=agreement.get(kind, {}).get(lead)), ""]
    return lines


DOSE_EFFECTS = ("fine-tuning (fine-tuned - dense)", NOISE_AWARE,
                "self-teaching vs standard fine-tuning (noise-aware+self-teaching - fine-tuned)")
"""The effects the dose-response section follows over budgets: each trained defence against standard fine-tuning."""


def _noise_kinds(analysis: dict) -> tuple[str, ...]:
    """The kinds of random noise the budgets are compared on: seen and unseen with the defences, else random."""
    return tuple(k for k in (SEEN, UNSEEN) if k in analysis) or (KINDS[0],)


def dose_markdown(budgets: dict, measure: str, plot: str) -> list[str]:
    """Per budget, each trained system's clean score (mean ± sd over seeds) and pooled mean drop under each kind
    of random noise, then the defences' effects at the same budget."""
    first = next(iter(budgets.values()))
    kinds = _noise_kinds(first["analysis"])
    lines = ["\n## Dose-response\n", f"Each budget (train-encoder steps) trained and tested apart; {measure}, all "
             "queries. Clean: mean ± sd over the training seeds; drops and effects: pooled over the seeds, with the "
             "95% bootstrap interval.\n",
             "| steps | system | clean | " + " | ".join(f"drop under {k}" for k in kinds) + " |",
             "|---:|---|---:|" + "---:|" * len(kinds)]
    for steps, budget in budgets.items():
        drops = [part(budget["analysis"], k).get(measure, {}).get("family") for k in kinds]
        for role, clean in budget["clean"].items():
            if not all(d and role in d["drop"] for d in drops):
                continue
            lines.append(f"| {steps} | {role} | {pooling.mean_sd_text(clean[measure])} | "
                         + " | ".join(f"{d['drop'][role]['all']:.3f} {_ci(d['drop_ci'][role]['all'])}" for d in drops)
                         + " |")
    lines += ["", "| steps | effect on the drop | " + " | ".join(kinds) + " |", "|---:|---|" + "---:|" * len(kinds)]
    for steps, budget in budgets.items():
        for effect in DOSE_EFFECTS:
            cells = [part(budget["analysis"], k).get(measure, {}).get("family", {}).get("effects", {}).get(effect, {})
                     .get("all") for k in kinds]
            if not all(cells):
                continue
            held = [budget["agreement"][k][measure][effect]["all"] for k in kinds]
            lines.append(f"| {steps} | {effect} | " + " | ".join(
                f"{c['delta']:+.3f}{_drop_mark(c)} {_ci(c['ci'])}" + (f", {h['agree']}/{h['seeds']} seeds"
                                                                      if h["seeds"] > 1 else "")
                for c, h in zip(cells, held)) + " |")
    return lines + ["", f"![{measure} drop against the training budget]({plot})"]


def dose_plot(budgets: dict, measure: str, path: Path) -> None:
    """The trained systems' pooled mean drop against the budget, one line per system and kind of noise, with the
    95% bootstrap intervals."""
    points, errors = {}, {}
    for steps, budget in budgets.items():
        for kind in _noise_kinds(budget["analysis"]):
            table = part(budget["analysis"], kind).get(measure, {}).get("family", {"drop": {}})
            for role in (r for r in TRAINED if r in table["drop"]):
                points.setdefault(f"{role}, {kind}", []).append((steps, table["drop"][role]["all"]))
                errors.setdefault(f"{role}, {kind}", []).append(table["drop_ci"][role]["all"])
    curve(points, f"mean {measure} drop", path, xlabel="train-encoder steps", errors=errors)


def control_markdown(budgets: dict) -> list[str]:
    """The positive control at each budget, with its agreement over the seeds."""
    lines = ["\n## Positive control\n", "Did noise-aware fine-tuning significantly reduce the drop under the very noise "
             "it trained on (the seen attacks, all queries, pooled over the seeds)? Where it did not, the comparison of "
             "the defences at that budget is inconclusive.\n"]
    for budget in budgets.values():
        control = budget["positive_control"]
        seeds = control["seeds"]
        lines += control_lines(control)
        if seeds["seeds"] > 1:
            lines[-1] += (f" In single seeds: significant with this sign in {seeds['agree']} of {seeds['seeds']} "
                          f"(effects {', '.join(f'{d:+.3f}' for d in seeds['deltas'])}).")
    return lines


def seeds_markdown(budgets: dict, report: dict, settings: Settings, measure: str) -> list[str]:
    """Each training seed apart: the trained systems' clean scores, and the effects of a trained system over all
    queries, per seed beside the pooled effect."""
    seeds = settings.train_seeds
    lines = ["\n## Training seeds\n", f"Each fine-tuned system trained once per seed ({', '.join(map(str, seeds))}); "
             f"pooled: each query's drop averaged over the seeds, then the paired t-test over queries (Holm). Agree: "
             f"seeds whose own test finds the pooled sign significant. {measure}, all queries.\n",
             "| steps | system | " + " | ".join(f"clean, seed {s}" for s in seeds) + " | mean ± sd |",
             "|---:|---|" + "---:|" * (len(seeds) + 1)]
    for steps, budget in budgets.items():
        lines += [f"| {steps} | {role} | " + " | ".join(f"{v:.3f}" for v in c[measure]["values"])
                  + f" | {pooling.mean_sd_text(c[measure])} |" for role, c in budget["clean"].items()]
    trained = [e for e, pair in EFFECTS.items() if set(pair) & set(TRAINED)]
    lines += ["", "| steps | noise | effect on the drop | " + " | ".join(f"seed {s}" for s in seeds)
              + " | pooled | agree |", "|---:|---|---|" + "---:|" * (len(seeds) + 2)]
    for steps, budget in budgets.items():
        for kind in _noise_kinds(budget["analysis"]):
            effects = part(budget["analysis"], kind).get(measure, {}).get("family", {}).get("effects", {})
            for effect in (e for e in trained if e in effects):
                held, cell = budget["agreement"][kind][measure][effect]["all"], effects[effect]["all"]
                lines.append(f"| {steps} | {kind} | {effect} | " + " | ".join(f"{d:+.3f}" for d in held["deltas"])
                             + f" | {cell['delta']:+.3f}{_drop_mark(cell)} | {held['agree']}/{held['seeds']} |")
    return lines


def _ci(ci: list[float]) -> str:
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _drop_mark(cell: dict | None) -> str:
    """▲: the drop is significantly smaller (more robust); ▼: significantly larger."""
    if not cell or not cell["significant"]:
        return ""
    return UP if cell["delta"] < 0 else DOWN


def analyse(report: dict, alpha: float = 0.05, seen: tuple[str, ...] = ()) -> dict:
    """Per measure and grouping (family, genus, resource class): mean drop table and effects with tests, for
    random noise (the main table), each other kind of attack, and (with the defences' ``seen`` attacks) the
    random attacks they saw and those they never saw."""
    qid_lang = report["clean"]["languages"]
    groupings = {"family": {q: LANGUAGES[l].family for q, l in qid_lang.items()},
                 "genus": {q: LANGUAGES[l].genus for q, l in qid_lang.items()},
                 "resource_class": {q: f"class {LANGUAGES[l].resource_class}" for q, l in qid_lang.items()}}
    out: dict = {}
    for kind in (*KINDS, *((SEEN, UNSEEN) if seen else ())):
        for m in report["measures"]:
            drops = query_drops(report, m, kind, seen)
            if not drops:
                continue
            table = {g: {"drop": {s: by_group(drops[s], groups) for s in SYSTEMS if s in drops},
                         "drop_ci": {s: group_intervals(drops[s], groups, f"{s}|{kind}|{m}")
                                     for s in SYSTEMS if s in drops},
                         "effects": effects(drops, groups, alpha)} for g, groups in groupings.items()}
            if kind == KINDS[0]:
                out[m] = table
            else:
                out.setdefault(kind, {})[m] = table
    return out


def answer(analysis: dict, measure: str, grouping: str = "family", agreement: dict | None = None) -> list[str]:
    """The findings, stated from the effects table: which differences are significant, where; with ``agreement``
    (``pooling.agreement`` of several seeds), in how many seeds the effect over all queries held."""
    lines = []
    for effect, cells in analysis[measure][grouping]["effects"].items():
        groups = [g for g in cells if g != "all"]
        smaller = [g for g in groups if cells[g]["significant"] and cells[g]["delta"] < 0]
        larger = [g for g in groups if cells[g]["significant"] and cells[g]["delta"] > 0]
        total = cells["all"]
        sig = "significant" if total["significant"] else "not significant"
        held = (agreement or {}).get(effect, {}).get("all", {"seeds": 1})
        seeds = (f" Same sign and significant in {held['agree']} of {held['seeds']} seeds." if held["seeds"] > 1
                 else "")
        lines.append(f"- **{effect}**: mean drop changes by {total['delta']:+.3f} {_ci(total['ci'])} over all queries "
                     f"({sig}, Holm p = {total['p_holm']:.3g}); significantly smaller in "
                     f"{', '.join(smaller) or 'no family'}, larger in {', '.join(larger) or 'no family'} "
                     f"(of {len(groups)}).{seeds}")
    return lines


def _drop_tables(part: dict, measure: str, grouping: str, heading: str) -> list[str]:
    """One analysis cell (``analyse``) as markdown: the mean drop per system, then the effects, by ``grouping``."""
    table, eff = part[measure][grouping]["drop"], part[measure][grouping]["effects"]
    groups = list(table[DENSE])
    lines = [f"\n{heading} by {grouping.replace('_', ' ')}\n",
             "| system | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += [f"| {s} | " + " | ".join(f"{table[s][g]:.3f}" for g in groups) + " |" for s in table]
    lines += ["", "| effect on the drop | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += [f"| {e} | " + " | ".join(f"{c[g]['delta']:+.3f}{_drop_mark(c.get(g))} {_ci(c[g]['ci'])}" for g in groups)
              + " |" for e, c in eff.items()]
    return lines


def markdown(report: dict, budgets: dict, meta: dict, settings: Settings) -> str:
    """The study's report. ``report``: the robustness report as run (every training run's systems apart);
    ``budgets``: ``analyse_budgets``. Findings per budget; the tables below at the largest budget, pooled over
    the seeds."""
    headline = max(budgets)
    analysis, shown = budgets[headline]["analysis"], _view(report, settings, [Trained(headline, s)
                                                                             for s in settings.train_seeds])
    clean = Results(shown["clean"]["languages"], shown["clean"]["per_query"])
    cells = comparisons(clean, report["measures"], DENSE)
    lead = report["measures"][0]
    pivot = LANGUAGES[meta["language"]].name  # the passages' language
    seeds = settings.train_seeds
    pooled = (f" The fine-tuned systems' scores and drops are averaged per query over the {len(seeds)} training "
              "seeds (pooled) before every test." if len(seeds) > 1 else "")
    lines = ["# Robustness study: xQG against multilingual fine-tuning\n",
             f"{meta['queries']} queries in {len(meta['languages'])} languages ({', '.join(meta['languages'])}), "
             f"{pivot} passages; "
             f"encoder {meta['model']}, fine-tuned for {' and '.join(map(str, budgets))} steps on {meta['train']}, "
             f"training seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}; xQG a = {meta['a']}, "
             f"agg {meta['agg']}, queries from {meta['generator']}. Attacks at rate {report['rate']}, seeds "
             f"{report['seeds']}: {', '.join(report['per_query_drop'])}. {meta['seconds']:.0f} s.{pooled}"
             + (f" Tables after the findings: {headline} steps." if len(budgets) > 1 else "") + "\n", "## Findings\n"]
    for steps, budget in budgets.items():
        if len(budgets) > 1:
            lines.append(f"### At {steps} steps\n")
        lines += findings(budget["analysis"], budget["agreement"], lead, budget["positive_control"])
    if any(b["positive_control"] for b in budgets.values()):
        lines += control_markdown(budgets)
    lines += dose_markdown(budgets, lead, _dose_plot(meta["report"], lead))
    if len(seeds) > 1:
        lines += seeds_markdown(budgets, report, settings, lead)
    for m in report["measures"]:
        if m not in analysis:
            continue
        for grouping in ("family", "genus", "resource_class"):
            lines += _drop_tables(analysis, m, grouping, f"## Mean {m} drop")
        lines.append(f"\n![{m} drop by family]({_plot(meta['report'], m)})\n")
    lines += [f"\n{UP}/{DOWN} in effects: the drop is significantly smaller/larger (paired t-test over queries, "
              f"Holm over every cell of the table, alpha = {meta['alpha']}); [lo, hi]: the effect's 95% bootstrap "
              f"interval over queries ({BOOTSTRAP_RESAMPLES:,} resamples, seeded per cell, not corrected for "
              "multiple comparisons).\n",
              "\n## Clean scores\n", f"{UP}/{DOWN}: significantly better/worse than dense (paired t-test, Holm). "
              f"{TRANSLATE_TEST}: BM25 on the human {pivot} translations of the queries, a reference that no "
              "attack reaches.\n"]
    lines += [results_markdown(clean, m, cells[m]) for m in report["measures"]]
    if ADVERSARIAL in analysis:
        lines += adversarial_markdown(report, analysis, meta)
    if any(kind in analysis for kind in KINDS[2:]):
        lines += paraphrase_markdown(report, analysis)
    if SEEN in analysis or UNSEEN in analysis:
        lines += ["\n## Seen and unseen noise\n", f"The defences were trained, or their xQG queries copied, with "
                  f"noise from {', '.join(meta['noise'])} (the seen attacks); every other attack, the adversarial and "
                  "the paraphrase attacks included, they never saw.\n"]
        for kind in (SEEN, UNSEEN):
            for m in (m for m in report["measures"] if kind in analysis and m in analysis[kind]):
                lines += _drop_tables(analysis[kind], m, "family", f"### Mean {m} drop under {kind}")
    if "coverage" in meta:
        lines += coverage_markdown(meta["coverage"])
    lines += ["\n## Every attack\n", "Every system as it ran: the fine-tuned ones once per budget and seed.\n",
              robustness_markdown(report, "family")]
    if "time" in meta:
        lines += time_markdown(meta["time"])
    return "\n".join(lines)


def coverage_markdown(coverage: dict) -> list[str]:
    """How many passages have generated queries, per language (the xQG index's ``coverage``): the others keep
    their plain vectors, so xQG can only move the passages it covers."""
    rows = [f"| {LANGUAGES[lang].name} ({lang}) | {n:,} | {n / coverage['of']:.1%} |"
            for lang, n in coverage["languages"].items()]
    return ["\n## xQG coverage\n", f"Passages with at least one generated query, of {coverage['of']:,}.\n",
            "| language | passages | share |", "|---|---:|---:|", *rows,
            f"| **any language** | **{coverage['passages']:,}** | **{coverage['fraction']:.1%}** |"]


def time_markdown(spent: dict) -> list[str]:
    """Where the time goes: each step as long as it took when it was made (a rerun reuses it at no cost),
    and each attack's cells (making the attacked topics; each system's searches and scoring)."""
    dtypes = spent.get("dtypes", {})  # a training step's dtype, where its training.json records one
    rows = []
    for step, seconds in spent["steps"].items():
        encoder = step.removeprefix("train ")
        shown = f"{step} ({dtypes[encoder]})" if step.startswith("train ") and encoder in dtypes else step
        rows.append(f"| {shown} | {seconds:,.0f} |")
    for attack, parts in spent["attacks"].items():
        systems = {k: v for k, v in parts.items() if k != "topics"}
        rows.append(f"| attack {attack}: attacked topics | {parts.get('topics', 0):,.0f} |")
        if systems:  # none where the attack applied to no language
            rows.append(f"| attack {attack}: search and score, {len(systems)} systems ("
                        + ", ".join(f"{k} {v:,.0f}" for k, v in systems.items()) + f") | {sum(systems.values()):,.0f} |")
    made = sum(spent["steps"].values()) + sum(v for parts in spent["attacks"].values() for v in parts.values())
    return ["\n## Where the time goes\n", "Seconds each step took when it was made (a rerun reuses it); this run took "
            f"{spent['this_run']:,.0f} s, of which {spent['attacking']:,.0f} s in the attack phase.\n",
            "| step | seconds |", "|---|---:|", *rows, f"| **all steps** | **{made:,.0f}** |"]


def adversarial_markdown(report: dict, analysis: dict, meta: dict) -> list[str]:
    """The worst case: success rate and drop by family, genus and class per system, effects, budget curve."""
    entry = report["attacks"][ADVERSARIAL][ADVERSARIAL]
    how = (f"queries found against {entry['transfer_from']} and replayed on every system (transfer)"
           if entry["transfer_from"] else "each system attacked with its own scores (white-box)")
    lines = ["\n## Adversarial attack (worst case)\n",
             f"Budget {meta['adversarial']['budget']} edits, {entry['queries']} queries, seed {entry['seeds'][0]}, "
             f"{how}. Success: the first relevant passage leaves the top 10 (of the queries that had one there); "
             "rank: the first relevant passage's mean rank before → after. Candidate encodings per query: " +
             ", ".join(f"{s} {n:.0f}" for s, n in entry["candidate_encodings_per_query"].items()) + ".\n"]
    for grouping in ("family", "genus", "resource_class"):
        lines += success_markdown(entry, grouping, "###")
    for m in report["measures"]:
        for grouping in ("family", "genus", "resource_class"):
            lines += _drop_tables(analysis[ADVERSARIAL], m, grouping, f"### Mean {m} drop under the adversarial attack")
    if entry["budget_curve"]:
        lines.append(f"\n![success rate against the budget]({meta['report']}.adversarial-budget.png)\n")
    return lines


def paraphrase_markdown(report: dict, analysis: dict) -> list[str]:
    """The paraphrase attacks: how many queries each changed, then the drop and the effects, average and worst case."""
    attacks = [a for a in report["per_query_drop"] if paraphrase.is_model_attack(a)]
    lines = ["\n## Paraphrase attacks\n", "Candidates that pass the meaning filter; the average case draws one with "
             "the seed, the worst case takes the one that most lowers each system's objective (white-box). A query "
             "none of whose candidates passed stays unchanged and is left out of the drops.\n"]
    lines += [f"- {a}: queries changed {changed_counts(report['changed'][a])}" for a in attacks]
    for kind in KINDS[2:]:
        if kind in analysis:
            for m in report["measures"]:
                for grouping in ("family", "genus", "resource_class"):
                    lines += _drop_tables(analysis[kind], m, grouping, f"### Mean {m} drop under the {kind}")
    return lines


def _fingerprints(systems: dict, settings: Settings) -> dict:
    """name -> what identifies a system beyond its name: the recorded settings of each index it reads (encoder
    fingerprint, xQG queries and noise, title, analyzer) and the search depth. A journalled cell made by a system
    whose fingerprint changed is made again; those of the other systems are reused."""
    def meta(folder: Path) -> str:
        return next((folder / m).read_text(encoding="utf-8") for m in (dense_index.META, lucene_index.META)
                    if (folder / m).is_file())
    return {name: {"indexes": [meta(Path(f)) for f in search.indexes], "hits": settings.hits}
            for name, search in systems.items()}


def report_stem(collection: Collection, settings: Settings, adversarial: dict | None) -> str:
    """The name of this run's reports, e.g. ``study.rule-attacks.defences.3f2a1c`` (see ``provenance.report_stem``)."""
    options = {k: asdict(v) for k, v in (adversarial or {}).items() if k in ("settings", "paraphrase")}
    transfer = (adversarial or {}).get("transfer_from")
    labels = [attacks_label(settings.attacks), *["defences"] * settings.defences, *[f"transfer-{transfer}"] * bool(transfer)]
    identity = {**asdict(settings), **asdict(collection), "adversarial": options, "transfer_from": transfer}
    for name in REUSED_ACROSS:
        identity.pop(name)
    return provenance.report_stem("study", labels, identity)


def _plot(stem: str, measure: str) -> str:
    return f"{stem}.drop-by-family.{measure.replace('@', '_at_')}.png"


def _dose_plot(stem: str, measure: str) -> str:
    return f"{stem}.dose-response.{measure.replace('@', '_at_')}.png"


def run_study(collection: Collection, settings: Settings, log=print, adversarial: dict | None = None,
              argv: list[str] | None = None) -> dict:
    """Build the systems, attack them, and write this run's report (``report_stem``: .md, .json, plots)."""
    started, run = time.time(), provenance.record(argv, device=settings.device)
    out = Path(settings.output)
    stem = report_stem(collection, settings, adversarial)
    out.mkdir(parents=True, exist_ok=True)
    topics = load_language_topics(collection.topics)
    parse_generator(collection.generator)  # a bad spec fails here, not after training
    systems = build_systems(collection, settings, log)
    texts = {d: p.text for d, p in load_corpus(collection.corpus).items()}
    references = {}
    if collection.topics_pivot:  # translate-test: the human translations never see an attack
        translated = {q: t for path in collection.topics_pivot.values() for q, t in load_topics(path).items()}
        references[TRANSLATE_TEST] = lucene.search(out / "indexes" / BM25, translated, settings.hits)
    if adversarial:  # a paraphrase attack runs in both cases: its plain name picks at random
        adversarial = {**adversarial, "paraphrase": replace(adversarial["paraphrase"], pick="random")}
    if adversarial and adversarial.get("reference"):
        paraphrase.warn_if_attacked(adversarial["reference"], {DENSE: settings.model, **{
            run.name(FT): str(out / "encoders" / run.folder(FT)) for run in training_runs(settings)}}, log)
    attacks = [x for a in settings.attacks  # a paraphrase attack in the average case and in the worst
               for x in ((a, a + paraphrase.WORST) if paraphrase.is_model_attack(a) else (a,))]
    attacking = time.time()
    report = run_robustness(systems, topics, attacks, settings.seeds, settings.rate, collection.qrels,
                            load_answers(collection.answers), texts, settings.measures, baseline=DENSE, log=log,
                            references=references, adversarial=adversarial, journal=out / "cells.jsonl",
                            fingerprints=_fingerprints(systems, settings), device=settings.device)
    attacking = time.time() - attacking
    budgets = analyse_budgets(report, settings)
    analysis = budgets[max(budgets)]["analysis"]  # the largest budget's, pooled over the seeds: the tables' own
    meta = {**asdict(settings), **asdict(collection), "languages": list(topics), "queries": sum(map(len, topics.values())),
            "seconds": time.time() - started,
            "adversarial": asdict(adversarial["settings"]) if adversarial else None, "report": stem}
    meta["run"] = {**run, "seconds": round(meta["seconds"])}
    meta["positive_control"] = [b["positive_control"] for b in budgets.values() if b["positive_control"]]
    meta["coverage"] = json.loads((out / "indexes" / XQG / dense_index.META).read_text())["xqg"]["coverage"]
    folders = {run.folder(role) for run in training_runs(settings) for role in TRAINED}
    meta["time"] = {"steps": Timings(out / TIMINGS).steps, "attacks": cell_seconds(out / "cells.jsonl", systems),
                    "dtypes": {p.parent.name: dtype for p in (out / "encoders").glob("*/training.json")
                               if p.parent.name in folders and (dtype := json.loads(p.read_text()).get("dtype"))},
                    "attacking": round(attacking, 1), "this_run": round(meta["seconds"], 1)}
    for m in (m for m in settings.measures if m in analysis):
        grouped_bars(analysis[m]["family"]["drop"], f"mean {m} drop", f"{m} drop by language family, per system "
                     "(95% bootstrap intervals)", out / _plot(stem, m), errors=analysis[m]["family"]["drop_ci"])
    dose_plot(budgets, settings.measures[0], out / _dose_plot(stem, settings.measures[0]))
    if ADVERSARIAL in report["attacks"] and report["attacks"][ADVERSARIAL][ADVERSARIAL]["budget_curve"]:
        curve(report["attacks"][ADVERSARIAL][ADVERSARIAL]["budget_curve"], "success rate",
              out / f"{stem}.adversarial-budget.png", xlabel="budget (edits)")
    write_text_atomic(out / f"{stem}.json", json.dumps({"settings": meta, "analysis": analysis, "budgets": budgets,
                                                        "robustness": report}, indent=1, ensure_ascii=False) + "\n")
    text = markdown(report, budgets, meta, settings)
    write_text_atomic(out / f"{stem}.md", provenance.header(meta["run"]) + text)
    log(text[:text.index("\n## Clean scores")])
    log(f"{stem}.md, {stem}.json and plots in {out} ({meta['seconds']:.0f} s)")
    return {"analysis": analysis, "budgets": budgets, "robustness": report, "settings": meta}
