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
    """A z test: one mean with known σ, one proportion, or two proportions (A/B test)."""

    kind: Literal["mean", "one_proportion", "two_proportions"] = "mean"
    """Which z test: "mean" (known σ), "one_proportion" (vs p0) or "two_proportions" (pooled)."""

    sample_mean: FiniteFloat | None = None
    """Sample mean x̄ (kind "mean")."""

    sigma: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Known population standard deviation σ (kind "mean")."""

    mu0: FiniteFloat = 0.0
    """Mean under H0 (kind "mean")."""

    n: int | None = Field(default=None, ge=1)
    """Sample size (kinds "mean" and "one_proportion")."""

    successes: int | None = Field(default=None, ge=0)
    """Number of successes (kind "one_proportion")."""

    p0: float = Field(default=0.5, gt=0, lt=1)
    """Proportion under H0 (kind "one_proportion")."""

    successes_a: int | None = Field(default=None, ge=0)
    """Successes in group A (kind "two_proportions")."""

    n_a: int | None = Field(default=None, ge=1)
    """Size of group A (kind "two_proportions")."""

    successes_b: int | None = Field(default=None, ge=0)
    """Successes in group B (kind "two_proportions")."""

    n_b: int | None = Field(default=None, ge=1)
    """Size of group B (kind "two_proportions")."""

    alternative: Alternative = "two-sided"
    """H1: "two-sided", "greater" (effect > 0; for two proportions p_B > p_A) or "less"."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level."""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ZTestIn:
        need = {
            "mean": ("sample_mean", "sigma", "n"),
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
    """z test with p-value: one mean with known σ, one proportion, or two proportions (pooled)."""
    norm = st.norm
    if inp.kind == "mean":
        assert inp.sample_mean is not None and inp.sigma is not None and inp.n is not None
        est = inp.sample_mean - inp.mu0
        se = inp.sigma / math.sqrt(inp.n)
        method = "one-sample z test for a mean with known σ: z = (x̄ − μ0)/(σ/√n)"
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


# -- multiple testing -------------------------------------------------------------------------


class MultipleTestingIn(ToolModel):
    """p-values of m tests and the corrections to apply."""

    p_values: list[float] = Field(min_length=1)
    """The p-values, each in [0, 1]."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Family-wise error rate (Bonferroni, Holm) or false discovery rate (BH) to control."""

    methods: list[Literal["bonferroni", "holm", "bh"]] = Field(
        default=["bonferroni", "holm", "bh"], min_length=1, max_length=3
    )
    """Corrections: "bonferroni", "holm" (step-down) and/or "bh" (Benjamini–Hochberg step-up)."""

    @model_validator(mode="after")
    def _probabilities(self) -> MultipleTestingIn:
        bad = [p for p in self.p_values if not 0 <= p <= 1]
        if bad:
            raise ValueError(f"p-values must lie in [0, 1], got {bad[:3]}")
        return self


class CorrectionOut(ToolModel):
    """One correction applied to all p-values."""

    method: str
    """The correction."""

    adjusted_p_values: list[float]
    """Adjusted p-values in the input order; reject where adjusted ≤ alpha."""

    reject: list[bool]
    """Whether each hypothesis is rejected, in the input order."""

    n_rejected: int
    """How many hypotheses are rejected."""

    rule: str
    """The rule applied, in words."""


class MultipleTestingOut(ToolModel):
    """Results of each requested correction."""

    m: int
    """Number of tests."""

    results: list[CorrectionOut]
    """One entry per method, in the requested order."""


def _bonferroni(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(1.0, p * len(p)), dtype=float)


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adj_sorted
    return out


_RULES = {
    "bonferroni": (_bonferroni, "reject H_i if p_i ≤ α/m"),
    "holm": (_holm, "sort p ascending; reject while p_(i) ≤ α/(m − i + 1); stop at the first miss"),
    "bh": (_bh, "sort p ascending; k = largest i with p_(i) ≤ i·α/m; reject the k smallest"),
}


def multiple_testing(inp: MultipleTestingIn, limits: ToolLimits) -> MultipleTestingOut:
    """Bonferroni, Holm and Benjamini–Hochberg corrections of a list of p-values."""
    p = np.array(inp.p_values, dtype=float)
    results = []
    for method in dict.fromkeys(inp.methods):
        fn, rule = _RULES[method]
        adj = fn(p)
        reject = [bool(a <= inp.alpha) for a in adj]
        results.append(
            CorrectionOut(
                method=method,
                adjusted_p_values=adj.tolist(),
                reject=reject,
                n_rejected=sum(reject),
                rule=rule,
            )
        )
    return MultipleTestingOut(m=len(p), results=results)


TOOLS = (z_test, t_test, multiple_testing)
