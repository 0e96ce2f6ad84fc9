"""The study's findings as a reviewer reads them: effects with seeded bootstrap intervals, and a positive control
that decides whether a null result about the defences may be read at all."""
import numpy as np
import pytest

from pyserini_xqg.eval.significance import bootstrap_ci
from pyserini_xqg.robustness.analysis import NOISE_AWARE, SEEN, analyse, positive_control
from pyserini_xqg.robustness.study_report import control_lines
from pyserini_xqg.robustness.systems import FT, NOISE_FT

QIDS = {f"sw-{i}": "sw" for i in range(30)} | {f"te-{i}": "te" for i in range(30)}


def report(noise_aware_drop: float, seed: int = 0) -> dict:
    """A study's robustness report on one seen attack (char-swap): fine-tuned drops 0.3 on average, noise-aware
    ``noise_aware_drop``, each query with its own noise."""
    rng = np.random.default_rng(seed)
    drops = {FT: {q: float(0.3 + rng.normal(0, 0.1)) for q in QIDS},
             NOISE_FT: {q: float(noise_aware_drop + rng.normal(0, 0.1)) for q in QIDS}}
    return {"clean": {"languages": QIDS}, "measures": ["nDCG@10"],
            "per_query_drop": {"char-swap": {s: {"nDCG@10": d} for s, d in drops.items()}}}


def test_the_positive_control_passes_where_noise_aware_training_cut_the_seen_drop():
    analysis = analyse(report(0.1), seen=("char-swap",))
    control = positive_control(analysis, "nDCG@10", 240)
    assert control["passed"] and control["delta"] == pytest.approx(-0.2, abs=0.05) and control["steps"] == 240
    assert control["ci"][0] <= control["delta"] <= control["ci"][1] < 0
    [line] = control_lines(control)
    assert line.startswith("- **Positive control passed** at 240 steps") and "inconclusive" not in line


def test_the_positive_control_fails_where_it_did_not_and_the_comparison_is_inconclusive():
    analysis = analyse(report(0.3), seen=("char-swap",))
    control = positive_control(analysis, "nDCG@10", 60)
    assert not control["passed"] and not control["significant"]
    assert control["ci"][0] < 0 < control["ci"][1]  # an interval that holds no effect either way
    [line] = control_lines(control)
    assert line.startswith("- **Positive control failed** at 60 steps") and "**inconclusive**" in line
    assert positive_control(analyse(report(0.3)), "nDCG@10", 60) is None  # no defences: no control


def test_intervals_are_seeded_and_hold_the_mean():
    values = np.random.default_rng(3).normal(0.05, 0.2, 500)
    assert bootstrap_ci(values, seed=1) == bootstrap_ci(values, seed=1)
    assert bootstrap_ci(values, seed=1) != bootstrap_ci(values, seed=2)
    low, high = bootstrap_ci(values, seed=1)
    assert low < values.mean() < high and high - low == pytest.approx(2 * 1.96 * values.std() / 500 ** 0.5, rel=0.2)
    assert bootstrap_ci([0.1] * 10) == (0.1, 0.1)  # nothing varies: the interval is the mean
    first, again = analyse(report(0.1), seen=("char-swap",)), analyse(report(0.1), seen=("char-swap",))
    assert first == again  # every cell's interval, reproduced
    cells = first[SEEN]["nDCG@10"]["family"]
    assert set(cells["drop_ci"]) == {FT, NOISE_FT} and set(cells["effects"][NOISE_AWARE]["all"]) >= {"delta", "ci"}


def test_effects_pooled_over_seeds_equal_the_hand_computation():
    """Two seeds of each trained system: the pooled effect is the paired t-test on each query's drop averaged over
    the seeds; agreement counts the seeds whose own test finds the pooled sign significant."""
    from scipy.stats import ttest_rel

    from pyserini_xqg.robustness.analysis import analyse_budgets
    from pyserini_xqg.robustness.systems import DENSE, Settings, Trained

    rng = np.random.default_rng(7)
    runs = [Trained(60, 0), Trained(60, 1)]
    drops = {DENSE: {q: float(0.3 + rng.normal(0, 0.1)) for q in QIDS}}
    for run, shift in zip(runs, (-0.15, -0.01)):  # seed 0 cuts the drop clearly, seed 1 barely
        drops[run.name(FT)] = {q: float(0.3 + rng.normal(0, 0.1)) for q in QIDS}
        drops[run.name(NOISE_FT)] = {q: float(0.3 + shift + rng.normal(0, 0.1)) for q in QIDS}
    clean = {name: {"nDCG@10": {q: 0.5 + 0.1 * i for q in QIDS}} for i, name in enumerate(drops)}
    raw = {"clean": {"languages": QIDS, "per_query": clean}, "measures": ["nDCG@10"],
           "per_query_drop": {"char-swap": {s: {"nDCG@10": d} for s, d in drops.items()}}}
    settings = Settings(steps=[60], train_seeds=[0, 1], defences=True, noise=["char-swap"])
    budget = analyse_budgets(raw, settings)[60]
    mean = lambda role: np.array([np.mean([drops[r.name(role)][q] for r in runs]) for q in QIDS])  # noqa: E731
    cell = budget["analysis"][SEEN]["nDCG@10"]["family"]["effects"][NOISE_AWARE]["all"]
    assert cell["delta"] == pytest.approx(np.mean(mean(NOISE_FT) - mean(FT)))
    assert cell["p"] == pytest.approx(ttest_rel(mean(NOISE_FT), mean(FT)).pvalue)
    held = budget["agreement"][SEEN]["nDCG@10"][NOISE_AWARE]["all"]
    assert held["seeds"] == 2 and held["agree"] == 1  # seed 0 alone finds it
    assert held["deltas"][0] < held["deltas"][1] < 0
    assert budget["positive_control"]["passed"] and budget["positive_control"]["seeds"] == held
    assert budget["clean"][FT]["nDCG@10"]["values"] == pytest.approx([0.6, 0.8])  # each seed's mean clean score
    assert budget["clean"][FT]["nDCG@10"]["sd"] == pytest.approx(np.std([0.6, 0.8], ddof=1))


def test_one_training_seed_shows_no_spread_in_the_dose_table():
    """One seed has no standard deviation: the tables say so instead of printing ± 0.000."""
    from pyserini_xqg.robustness.analysis import analyse_budgets
    from pyserini_xqg.robustness.study_report import dose_markdown
    from pyserini_xqg.robustness.systems import DENSE, Settings, Trained

    rng = np.random.default_rng(3)
    runs = [Trained(60, 0)]
    drops = {DENSE: {q: float(0.3 + rng.normal(0, 0.1)) for q in QIDS}}
    for role in (FT, NOISE_FT):
        drops[runs[0].name(role)] = {q: float(0.3 + rng.normal(0, 0.1)) for q in QIDS}
    clean = {name: {"nDCG@10": {q: 0.5 for q in QIDS}} for name in drops}
    raw = {"clean": {"languages": QIDS, "per_query": clean}, "measures": ["nDCG@10"],
           "per_query_drop": {"char-swap": {s: {"nDCG@10": d} for s, d in drops.items()}}}
    budgets = analyse_budgets(raw, Settings(steps=[60], train_seeds=[0], defences=True, noise=["char-swap"]))
    assert budgets[60]["clean"][FT]["nDCG@10"]["sd"] is None
    table = "\n".join(dose_markdown(budgets, "nDCG@10", "plot.png"))
    assert f"| 60 | {FT} | 0.500 (one seed) |" in table and "± 0.000" not in table
