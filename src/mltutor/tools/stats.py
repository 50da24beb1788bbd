"""Hypothesis-testing tools (SciPy): z and t tests with p-values, multiple-testing corrections.

Inputs accept either raw data or summary statistics, as interview questions pose them.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import Field, FiniteFloat, model_validator
from scipy import stats as st

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel

Alternative = Literal["two-sided", "greater", "less"]


def _p_value(stat: float, alternative: str, dist: st.rv_continuous | st.rv_frozen) -> float:
    if alternative == "greater":
        return float(dist.sf(stat))
    if alternative == "less":
        return float(dist.cdf(stat))
    return float(min(1.0, 2 * dist.sf(abs(stat))))


def _critical(alpha: float, alternative: str, dist: st.rv_continuous | st.rv_frozen) -> float:
    return float(dist.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha))


class TestOut(ToolModel):
    """Result of a hypothesis test."""

    statistic: float
    """The test statistic (z or t)."""

    df: float | None
    """Degrees of freedom (t tests only)."""

    p_value: float
    """P(statistic at least this extreme in the alternative's direction | H0)."""

    alpha: float
    """Significance level used for the decision."""

    critical_value: float
    """|statistic| must exceed this (in the alternative's direction) to reject H0."""

    reject_null: bool
    """Whether p_value < alpha."""

    estimate: float
    """The estimated effect (mean, difference of means or of proportions)."""

    standard_error: float
    """Standard error of the estimate used in the statistic."""

    method: str
    """Which test was run, in words."""


# -- z test -----------------------------------------------------------------------------------


class ZTestIn(ToolModel):
    """A z test: one mean or two means with known σ, one proportion, or two proportions (A/B)."""

    kind: Literal["mean", "two_means", "one_proportion", "two_proportions"] = "mean"
    """Which z test: "mean" (known σ), "two_means" (two independent samples, known σ_a and σ_b),
    "one_proportion" (vs p0) or "two_proportions" (pooled)."""

    sample_mean: FiniteFloat | None = None
    """Sample mean x̄ (kind "mean")."""

    sigma: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Known population standard deviation σ (kind "mean")."""

    mu0: FiniteFloat = 0.0
    """Mean under H0 (kind "mean"), or the difference of means mean_a − mean_b under H0 (kind
    "two_means")."""

    mean_a: FiniteFloat | None = None
    """Sample mean of group A (kind "two_means")."""

    sigma_a: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Known standard deviation of group A (kind "two_means")."""

    mean_b: FiniteFloat | None = None
    """Sample mean of group B (kind "two_means")."""

    sigma_b: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Known standard deviation of group B (kind "two_means")."""

    n: int | None = Field(default=None, ge=1)
    """Sample size (kinds "mean" and "one_proportion")."""

    successes: int | None = Field(default=None, ge=0)
    """Number of successes (kind "one_proportion")."""

    p0: float = Field(default=0.5, gt=0, lt=1)
    """Proportion under H0 (kind "one_proportion")."""

    successes_a: int | None = Field(default=None, ge=0)
    """Successes in group A (kind "two_proportions")."""

    n_a: int | None = Field(default=None, ge=1)
    """Size of group A (kinds "two_means" and "two_proportions")."""

    successes_b: int | None = Field(default=None, ge=0)
    """Successes in group B (kind "two_proportions")."""

    n_b: int | None = Field(default=None, ge=1)
    """Size of group B (kinds "two_means" and "two_proportions")."""

    alternative: Alternative = "two-sided"
    """H1: "two-sided", "greater" (effect > 0: the mean above mu0; for two means mean_a − mean_b
    > mu0; for two proportions p_B > p_A) or "less"."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level."""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ZTestIn:
        need = {
            "mean": ("sample_mean", "sigma", "n"),
            "two_means": ("mean_a", "sigma_a", "n_a", "mean_b", "sigma_b", "n_b"),
            "one_proportion": ("successes", "n"),
            "two_proportions": ("successes_a", "n_a", "successes_b", "n_b"),
        }[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"kind {self.kind!r} needs {', '.join(missing)}")
        if (
            self.kind == "one_proportion"
            and self.successes is not None
            and self.n is not None
            and self.successes > self.n
        ):
            raise ValueError("successes cannot exceed n")
        too_many = (self.successes_a or 0) > (self.n_a or 0) or (
            (self.successes_b or 0) > (self.n_b or 0)
        )
        if self.kind == "two_proportions" and too_many:
            raise ValueError("successes cannot exceed the group size")
        return self


def z_test(inp: ZTestIn, limits: ToolLimits) -> TestOut:
    """z test with p-value: one or two means with known σ, one proportion, or two proportions
    (pooled)."""
    norm = st.norm
    if inp.kind == "mean":
        assert inp.sample_mean is not None and inp.sigma is not None and inp.n is not None
        est = inp.sample_mean - inp.mu0
        se = inp.sigma / math.sqrt(inp.n)
        method = "one-sample z test for a mean with known σ: z = (x̄ − μ0)/(σ/√n)"
    elif inp.kind == "two_means":
        assert inp.mean_a is not None and inp.sigma_a is not None and inp.n_a is not None
        assert inp.mean_b is not None and inp.sigma_b is not None and inp.n_b is not None
        est = inp.mean_a - inp.mean_b - inp.mu0
        se = math.sqrt(inp.sigma_a**2 / inp.n_a + inp.sigma_b**2 / inp.n_b)
        method = "two-sample z test with known σ: z = (x̄_a − x̄_b − δ0)/√(σ_a²/n_a + σ_b²/n_b)"
    elif inp.kind == "one_proportion":
        assert inp.successes is not None and inp.n is not None
        est = inp.successes / inp.n - inp.p0
        se = math.sqrt(inp.p0 * (1 - inp.p0) / inp.n)
        method = "one-proportion z test: z = (p̂ − p0)/√(p0(1−p0)/n)"
    else:
        assert inp.successes_a is not None and inp.n_a is not None
        assert inp.successes_b is not None and inp.n_b is not None
        pa, pb = inp.successes_a / inp.n_a, inp.successes_b / inp.n_b
        pooled = (inp.successes_a + inp.successes_b) / (inp.n_a + inp.n_b)
        est = pb - pa
        se = math.sqrt(pooled * (1 - pooled) * (1 / inp.n_a + 1 / inp.n_b))
        method = "two-proportion z test (pooled): z = (p̂_B − p̂_A)/√(p̂(1−p̂)(1/n_A + 1/n_B))"
    if se == 0:
        raise ToolError("the standard error is zero (all outcomes identical), so z is undefined")
    return _test_out(est, se, norm, None, inp.alternative, inp.alpha, method)


def _test_out(
    est: float, se: float, dist: Any, df: float | None, alternative: str, alpha: float, method: str
) -> TestOut:
    """Statistic, p-value and decision of a z or t test from its estimate and standard error."""
    stat = est / se
    p = _p_value(stat, alternative, dist)
    return TestOut(
        statistic=stat,
        df=df,
        p_value=p,
        alpha=alpha,
        critical_value=_critical(alpha, alternative, dist),
        reject_null=p < alpha,
        estimate=est,
        standard_error=se,
        method=method,
    )


# -- t test -----------------------------------------------------------------------------------


class TTestIn(ToolModel):
    """A t test from raw samples or from summary statistics (mean, sd, n)."""

    kind: Literal["one_sample", "welch", "pooled", "paired"] = "one_sample"
    """"one_sample" (vs mu0), "welch" (two samples, unequal variances), "pooled" (two samples,
    equal variances) or "paired" (differences a − b)."""

    a: list[FiniteFloat] | None = Field(default=None, min_length=2)
    """First sample (raw data)."""

    b: list[FiniteFloat] | None = Field(default=None, min_length=2)
    """Second sample (raw data; two-sample and paired tests)."""

    mean_a: FiniteFloat | None = None
    """Mean of the first sample, instead of raw data."""

    sd_a: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Sample standard deviation (n − 1 denominator) of the first sample."""

    n_a: int | None = Field(default=None, ge=2)
    """Size of the first sample."""

    mean_b: FiniteFloat | None = None
    """Mean of the second sample."""

    sd_b: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Sample standard deviation of the second sample."""

    n_b: int | None = Field(default=None, ge=2)
    """Size of the second sample."""

    mu0: FiniteFloat = 0.0
    """Mean (or mean difference) under H0."""

    alternative: Alternative = "two-sided"
    """H1: "two-sided", "greater" (mean of a − b or of a exceeds mu0) or "less"."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level."""

    @model_validator(mode="after")
    def _data_or_summary(self) -> TTestIn:
        two = self.kind != "one_sample"
        if self.kind == "paired":
            if self.a is None or self.b is None or len(self.a) != len(self.b):
                raise ValueError("a paired test needs raw samples a and b of equal length")
            return self
        for side in ("a", "b") if two else ("a",):
            if getattr(self, side) is None and None in (
                getattr(self, f"mean_{side}"),
                getattr(self, f"sd_{side}"),
                getattr(self, f"n_{side}"),
            ):
                raise ValueError(f"give sample {side} or all of mean_{side}, sd_{side}, n_{side}")
        return self


def summary(
    data: list[float] | None, mean: float | None, sd: float | None, n: int | None
) -> tuple[float, float, int]:
    """(mean, sample sd with n − 1, n) from raw data, or the given summaries."""
    if data is not None:
        arr = np.array(data, dtype=float)
        return float(arr.mean()), float(arr.std(ddof=1)), len(arr)
    assert mean is not None and sd is not None and n is not None
    return mean, sd, n


def t_test(inp: TTestIn, limits: ToolLimits) -> TestOut:
    """t test with p-value: one-sample, Welch, pooled two-sample or paired; data or summaries."""
    if inp.kind == "paired":
        assert inp.a is not None and inp.b is not None
        diffs = [x - y for x, y in zip(inp.a, inp.b, strict=True)]
        m, s, n = summary(diffs, None, None, None)
        est, se, df = m - inp.mu0, s / math.sqrt(n), n - 1.0
        method = "paired t test on d = a − b: t = (d̄ − μ0)/(s_d/√n), df = n − 1"
    else:
        ma, sa, na = summary(inp.a, inp.mean_a, inp.sd_a, inp.n_a)
        if inp.kind == "one_sample":
            est, se, df = ma - inp.mu0, sa / math.sqrt(na), na - 1.0
            method = "one-sample t test: t = (x̄ − μ0)/(s/√n), df = n − 1"
        else:
            mb, sb, nb = summary(inp.b, inp.mean_b, inp.sd_b, inp.n_b)
            est = ma - mb - inp.mu0
            if inp.kind == "pooled":
                sp2 = ((na - 1) * sa**2 + (nb - 1) * sb**2) / (na + nb - 2)
                se, df = math.sqrt(sp2 * (1 / na + 1 / nb)), float(na + nb - 2)
                method = "pooled two-sample t test (equal variances), df = n_a + n_b − 2"
            else:
                va, vb = sa**2 / na, sb**2 / nb
                se = math.sqrt(va + vb)
                df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else 1.0
                method = "Welch two-sample t test (unequal variances), Welch–Satterthwaite df"
    if se == 0:
        raise ToolError("the standard error is zero (no variation in the data), so t is undefined")
    return _test_out(est, se, st.t(df), df, inp.alternative, inp.alpha, method)


TOOLS = (z_test, t_test)
