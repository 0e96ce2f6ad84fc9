"""The systems the robustness study compares, built once and reused: the names, the effects between them,
the settings, and the training, generation and indexing behind each (a trained system once per budget and seed).

Each step's output is kept in the study folder, so a rerun skips what is done. Query vectors are cached by text
per encoder: dense and dense+xQG share their encoder, and an attack that leaves a query unchanged (or a
deterministic one over several seeds) costs no encoding."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..encode import models
from ..encode.dtype import auto_cpu_dtype
from ..encode.embedder import Embedder
from ..generate.queries import generate_queries
from ..index import dense as dense_index, lucene as lucene_index, xqg
from ..io.generated import read_provenances
from ..io.files import write_text_atomic
from ..io.languages import LANGUAGES, by_language, check_language
from ..io.sample import Sample
from ..perturb.noise import RULE_ATTACKS, Noise
from ..search import dense, lucene
from ..search.fusion import fuse
from ..train.encoder import EncoderTraining, train


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


def fingerprints(systems: dict, settings: Settings) -> dict:
    """name -> what identifies a system beyond its name: the recorded settings of each index it reads (encoder
    fingerprint, xQG queries and noise, title, analyzer) and the search depth. A journalled cell made by a system
    whose fingerprint changed is made again; those of the other systems are reused."""
    def meta(folder: Path) -> str:
        return next((folder / m).read_text(encoding="utf-8") for m in (dense_index.META, lucene_index.META)
                    if (folder / m).is_file())
    return {name: {"indexes": [meta(Path(f)) for f in search.indexes], "hits": settings.hits}
            for name, search in systems.items()}
