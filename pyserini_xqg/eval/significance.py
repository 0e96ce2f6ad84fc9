"""Paired significance tests over queries, with Holm-Bonferroni correction.

- ``t``: trectools' paired t-test (``TrecRes.compare_with``, scipy's ``ttest_rel``);
- ``permutation``: a paired randomisation test (scipy's ``permutation_test`` permuting
  each query's pair of scores), statistic = mean difference, two-sided.

``compare`` tests every (system, language) cell of a measure against one baseline and
corrects the p-values of all those cells together (statsmodels' ``multipletests``, Holm).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TESTS = ("t", "permutation")


def _trec_res(scores: dict[str, float], measure: str):
    import pandas as pd
    from trectools import TrecRes

    res = TrecRes()
    res.data = pd.DataFrame({"metric": measure, "query": list(scores), "value": list(scores.values())})
    return res


def t_test(x: dict[str, float], y: dict[str, float]) -> float:
    """Two-sided p-value of trectools' paired t-test of x against y over their shared queries."""
    import warnings

    with warnings.catch_warnings():  # scipy warns on near-identical samples; the p-value is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        p = _trec_res(x, "m").compare_with(_trec_res(y, "m"), "m").pvalue
    return 1.0 if np.isnan(p) else float(p)  # identical scores: no evidence of a difference


def permutation_test(x: dict[str, float], y: dict[str, float], resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomisation test (mean difference) over shared queries."""
    from scipy.stats import permutation_test as scipy_permutation_test

    shared = sorted(set(x) & set(y))
    a, b = np.array([x[q] for q in shared]), np.array([y[q] for q in shared])
    if np.allclose(a, b):
        return 1.0
    result = scipy_permutation_test((a, b), lambda u, v: np.mean(u - v), permutation_type="samples",
                                    n_resamples=resamples, alternative="two-sided", rng=np.random.default_rng(seed))
    return float(result.pvalue)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values: the k-th smallest times (m - k + 1), made monotone, capped at 1.

    Equal to statsmodels' ``multipletests(method="holm")`` (a test checks), which runs a full ``gc.collect()``
    on every call: 0.1 s and more in a process that holds models, and a study makes hundreds of calls.
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)))
    return [float(x) for x in adjusted]


BOOTSTRAP_RESAMPLES = 1000
"""Resamples per interval: a study reports hundreds of cells; 10,000 would take 25 times as long (seconds a cell)."""


def bootstrap_ci(values, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """The ``level`` percentile bootstrap interval of the mean of ``values`` (queries resampled with
    replacement; scipy's ``bootstrap``), seeded: the same values and seed give the same interval."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if len(data) < 2 or np.all(data == data[0]):  # nothing to resample
        return float(np.mean(data)), float(np.mean(data))
    ci = bootstrap((data,), np.mean, n_resamples=resamples, confidence_level=level, method="percentile",
                   rng=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Cell:
    delta: float        # system minus baseline, mean over the language's queries
    p: float            # uncorrected
    p_holm: float       # Holm-corrected over every cell compared
    significant: bool


def compare(per_query: dict[str, dict[str, float]], languages: dict[str, str], baseline: str,
            test: str = "t", alpha: float = 0.05) -> dict[tuple[str, str], Cell]:
    """Test each system against ``baseline`` per language: {(system, lang): Cell}.

    ``per_query``: system -> qid -> score for one measure; ``languages``: qid -> language.
    """
    if baseline not in per_query:
        raise ValueError(f"baseline {baseline!r} is not among the runs: {sorted(per_query)}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    fn = t_test if test == "t" else permutation_test
    langs = list(dict.fromkeys(languages.values()))
    keys, deltas, pvalues = [], [], []
    for system, scores in per_query.items():
        if system == baseline:
            continue
        for lang in langs:
            x = {q: v for q, v in scores.items() if languages.get(q) == lang}
            y = {q: v for q, v in per_query[baseline].items() if languages.get(q) == lang}
            if not x or not y:
                continue
            keys.append((system, lang))
            shared = sorted(set(x) & set(y))  # a fixed order: the same float sum on every rerun
            deltas.append(float(np.mean([x[q] - y[q] for q in shared])))
            pvalues.append(fn(x, y))
    adjusted = holm(pvalues)
    return {k: Cell(d, p, ph, ph < alpha) for k, d, p, ph in zip(keys, deltas, pvalues, adjusted)}
