"""R@kt follows XOR-TyDi's official script; trec_eval measures match hand-computed values."""
import math

import pytest

from pyserini_xqg.eval.metrics import recall_at_kt, run_recall_at_kt, sentences, trec_eval, trec_eval_name, word_tokenize

from .conftest import write


@pytest.mark.parametrize("text, tokens", [
    # Outputs of nltk.word_tokenize (Punkt + Treebank) on the same strings.
    ("The river ends at Lagos, Nigeria.", ["The", "river", "ends", "at", "Lagos", ",", "Nigeria", "."]),
    ("Sales rose 56.2% in 1999.", ["Sales", "rose", "56.2", "%", "in", "1999", "."]),
    ('"Hello," she said.', ["``", "Hello", ",", "''", "she", "said", "."]),
    ("It is 6,650 kilometres long. It didn't stop.",
     ["It", "is", "6,650", "kilometres", "long", ".", "It", "did", "n't", "stop", "."]),
    ("Dr. Rao moved to St. Petersburg in 1703. The city grew.",
     ["Dr.", "Rao", "moved", "to", "St.", "Petersburg", "in", "1703", ".", "The", "city", "grew", "."]),
])
def test_word_tokenize_matches_nltk(text, tokens):
    assert word_tokenize(text) == tokens


def test_sentence_rule_skips_abbreviations():
    assert sentences("Mt. Fuji is high. It erupted in 1707. Dr. Who.") == ["Mt. Fuji is high.", "It erupted in 1707.", "Dr. Who."]


def test_recall_at_kt_official_behaviour():
    passages = ["Its capital is Lagos, Nigeria.", "Other text about rivers and lakes."]
    # The official script matches the raw answer against space-joined tokens: punctuation inside an answer
    # only matches when tokenised the same way.
    assert recall_at_kt(passages, ["Lagos, Nigeria"], 2000) == 0.0
    assert recall_at_kt(passages, ["Lagos , Nigeria"], 2000) == 1.0
    assert recall_at_kt(passages, ["Lagos"], 2000) == 1.0
    assert recall_at_kt(passages, ["lagos"], 2000) == 0.0          # case-sensitive
    assert recall_at_kt(passages, ["yes"], 2000) is None           # yes/no answers are skipped
    # only the first k tokens count: "lakes" is token 13 of the concatenation
    assert recall_at_kt(passages, ["lakes"], 13) == 1.0
    assert recall_at_kt(passages, ["lakes"], 12) == 0.0


def test_run_recall_at_kt_counts_missing_queries_as_misses():
    texts = {"d1": "The Nile is long.", "d2": "Fuji is a volcano."}
    run = {"q1": [("d2", 2.0), ("d1", 1.0)]}
    scores = run_recall_at_kt(run, {"q1": ["Nile"], "q2": ["Fuji"]}, texts, 2000)
    assert scores == {"q1": 1.0, "q2": 0.0}
    assert run_recall_at_kt(run, {"q1": ["Nile"]}, texts, 5)["q1"] == 0.0


def test_trec_eval_measures(tmp_path):
    qrels = write(tmp_path / "qrels.txt", "q1 0 d2 1\nq2 0 d1 1\nq2 0 d3 1\nq3 0 d1 1\n")
    run = {"q1": [("d1", 3.0), ("d2", 2.0)],
           "q2": [("d1", 3.0)] + [(f"x{i}", 2.0 - i / 100) for i in range(12)] + [("d3", 0.5)]}
    out = trec_eval(run, qrels, ["nDCG@10", "MRR@10", "R@100", "recall.1"])
    assert out["nDCG@10"]["q1"] == pytest.approx(1 / math.log2(3), abs=1e-4)
    assert out["MRR@10"] == {"q1": 0.5, "q2": 1.0, "q3": 0.0}    # q3 absent from the run: 0
    assert all(list(scores) == sorted(scores) for scores in out.values())  # qid order, whatever the hash seed
    assert out["R@100"]["q2"] == 1.0 and out["recall.1"]["q2"] == 0.5
    idcg = 1 + 1 / math.log2(3)
    assert out["nDCG@10"]["q2"] == pytest.approx(1 / idcg, abs=1e-4)  # d3 is at rank 14, beyond the cut


def test_measure_names():
    assert trec_eval_name("nDCG@10") == ("ndcg_cut.10", None)
    assert trec_eval_name("MRR@10") == ("recip_rank", 10)
    assert trec_eval_name("R@100") == ("recall.100", None)
    assert trec_eval_name("map") == ("map", None)
    assert trec_eval_name("bpref") == ("bpref", None)


def test_trec_eval_refuses_what_it_would_score_as_zero(tmp_path):
    """The bundled trec_eval exits 0 on errors: a duplicate docid or a misspelled measure must not become 0.000."""
    from pyserini_xqg.eval.metrics import trec_eval

    qrels = tmp_path / "qrels"
    qrels.write_text("q1 0 d1 1\nq2 0 d2 1\n")
    with pytest.raises(ValueError, match="twice for query 'q1'"):
        trec_eval({"q1": [("d1", 2.0), ("d1", 1.0)], "q2": [("d2", 1.0)]}, qrels, ["nDCG@10"])
    with pytest.raises(ValueError, match="unknown measure 'ndcg_cutt.10'"):
        trec_eval({"q1": [("d1", 2.0)]}, qrels, ["ndcg_cutt.10", "nDCG@10"])
    assert trec_eval({"q1": [("d1", 2.0)]}, qrels, ["nDCG@10"]) == {"nDCG@10": {"q1": 1.0, "q2": 0.0}}
    assert trec_eval({"q1": [], "q2": []}, qrels, ["nDCG@10"]) == {"nDCG@10": {"q1": 0.0, "q2": 0.0}}  # no hits
