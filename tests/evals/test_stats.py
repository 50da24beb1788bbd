"""Bootstrap intervals and the sign test."""

from __future__ import annotations

import math

import numpy as np

from mltutor.evals.stats import mean_ci, ratio_ci, sign_test


def test_mean_ci_is_reproducible_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(0)
    values = list(rng.normal(5.0, 2.0, size=200))
    e = mean_ci(values)
    assert e == mean_ci(values)  # fixed seed: the same report every time
    assert e.lo is not None and e.hi is not None and e.lo < e.mean < e.hi  # type: ignore[operator]
    # the bootstrap interval is close to the normal one (mean +- 1.96 s/sqrt(n))
    half = 1.96 * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    assert abs((e.hi - e.lo) / 2 - half) < 0.15 * half


def test_degenerate_cases() -> None:
    assert mean_ci([]).mean is None
    one = mean_ci([3.0])
    assert one.mean == 3.0 and one.lo is None
    assert ratio_ci([0, 0], [0, 0]).mean is None


def test_ratio_pools_cases() -> None:
    e = ratio_ci([1, 0, 3], [2, 0, 4])
    assert e.mean == 4 / 6 and e.n == 2
    assert e.lo is not None and e.hi is not None and e.lo <= 4 / 6 <= e.hi


def test_sign_test_exact_values() -> None:
    # 9 wins, 1 loss: P(X <= 1 | n=10, 1/2) = 11/1024, two-sided 22/1024
    wins, losses, ties, p = sign_test([1.0] * 9 + [-2.0] + [0.0] * 3)
    assert (wins, losses, ties) == (9, 1, 3)
    assert math.isclose(p, 22 / 1024)
    assert sign_test([0.0, 0.0])[3] == 1.0
    assert sign_test([1.0, -1.0])[3] == 1.0


def test_overlap() -> None:
    a, b = mean_ci([1.0, 1.1, 0.9, 1.0]), mean_ci([5.0, 5.2, 4.9, 5.1])
    assert not a.overlaps(b) and a.overlaps(a)
