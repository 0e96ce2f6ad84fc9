"""``attack``, ``robustness`` and ``study``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..cli import ANSWERS_HELP, add_collection_argument, add_dataclass_arguments, from_args, from_collection, pairs
from ..encode.device import add_device_argument, check_device
from ..index.lucene import language_of
from ..index.xqg import AGGREGATIONS
from ..io.collection import load_answers, load_corpus, load_language_topics, load_qrels, load_topics, \
    relevant_passages
from ..io import provenance
from ..io.files import DataError, write_text_atomic
from ..io.languages import check_language
from ..perturb import paraphrase
from ..perturb.attacks import attack_topics
from ..perturb.noise import RULE_ATTACKS, attacks_label
from ..search.systems import open_index
from . import adversarial, study, systems
from .runner import markdown, run_robustness

LANGUAGE_HELP = "the passages' language (ISO 639-1 or 639-3, as index --language)"
ATTACK_HELP = ("an attack name (see pyserini_xqg.perturb.attacks), paraphrase:MODEL, "
               "backtranslate:MODEL[,BACKWARD] or file:PATH")
PARAPHRASE_HELP = {"num_candidates": "paraphrase, backtranslate: candidates made per query",
                   "pivot": "backtranslate: the language translated through",
                   "top_k": "paraphrase, backtranslate: top-k sampling of the candidates (0: no cut)",
                   "top_p": "paraphrase, backtranslate: nucleus sampling of the candidates",
                   "template": "paraphrase: the prompt, with {text}",
                   "pick": "paraphrase, backtranslate: random (the average case) or worst (the candidate that most "
                   "lowers the target system's objective)"}


ADVERSARIAL_HELP = {"budget": "adversarial: edits per query at most", "max_candidates": "adversarial: candidate "
                    "edits searched per query and step", "max_distance": "adversarial: grapheme edit distance cap, "
                    "as a share of the query's length", "beam": "adversarial: candidates kept per step",
                    "min_similarity": "adversarial: cosine to the original under --reference-encoder",
                    "queries": "adversarial (robustness, study): attack this many queries per language, a fixed "
                    "sample (default all)"}


def add_adversarial_arguments(p: argparse.ArgumentParser, transfer: bool = False) -> None:
    """The adversarial attack's options, and the paraphrase attacks' (which share --min-similarity)."""
    add_dataclass_arguments(p, adversarial.Settings, tuple(ADVERSARIAL_HELP), ADVERSARIAL_HELP)
    add_dataclass_arguments(p, paraphrase.Settings, tuple(PARAPHRASE_HELP), PARAPHRASE_HELP,
                            {"pick": paraphrase.PICKS})
    p.add_argument("--reference-encoder", help="adversarial, paraphrase: an encoder other than the attacked one, "
                   "for --min-similarity (the meaning filter)")
    if transfer:
        p.add_argument("--transfer-from", metavar="NAME", help="adversarial: attack this system only and replay "
                       "its queries on the others (black-box transfer); default: each system with its own scores")


def adversarial_options(args: argparse.Namespace) -> dict:
    """``run_robustness``'s adversarial settings and reference encoder from the options. The encoder runs on
    ``--device`` in the dtype auto means on the CPU, so that a study's journalled cells hold on either device."""
    from ..encode.dtype import auto_cpu_dtype
    from ..encode.embedder import Embedder

    settings = from_args(adversarial.Settings, args)
    settings.check()
    if settings.min_similarity and not args.reference_encoder:
        raise ValueError("--min-similarity needs --reference-encoder")
    reference = None
    if args.reference_encoder:
        reference = Embedder(args.reference_encoder, dtype=auto_cpu_dtype(), device=check_device(args.device)).queries
    words = from_args(paraphrase.Settings, args)
    words.check()
    return {"settings": settings, "reference": reference, "transfer_from": getattr(args, "transfer_from", None),
            "paraphrase": words}


