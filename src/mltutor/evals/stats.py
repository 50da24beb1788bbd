"""Statistics for reports: bootstrap confidence intervals, the paired comparison, the sign test.

Percentile bootstrap with a fixed seed, so the same run gives the same interval every time it is
reported. 2,000 resamples: the interval's ends move by well under 1% of its width between seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

RESAMPLES = 2000
"""Bootstrap resamples per interval."""

LEVEL = 0.95
"""Confidence level of every interval."""

SEED = 12345
"""Seed of the bootstrap draws (fixed: a report is reproducible)."""


class Estimate(BaseModel):
    """A mean (or pooled ratio) with its 95% bootstrap interval."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    n: int
    """Cases it is computed over."""
    mean: float | None
    """The point estimate (None when there are no cases)."""
    lo: float | None = None
    """Lower end of the 95% interval (None with fewer than 2 cases)."""
    hi: float | None = None
    """Upper end of the 95% interval."""

    def overlaps(self, other: Estimate) -> bool:
        """Whether the two intervals share any value (True when either has none)."""
        if None in (self.lo, self.hi, other.lo, other.hi):
            return True
        assert self.lo is not None and self.hi is not None
        assert other.lo is not None and other.hi is not None
        return not (self.hi < other.lo or other.hi < self.lo)


def _bounds(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def mean_ci(values: Sequence[float], *, seed: int = SEED) -> Estimate:
    """The mean of ``values`` with a percentile-bootstrap 95% interval."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return Estimate(n=0, mean=None)
    mean = float(x.mean())
    if n < 2:
        return Estimate(n=n, mean=mean)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(RESAMPLES, n))
    lo, hi = _bounds(x[idx].mean(axis=1))
    return Estimate(n=n, mean=mean, lo=lo, hi=hi)


def ratio_ci(
    numerators: Sequence[float], denominators: Sequence[float], *, seed: int = SEED
) -> Estimate:
    """sum(numerators) / sum(denominators), resampling cases; cases with a zero denominator count
    toward ``n`` only through the pooled sums (a case with no claims adds nothing)."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    n = int((den > 0).sum())
    if den.sum() <= 0:
        return Estimate(n=n, mean=None)
    point = float(num.sum() / den.sum())
    if n < 2:
        return Estimate(n=n, mean=point)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), size=(RESAMPLES, len(num)))
    d = den[idx].sum(axis=1)
    ok = d > 0
    ratios = num[idx].sum(axis=1)[ok] / d[ok]
    lo, hi = _bounds(ratios)
    return Estimate(n=n, mean=point, lo=lo, hi=hi)


def sign_test(differences: Sequence[float]) -> tuple[int, int, int, float]:
    """(wins, losses, ties, two-sided exact p) of the sign test on paired differences.

    Ties (difference 0) are dropped, as usual; with no non-tied pair, p is 1.
    """
    wins = sum(1 for d in differences if d > 0)
    losses = sum(1 for d in differences if d < 0)
    ties = len(differences) - wins - losses
    n = wins + losses
    if n == 0:
        return wins, losses, ties, 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return wins, losses, ties, min(1.0, 2 * tail)


__all__ = ["LEVEL", "RESAMPLES", "Estimate", "mean_ci", "ratio_ci", "sign_test"]
