"""Significance tests agree with scipy on known inputs; Holm matches a worked example."""
import numpy as np
import pytest
from scipy import stats

from pyserini_xqg.eval.significance import compare, holm, permutation_test, t_test

X = {f"q{i}": v for i, v in enumerate([0.2, 0.5, 0.9, 0.4, 0.7, 0.1, 0.8, 0.6, 0.3, 0.5])}
Y = {f"q{i}": v for i, v in enumerate([0.1, 0.5, 0.6, 0.3, 0.7, 0.0, 0.5, 0.6, 0.2, 0.1])}


def test_t_test_is_scipys_paired_t_test():
    expected = stats.ttest_rel(list(X.values()), list(Y.values())).pvalue
    assert t_test(X, Y) == pytest.approx(expected)
    assert t_test(X, dict(X)) == 1.0


def test_permutation_test_is_exact_on_small_samples():
    # 10 pairs, 7 non-zero differences: scipy enumerates all 2^10 sign flips exactly
    x, y = np.array(list(X.values())), np.array(list(Y.values()))
    expected = stats.permutation_test((x, y), lambda u, v: np.mean(u - v), permutation_type="samples",
                                      alternative="two-sided").pvalue
    assert permutation_test(X, Y) == pytest.approx(expected)
    flips = [np.mean(np.array(signs) * (x - y)) for signs in np.array(np.meshgrid(*[[-1, 1]] * 10)).T.reshape(-1, 10)]
    assert expected == pytest.approx(np.mean(np.abs(flips) >= np.mean(x - y) - 1e-12))


def test_holm_worked_example():
    # p sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []


def test_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 50):
        p = np.round(rng.uniform(0, 0.2, n), 3)  # rounded: ties
        assert holm(list(p)) == list(multipletests(p, method="holm")[1])


def test_compare_corrects_over_systems_and_languages():
    rng = np.random.default_rng(0)
    base = {f"{l}{i}": float(rng.random()) for l in "ab" for i in range(40)}
    langs = {q: q[0] for q in base}
    better = {q: v + 0.3 for q, v in base.items()}
    same = {q: v + float(rng.normal(0, 0.01)) for q, v in base.items()}
    cells = compare({"base": base, "better": better, "same": same}, langs, "base")
    assert set(cells) == {("better", "a"), ("better", "b"), ("same", "a"), ("same", "b")}
    assert cells[("better", "a")].significant and cells[("better", "a")].delta == pytest.approx(0.3)
    assert not cells[("same", "a")].significant
    raw = [c.p for c in cells.values()]
    assert [c.p_holm for c in cells.values()] == pytest.approx(holm(raw))
    with pytest.raises(ValueError, match="baseline"):
        compare({"x": base}, langs, "missing")
