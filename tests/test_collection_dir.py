"""Collections by folder (``--collection DIR``) and passages in any language (``--language``)."""
import json
from pathlib import Path

import pytest

from pyserini_xqg.io.files import DataError
from pyserini_xqg.io.folder import read_collection

from .conftest import write

PASSAGES = [("d1", "Nile", "The Nile flows north through Egypt into the Mediterranean Sea."),
            ("d2", "Fuji", "Mount Fuji is the highest mountain in Japan, a volcano near Tokyo."),
            ("d3", "Baikal", "Lake Baikal in Siberia is the deepest lake on Earth.")]
TOPICS = {"sw": {"sw-1": "Nile inapita nchi gani?", "sw-2": "Fuji iko wapi?"},
          "te": {"te-1": "Baikal సరస్సు ఎక్కడ ఉంది?"}}
TRANSLATIONS = {"sw": {"sw-1": "Which country does the Nile flow through?", "sw-2": "Where is Fuji?"},
                "te": {"te-1": "Where is Lake Baikal?"}}
ANSWERS = {"sw-1": ("sw", "Egypt"), "sw-2": ("sw", "Japan"), "te-1": ("te", "Siberia")}
RELEVANT = {"sw-1": "d1", "sw-2": "d2", "te-1": "d3"}


def tsv(rows: dict[str, str]) -> str:
    return "".join(f"{q}\t{t}\n" for q, t in rows.items())


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def make_collection(root: Path, pivot: str = "en") -> Path:
    """A folder in the conventional layout: three passages, sw and te topics, their translations into ``pivot``."""
    root.mkdir(parents=True, exist_ok=True)
    write(root / "corpus.jsonl", jsonl({"id": i, "title": t, "contents": c} for i, t, c in PASSAGES))
    for lang, rows in TOPICS.items():
        write(root / f"queries.{lang}.tsv", tsv(rows))
        write(root / f"queries.{lang}-{pivot}.tsv", tsv(TRANSLATIONS[lang]))
    write(root / "qrels.txt", "".join(f"{q} 0 {d} 1\n" for q, d in RELEVANT.items()))
    write(root / "answers.jsonl", jsonl({"qid": q, "lang": lang, "answers": [a]} for q, (lang, a) in ANSWERS.items()))
    write(root / "train.jsonl", jsonl({"question": TOPICS["sw"]["sw-1"], "lang": "sw", "positive_ctxs": [
        {"docid": "d1", "title": "Nile", "text": PASSAGES[0][2]}]} for _ in range(2)))
    write(root / "reference-queries.train.jsonl", jsonl([{"docid": "d1", "generated_queries": {"sw": ["Nile?"]}}]))
    write(root / "README.md", "a collection\n")
    return root


def parse(argv: list[str]):
    from pyserini_xqg.__main__ import COMMANDS
    from pyserini_xqg.cli import parser

    return parser(COMMANDS).parse_args(argv)


def study_collection(argv: list[str]):
    from pyserini_xqg.robustness.cli import study_collection

    return study_collection(parse(["study", *argv]))


def test_the_conventional_names_are_found(tmp_path):
    d = make_collection(tmp_path / "c")
    write(d / "queries.sw-fr.tsv", tsv(TRANSLATIONS["sw"]))  # a translation into another language: not this one's
    found = read_collection(d)
    assert found.language == "en" and found.corpus == str(d / "corpus.jsonl")
    assert found.topics == {"sw": str(d / "queries.sw.tsv"), "te": str(d / "queries.te.tsv")}
    assert found.topics_pivot == {"sw": str(d / "queries.sw-en.tsv"), "te": str(d / "queries.te-en.tsv")}
    assert (found.qrels, found.answers, found.train, found.reference_queries) == tuple(
        str(d / name) for name in ("qrels.txt", "answers.jsonl", "train.jsonl", "reference-queries.train.jsonl"))
    chosen = found.select(["te"])
    assert chosen.topics == {"te": str(d / "queries.te.tsv")}
    assert chosen.topics_pivot == {"te": str(d / "queries.te-en.tsv")}
    with pytest.raises(DataError, match="no topics in yo; it has sw, te"):
        found.select(["yo"])