def add_attack_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topics", required=True)
    p.add_argument("--lang", required=True, help="the topics' language (ISO 639-1): decides what applies")
    p.add_argument("--attack", required=True, help=ATTACK_HELP + ", or adversarial (with --index and --qrels)")
    p.add_argument("--rate", type=float, default=0.1, help="share of graphemes or words edited (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True, help="perturbed topics TSV; provenance goes to OUTPUT.provenance.jsonl")
    p.add_argument("--index", help="adversarial: the system attacked (a BM25, dense or xQG index)")
    p.add_argument("--a", type=float, help="adversarial: a for a side-by-side xQG index")
    p.add_argument("--qrels", help="adversarial: which passages are relevant")
    p.add_argument("--hits", type=int, default=100, help="adversarial: search depth of the system attacked")
    add_adversarial_arguments(p)
    add_device_argument(p)


def attack(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    options = adversarial_options(args)
    targeted = args.attack == "adversarial" or (paraphrase.is_model_attack(args.attack) and args.pick == "worst")
    if targeted and (not args.index or not args.qrels):
        raise ValueError(f"--attack {args.attack}{' --pick worst' * (args.attack != 'adversarial')} needs --index "
                         "(the system attacked) and --qrels")
    lang, relevant = check_language(args.lang), relevant_passages(load_qrels(args.qrels)) if targeted else {}
    system = open_index(args.index, args.a, args.hits, device=device) if targeted else None
    if args.attack == "adversarial":
        topics, provenance = adversarial.adversarial_topics(load_topics(args.topics), lang, system.search, relevant,
                                                            options["settings"], args.seed, options["reference"])
    elif targeted:
        topics, provenance = paraphrase.worst_topics(load_topics(args.topics), lang, args.attack, options["paraphrase"],
                                                     args.seed, {args.index: system.search}, relevant,
                                                     options["reference"], device=device)[args.index]
    else:
        topics, provenance = attack_topics(load_topics(args.topics), lang, args.attack, args.rate, args.seed,
                                           options["paraphrase"], options["reference"], device)
    write_text_atomic(args.output, "".join(f"{q}\t{t}\n" for q, t in topics.items()))
    write_text_atomic(f"{args.output}.provenance.jsonl",
                      "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in provenance))
    same = sum(not p["changed"] for p in provenance)
    if same:
        print(f"warning: {args.attack} left {same} of {len(provenance)} queries unchanged (\"changed\": false in "
              "the provenance); robustness and study leave them out of the drops", file=sys.stderr)
    print(args.output)


def add_robustness_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system", nargs="+", required=True,
                   help="NAME=INDEX (a BM25 or dense/xQG index; NAME=INDEX@A for a side-by-side xQG index)")
    add_collection_argument(p, "--topics, --qrels, --answers, --corpus and --language")
    p.add_argument("--topics", nargs="+", help="LANG=PATH, one per language (required without --collection)")
    p.add_argument("--qrels", help="required without --collection")
    p.add_argument("--answers", nargs="+", help=ANSWERS_HELP + " (required without --collection)")
    p.add_argument("--corpus", help="required without --collection")
    p.add_argument("--language", help=LANGUAGE_HELP + ": every BM25 system's index must have its analyzer "
                   "(default: the collection's, else not checked)")
    p.add_argument("--attacks", nargs="+", required=True)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--rate", type=float, default=0.1)
    p.add_argument("--measures", nargs="+", default=["R@2kt", "nDCG@10"])
    p.add_argument("--baseline", help="system whose per-query drops the others are tested against")
    p.add_argument("--hits", type=int, default=100)
    p.add_argument("--output", required=True, help="folder for this run's report, robustness.ATTACKS....md and .json")
    add_adversarial_arguments(p, transfer=True)
    add_device_argument(p)


def robustness(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    started, run = time.time(), provenance.record(args.argv, device=device)
    from_collection(args, ("topics", "qrels", "answers", "corpus"), ("language",))
    args.language = check_language(args.language) if args.language else None
    systems = {}
    for name, where in pairs(args.system, "NAME=INDEX or NAME=INDEX@A").items():
        path, at, a = where.rpartition("@")
        index, weight = (path, float(a)) if at else (where, None)
        system = open_index(index, weight, args.hits, device=device)
        if args.language and system.kind == "lucene" and check_language(language_of(index)) != args.language:
            raise DataError(index, None, f"BM25 system {name!r} was indexed with the {language_of(index)} analyzer, "
                            f"but the passages are {args.language} (--language); index them with --language "
                            f"{args.language}")
        systems[name] = system.search
    texts = {d: p.text for d, p in load_corpus(args.corpus).items()}
    options = adversarial_options(args)
    if options["reference"]:
        metas = {name: Path(where.rpartition("@")[0] or where) / "meta.json" for name, where in pairs(args.system).items()}
        paraphrase.warn_if_attacked(options["reference"], {name: json.loads(m.read_text())["encoder"]["model"]
                                                           for name, m in metas.items() if m.is_file()},
                                    lambda line: print(line, file=sys.stderr))
    report = run_robustness(systems, load_language_topics(pairs(args.topics, "LANG=PATH")), args.attacks, args.seeds, args.rate, args.qrels,
                            load_answers(args.answers), texts, args.measures, baseline=args.baseline,
                            adversarial=options, device=device)
    out = Path(args.output)
    identity = {k: v for k, v in vars(args).items()  # the device is how the run ran, not what it is
                if k not in ("output", "command_line", "argv", "collection", "device")}
    labels = [attacks_label(args.attacks), *[f"transfer-{args.transfer_from}"] * bool(args.transfer_from)]
    stem = provenance.report_stem("robustness", labels, identity)
    report["run"] = {**run, "seconds": round(time.time() - started)}
    write_text_atomic(out / f"{stem}.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    text = "\n".join(markdown(report, g) for g in ("family", "language"))
    write_text_atomic(out / f"{stem}.md", provenance.header(report["run"]) + text)
    print(text)
    print(f"{stem}.md and {stem}.json in {out}", file=sys.stderr)


SETTINGS_HELP = {"output": "study folder; a rerun reuses what it holds",
                 "model": "the starting dense encoder",
                 "steps": "train-encoder steps; several: each budget trained and reported apart (dose-response)",
                 "train_seeds": "train-encoder seeds: every fine-tuned system trained once per seed, its effects "
                                "pooled over seeds",
                 "a": "xQG weight (the paper's 0.01)", "measures": "the first leads the findings",
                 "title": "index each passage's title with its text; --no-title: the text only"}
COLLECTION = ("corpus", "topics", "qrels", "answers", "train", "generator")


def add_study_arguments(p: argparse.ArgumentParser) -> None:
    add_dataclass_arguments(p, systems.Settings, ("output", "model", "steps", "train_seeds", "a", "agg", "title"),
                            SETTINGS_HELP, {"agg": AGGREGATIONS})
    p.add_argument("--attacks", nargs="+", help="default: every attack that needs no model or file")
    add_dataclass_arguments(p, systems.Settings, ("seeds", "rate", "measures"), SETTINGS_HELP)
    add_dataclass_arguments(p, systems.Settings, ("defences", "noise", "noise_rate", "self_teaching", "noise_copies"), {
        "defences": "also noise-aware fine-tuning and dense+noisy xQG, with --noise; drops reported for seen and "
        "unseen attacks apart", "noise": "the attacks the defences see (the rest are unseen)",
        "noise_rate": "noise-aware fine-tuning: a training query's chance of a noisy copy",
        "self_teaching": "> 0: also noise-aware fine-tuning with self-teaching (KL weight)",
        "noise_copies": "noisy xQG: perturbed copies of each generated query"})
    p.add_argument("--languages", nargs="+", help="languages to study, of the sample or of --collection (default "
                   "all); not with --topics")
    add_collection_argument(p, "--corpus, --topics, --topics-pivot, --qrels, --answers, --train, --language, and "
                            "--generator file:DIR/reference-queries.train.jsonl where no --generator is given")
    p.add_argument("--corpus", help="a collection other than the built-in sample: its corpus, with --topics, "
                   "--qrels, --answers, --train and --generator")
    p.add_argument("--language", help=LANGUAGE_HELP + ": BM25's Lucene analyzer, and the pivot language that "
                   "--topics-pivot translates into (default: the collection's, else en)")
    p.add_argument("--topics", nargs="+", help="LANG=PATH dev topics, one per language")
    p.add_argument("--topics-pivot", "--topics-en", dest="topics_pivot", nargs="+", default=[],
                   help="LANG=PATH the topics translated into the pivot language, the passages' (--language; same "
                   "qids): adds BM25 translate-test. --topics-en is its old name")
    p.add_argument("--qrels")
    p.add_argument("--answers", nargs="+", help=ANSWERS_HELP)
    p.add_argument("--train", help="train-encoder's DPR-style JSONL")
    p.add_argument("--generator", help="generate's back end for the xQG queries: file:PATH or hf:MODEL")
    add_adversarial_arguments(p, transfer=True)
    add_device_argument(p)


def study_collection(args: argparse.Namespace) -> systems.Collection:
    """The collection a study runs on: the options', filled from ``--collection DIR``, or the built-in sample."""
    if args.collection:
        from_collection(args, COLLECTION, ("topics_pivot", "language"))
    language = check_language(args.language or "en")
    if not args.corpus:
        if language != "en":
            raise ValueError(f"the built-in sample's passages are English, not {language}: give --corpus or "
                             "--collection")
        return systems.Collection.sample(args.languages)
    missing = [f"--{n}" for n in COLLECTION if not getattr(args, n)]
    if missing or args.languages:
        raise ValueError(f"--corpus needs {' '.join(missing) or 'its own --topics'} (and no --languages)")
    return systems.Collection(args.corpus, pairs(args.topics, "LANG=PATH"), args.qrels, args.answers, args.train,
                              args.generator, pairs(args.topics_pivot, "LANG=PATH"), language)


def study_command(args: argparse.Namespace) -> None:
    device = check_device(args.device)
    collection = study_collection(args)
    settings = from_args(systems.Settings, args, attacks=args.attacks or list(RULE_ATTACKS), device=device)
    study.run_study(collection, settings, adversarial=adversarial_options(args), argv=args.argv)
