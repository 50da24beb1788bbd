"""Estimation tools (SciPy): confidence intervals and bootstrap intervals.

Sample sizes and power are in :mod:`mltutor.tools.power`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field, FiniteFloat, model_validator
from scipy import stats as st

from mltutor.tools.errors import LimitExceeded, ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel
from mltutor.tools.stats import summary

# -- confidence intervals ---------------------------------------------------------------------


class ConfidenceIntervalIn(ToolModel):
    """Data or summaries for a confidence interval of a mean or a proportion."""

    kind: Literal["mean", "proportion"] = "mean"
    """Interval for a "mean" (t, or z when sigma is known) or a "proportion"."""

    data: list[FiniteFloat] | None = Field(default=None, min_length=2)
    """Raw sample (kind "mean"), instead of mean/sd/n."""

    mean: FiniteFloat | None = None
    """Sample mean (kind "mean")."""

    sd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Sample standard deviation, n − 1 denominator (kind "mean")."""

    sigma: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Known population σ: use a z interval instead of t (kind "mean")."""

    n: int | None = Field(default=None, ge=1)
    """Sample size."""

    successes: int | None = Field(default=None, ge=0)
    """Number of successes (kind "proportion")."""

    method: Literal["wald", "wilson"] = "wilson"
    """Proportion interval: "wald" p̂ ± z√(p̂(1−p̂)/n) or "wilson" (better near 0 and 1)."""

    confidence: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level, e.g. 0.95."""

    @model_validator(mode="after")
    def _enough(self) -> ConfidenceIntervalIn:
        if self.kind == "proportion":
            if self.successes is None or self.n is None:
                raise ValueError("a proportion interval needs successes and n")
            if self.successes > self.n:
                raise ValueError("successes cannot exceed n")
        elif self.data is None and (
            self.mean is None or self.n is None or (self.sd is None and self.sigma is None)
        ):
            raise ValueError("a mean interval needs data, or mean, n and sd (or sigma)")
        return self


class IntervalOut(ToolModel):
    """A confidence interval."""

    estimate: float
    """Point estimate."""

    lower: float
    """Lower end."""

    upper: float
    """Upper end."""

    confidence: float
    """Confidence level."""

    method: str
    """How the interval was computed."""


def confidence_interval(inp: ConfidenceIntervalIn, limits: ToolLimits) -> IntervalOut:
    """Confidence interval for a mean (t, or z with known σ) or a proportion (Wald or Wilson)."""
    z = float(st.norm.ppf(0.5 + inp.confidence / 2))
    if inp.kind == "proportion":
        assert inp.successes is not None and inp.n is not None
        k, n = inp.successes, inp.n
        p = k / n
        if inp.method == "wald":
            half = z * math.sqrt(p * (1 - p) / n)
            return IntervalOut(
                estimate=p,
                lower=max(0.0, p - half),
                upper=min(1.0, p + half),
                confidence=inp.confidence,
                method="Wald: p̂ ± z·√(p̂(1−p̂)/n)",
            )
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        return IntervalOut(
            estimate=p,
            lower=centre - half,
            upper=centre + half,
            confidence=inp.confidence,
            method="Wilson score interval",
        )
    if inp.data is not None:
        m, s, n = summary(inp.data, None, None, None)
    else:
        assert inp.mean is not None and inp.n is not None
        m, s, n = inp.mean, inp.sd or 0.0, inp.n
    if inp.sigma is not None:
        half = z * inp.sigma / math.sqrt(n)
        method = "z interval with known σ: x̄ ± z·σ/√n"
    else:
        if n < 2:
            raise ToolError("a t interval needs n ≥ 2")
        tq = float(st.t.ppf(0.5 + inp.confidence / 2, n - 1))
        half = tq * s / math.sqrt(n)
        method = f"t interval: x̄ ± t(df={n - 1})·s/√n"
    return IntervalOut(
        estimate=m, lower=m - half, upper=m + half, confidence=inp.confidence, method=method
    )


class BootstrapIn(ToolModel):
    """A sample and a statistic for a bootstrap confidence interval."""

    data: list[FiniteFloat] = Field(min_length=2)
    """The sample."""

    statistic: Literal["mean", "median", "std", "var"] = "mean"
    """Statistic to bootstrap (std/var use the n − 1 denominator)."""

    confidence: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level."""

    n_resamples: int = Field(default=5000, ge=100, le=100_000)
    """Number of bootstrap resamples."""

    method: Literal["percentile", "basic", "BCa"] = "BCa"
    """Interval method (BCa corrects for bias and skew)."""

    seed: int = Field(default=0, ge=0)
    """Random seed for the resampling."""


class BootstrapOut(IntervalOut):
    """A bootstrap confidence interval."""

    standard_error: float
    """Bootstrap estimate of the standard error of the statistic."""


def _mean(x: np.ndarray, axis: int | None) -> Any:
    return np.mean(x, axis=axis)


def _median(x: np.ndarray, axis: int | None) -> Any:
    return np.median(x, axis=axis)


def _std(x: np.ndarray, axis: int | None) -> Any:
    return np.std(x, axis=axis, ddof=1)


def _var(x: np.ndarray, axis: int | None) -> Any:
    return np.var(x, axis=axis, ddof=1)


_STATS: dict[str, Callable[[np.ndarray, int | None], Any]] = {
    "mean": _mean,
    "median": _median,
    "std": _std,
    "var": _var,
}


def bootstrap_ci(inp: BootstrapIn, limits: ToolLimits) -> BootstrapOut:
    """Bootstrap confidence interval (percentile, basic or BCa) for the mean, median, std or var."""
    n = len(inp.data)
    if n * inp.n_resamples > 50_000_000:
        raise LimitExceeded("len(data) × n_resamples is over 50 million; use fewer resamples")
    data = np.array(inp.data, dtype=float)
    fn = _STATS[inp.statistic]
    with warnings.catch_warnings():  # a degenerate sample is reported below, not as a warning
        warnings.simplefilter("ignore")
        res = _bootstrap(inp, data, fn, n)
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ToolError("the bootstrap interval is degenerate (too little variation in the data)")
    return BootstrapOut(
        estimate=float(fn(data, None)),
        lower=lo,
        upper=hi,
        confidence=inp.confidence,
        standard_error=float(res.standard_error),
        method=f"{inp.method} bootstrap, {inp.n_resamples} resamples",
    )


def _bootstrap(
    inp: BootstrapIn, data: np.ndarray, fn: Callable[[np.ndarray, int | None], Any], n: int
) -> Any:
    return st.bootstrap(
        (data,),
        fn,
        confidence_level=inp.confidence,
        n_resamples=inp.n_resamples,
        method=inp.method,
        rng=np.random.default_rng(inp.seed),
        batch=max(1, 2_000_000 // n),
        vectorized=True,
    )


TOOLS = (confidence_interval, bootstrap_ci)