def test_a_manifest_renames_files_and_gives_the_passages_language(tmp_path):
    d = make_collection(tmp_path / "c", pivot="fr")
    (d / "corpus.jsonl").rename(d / "passages.jsonl")
    write(d / "q.fon.tsv", "fon-1\tNile ɖò fí?\n")
    write(d / "collection.json", json.dumps({"corpus": "passages.jsonl", "topics": {"fon": "q.fon.tsv"},
                                             "language": "fra"}))
    found = read_collection(d)
    assert found.language == "fr" and found.corpus == str(d / "passages.jsonl")
    assert found.topics == {"fon": str(d / "q.fon.tsv")}  # the manifest's topics replace the conventional ones
    # the translations into the passages' language still come by their names, queries.LANG-fr.tsv
    assert found.topics_pivot == {"sw": str(d / "queries.sw-fr.tsv"), "te": str(d / "queries.te-fr.tsv")}
    assert found.qrels == str(d / "qrels.txt")  # what the manifest does not name, the convention gives
    # the study takes the manifest's language; a language the study's topics lack has no translations there
    collection = study_collection(["--collection", str(d)])
    assert collection.language == "fr" and collection.topics_pivot == {}
    assert study_collection(["--collection", str(d), "--language", "de"]).language == "de"  # the option wins


@pytest.mark.parametrize("manifest, message", [
    ({"corpus": "passages.jsonl"}, "'corpus' names passages.jsonl, which is not a file in"),
    ({"qrel": "qrels.txt"}, "unknown key qrel; expected some of language, corpus, topics"),
    ({"topics": ["q.tsv"]}, "'topics' must be {\"LANG\": \"FILE\", ...}"),
    ({"language": "xx"}, "unknown language code 'xx'"),
    ("[", "collection.json: not a JSON object")])
def test_a_bad_manifest_is_a_clear_error(tmp_path, manifest, message):
    d = make_collection(tmp_path / "c")
    write(d / "collection.json", manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace("[", r"\[").replace("{", r"\{")) as err:
        read_collection(d)
    if "names" in message:
        assert "the folder holds README.md, answers.jsonl, collection.json, corpus.jsonl" in str(err.value)


def test_explicit_options_win_over_the_folder(tmp_path):
    d = make_collection(tmp_path / "c")
    other = write(tmp_path / "other-qrels.txt", "sw-1 0 d1 1\n")
    mine = write(tmp_path / "mine.sw.tsv", tsv(TOPICS["sw"]))
    collection = study_collection(["--collection", str(d), "--qrels", str(other), "--topics", f"sw={mine}",
                                   "--generator", "file:elsewhere.jsonl"])
    assert collection.qrels == str(other) and collection.topics == {"sw": str(mine)}
    assert collection.topics_pivot == {"sw": str(d / "queries.sw-en.tsv")}  # only the translations of the topics used
    assert collection.generator == "file:elsewhere.jsonl" and collection.answers == [str(d / "answers.jsonl")]
    assert study_collection(["--collection", str(d), "--topics-pivot", f"sw={mine}"]).topics_pivot == {"sw": str(mine)}


def test_the_collection_is_the_long_form(tmp_path, monkeypatch):
    """``--collection D`` is exactly the command line that names every file in D (as ``D/name``): the same
    Collection, so the same report names and reuse."""
    monkeypatch.chdir(tmp_path)
    make_collection(tmp_path / "data" / "c")
    for d in ("data/c", str(tmp_path / "data" / "c")):  # relative and absolute, each as typed
        long = study_collection(["--corpus", f"{d}/corpus.jsonl", "--topics", f"sw={d}/queries.sw.tsv",
                                 f"te={d}/queries.te.tsv", "--topics-en", f"sw={d}/queries.sw-en.tsv",
                                 f"te={d}/queries.te-en.tsv", "--qrels", f"{d}/qrels.txt", "--answers",
                                 f"{d}/answers.jsonl", "--train", f"{d}/train.jsonl", "--generator",
                                 f"file:{d}/reference-queries.train.jsonl"])
        assert study_collection(["--collection", d]) == long
        assert study_collection(["--collection", d, "--generator", f"file:{d}/reference-queries.train.jsonl"]) == long
        assert study_collection(["--collection", d, "--languages", "te"]).topics == {"te": f"{d}/queries.te.tsv"}


def test_topics_en_is_the_old_name_of_topics_pivot():
    assert parse(["study", "--topics-en", "sw=a.tsv"]).topics_pivot == ["sw=a.tsv"]
    assert parse(["study", "--topics-pivot", "sw=a.tsv"]).topics_pivot == ["sw=a.tsv"]
    assert not hasattr(parse(["study"]), "topics_en")


def test_missing_and_ambiguous_files_are_clear_errors(tmp_path, capsys):
    from pyserini_xqg.__main__ import main

    d = make_collection(tmp_path / "c")
    (d / "qrels.txt").unlink()
    assert main(["evaluate", "--collection", str(d), "--run", str(d / "none.trec")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {d}: no qrels (qrels.txt, or 'qrels' in collection.json, or give --qrels); "
                          "the folder holds README.md, answers.jsonl, corpus.jsonl, queries.sw-en.tsv")
    (d / "reference-queries.train.jsonl").unlink()
    assert main(["study", "--collection", str(d), "--qrels", "q.txt", "--output", str(tmp_path / "s")]) == 2
    assert "no reference queries (reference-queries.train.jsonl, or 'reference_queries' in collection.json, or give " \
           "--generator)" in capsys.readouterr().err
    assert main(["evaluate", "--run", "x.trec"]) == 2  # neither the option nor a folder
    assert "error: --qrels is required (or --collection DIR)" in capsys.readouterr().err
    assert main(["search", "--collection", str(tmp_path / "nowhere"), "--index", "i", "--output", "r"]) == 2
    assert "nowhere: no such collection folder" in capsys.readouterr().err

    write(d / "corpus.tsv", "d1\tThe Nile\n")
    with pytest.raises(DataError, match="two corpus files, corpus.jsonl and corpus.tsv: keep one, or name it in "
                       "collection.json"):
        read_collection(d)
    (d / "corpus.tsv").unlink()
    write(d / "queries.swa.tsv", tsv(TOPICS["sw"]))  # Swahili again, by its ISO 639-3 code
    with pytest.raises(DataError, match=r"two topics files for Swahili \(sw\): queries.sw.tsv and queries.swa.tsv"):
        read_collection(d)
    (d / "queries.swa.tsv").unlink()
    write(d / "queries.xq.tsv", tsv(TOPICS["sw"]))
    with pytest.raises(DataError, match="queries.xq.tsv: unknown language code 'xq'"):
        read_collection(d)


def test_a_bad_language_is_refused(tmp_path, capsys):
    from pyserini_xqg.__main__ import main

    assert main(["study", "--language", "xx", "--output", str(tmp_path / "s")]) == 2
    assert "unknown language code 'xx'" in capsys.readouterr().err
    assert main(["study", "--language", "fr", "--output", str(tmp_path / "s")]) == 2
    assert "the built-in sample's passages are English, not fr" in capsys.readouterr().err


def test_french_passages_get_the_french_analyzer_and_labels(tmp_path):
    from pyserini_xqg.index.lucene import META
    from pyserini_xqg.robustness.study_report import markdown
    from pyserini_xqg.robustness.systems import Collection, Settings, Timings, bm25_index
    from pyserini_xqg.search import lucene

    corpus = write(tmp_path / "corpus.jsonl", jsonl([
        {"id": "d1", "title": "Rivière", "contents": "L'eau de la rivière est froide en hiver."},
        {"id": "d2", "title": "Montagne", "contents": "Le soleil brille sur les chevaux de la montagne."}]))
    queries = {"q1": "eau", "q2": "cheval"}  # elision and the plural: only the French analyzer sees them
    settings = Settings(str(tmp_path / "study"))
    french = Collection(str(corpus), {}, "", "", language="fr")
    logged, timings = [], Timings(tmp_path / "timings.json")
    index = bm25_index(french, settings, timings, logged.append)
    assert json.loads((index / META).read_text())["language"] == "fr" and logged == ["index bm25 (Lucene, French "
                                                                                     "analyzer)"]
    assert {q: [d for d, _ in hits] for q, hits in lucene.search(index, queries).items()} == {"q1": ["d1"],
                                                                                              "q2": ["d2"]}
    bm25_index(french, settings, timings, logged.append)
    assert len(logged) == 1  # the same language: reused
    bm25_index(Collection(str(corpus), {}, "", "", language="en"), settings, timings, logged.append)
    assert json.loads((index / META).read_text())["language"] == "en" and "English analyzer" in logged[-1]
    assert lucene.search(index, queries) == {"q1": [], "q2": []}  # another language: rebuilt, and it shows
    # the report speaks of the pivot language, French here, never of English
    report = {"clean": {"languages": {"q1": "fon"}, "per_query": {"dense": {"nDCG@10": {"q1": 0.5}}}},
              "measures": ["nDCG@10"], "rate": 0.1, "seeds": [0], "per_query_drop": {}, "attacks": {}}
    meta = {"queries": 1, "languages": ["fon"], "model": "m", "steps": 1, "train": "t", "a": 0.01, "agg": "auto",
            "generator": "file:g", "seconds": 1, "alpha": 0.05, "language": "fr", "report": "study.x"}
    budgets = {1: {"analysis": {}, "agreement": {}, "clean": {}, "positive_control": None}}
    text = markdown(report, budgets, meta, Settings(steps=[1]))
    assert "BM25 on the human French translations of the queries" in text and "French passages" in text
    assert "English" not in text


def test_search_evaluate_and_robustness_on_a_collection(tmp_path, capsys):
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.io.provenance import latest_report
    from pyserini_xqg.io.runs import read_run

    d = make_collection(tmp_path / "c")
    assert main(["index", "--corpus", str(d / "corpus.jsonl"), "--index", str(tmp_path / "bm25")]) == 0
    run = tmp_path / "bm25.trec"
    assert main(["search", "--collection", str(d), "--index", str(tmp_path / "bm25"), "--output", str(run)]) == 0
    hits = read_run(run)
    assert set(hits) == {"sw-1", "sw-2", "te-1"}  # every language's topics, in one run
    assert [d for d, _ in hits["sw-1"]][0] == "d1" and [d for d, _ in hits["te-1"]][0] == "d3"
    capsys.readouterr()
    assert main(["evaluate", "--collection", str(d), "--run", f"bm25={run}", "--measures", "R@2kt", "nDCG@10"]) == 0
    table = capsys.readouterr().out
    assert "| bm25 |" in table and "sw" in table and "te" in table  # per language: the folder's topics and answers
    # robustness: the folder gives topics, qrels, answers and corpus; the long form names the same report
    out = tmp_path / "robustness"
    short = ["robustness", "--collection", str(d), "--system", f"bm25={tmp_path / 'bm25'}", "--attacks", "char-swap",
             "--seeds", "0", "--output", str(out)]
    assert main(short) == 0
    first = latest_report(out, "robustness")
    long = ["robustness", "--topics", f"sw={d}/queries.sw.tsv", f"te={d}/queries.te.tsv", "--qrels", f"{d}/qrels.txt",
            "--answers", f"{d}/answers.jsonl", "--corpus", f"{d}/corpus.jsonl", "--language", "en", *short[3:]]
    assert main(long) == 0
    assert sorted(out.glob("robustness.*.json")) == [first]
    # a collection of French passages refuses a BM25 index made with the English analyzer, before any work
    write(d / "collection.json", json.dumps({"language": "fr"}))
    assert main([*short[:-1], str(tmp_path / "r2")]) == 2
    assert "BM25 system 'bm25' was indexed with the en analyzer, but the passages are fr" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()
