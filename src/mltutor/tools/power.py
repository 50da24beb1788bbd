"""Power and sample size of t and z tests on means (SciPy), with Cohen's d.

The t test follows R's ``pwr.t.test`` (noncentral t, both tails when two-sided); the z test the
normal formula. A/B tests on rates are in :mod:`mltutor.tools.abtest`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from pydantic import Field, FiniteFloat, model_validator
from scipy import optimize
from scipy import stats as st

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel

MAX_N = 1e9
"""Largest group size searched for; needing more means the effect is too small to detect."""

# -- t and z tests on means ------------------------------------------------------------------------


class PowerMeansIn(ToolModel):
    """A t or z test on means: give two of sample size, power and effect size; the third is
    solved for."""

    test: Literal["t", "z"] = "t"
    """"t": σ estimated from the data (Student t, as R pwr.t.test); "z": σ known (normal)."""

    samples: Literal["two", "one"] = "two"
    """"two": two independent groups, d = (μ₁ − μ₂)/σ; "one": one sample or paired differences,
    d = (μ − μ₀)/σ."""

    effect_size: FiniteFloat | None = None
    """Cohen's d, e.g. 0.2 small, 0.5 medium, 0.8 large (negative for a decrease). Or give
    difference and sd. Leave all out to solve for d."""

    difference: FiniteFloat | None = None
    """Raw difference of means to detect (with sd), instead of effect_size."""

    sd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Standard deviation σ of one observation (with difference)."""

    n: float | None = Field(default=None, ge=2, le=MAX_N)
    """Size of the first group (the only group for one sample). Leave out to solve for it."""

    ratio: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False)
    """Second group size ÷ first group size (two samples)."""

    power: float | None = Field(default=None, gt=0, lt=1)
    """Probability of rejecting H0 when the effect is real (1 − β). Leave out to solve for it."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level."""

    alternative: Literal["two-sided", "greater", "less"] = "two-sided"
    """H1: "two-sided", "greater" (d > 0) or "less" (d < 0)."""

    @model_validator(mode="after")
    def _one_unknown(self) -> PowerMeansIn:
        if (self.difference is None) != (self.sd is None):
            raise ValueError("give difference and sd together (or effect_size instead)")
        if self.difference is not None and self.effect_size is not None:
            raise ValueError("give effect_size, or difference and sd, not both")
        known = [self.n is not None, self.power is not None, self.d is not None]
        if known.count(False) != 1:
            raise ValueError(
                "give exactly two of n, power and effect_size (or difference and sd); "
                "the third is solved for"
            )
        return self

    @property
    def d(self) -> float | None:
        """Cohen's d from effect_size or difference/sd."""
        if self.effect_size is not None:
            return self.effect_size
        if self.difference is not None and self.sd is not None:
            return self.difference / self.sd
        return None


class PowerMeansOut(ToolModel):
    """Sample size, power and effect size of a t or z test on means (one of them solved for)."""

    solved_for: Literal["n", "power", "effect_size"]
    """Which quantity was computed from the other two."""

    n: float
    """Size of the first group (exact, not rounded)."""

    n_rounded: int
    """The first group's size rounded up."""

    n_second: int | None
    """The second group's size, ratio × n rounded up (two samples only)."""

    total: int
    """All observations (rounded sizes)."""

    power: float
    """Power at size n."""

    power_at_rounded_n: float
    """Power with the rounded group sizes."""

    effect_size: float
    """Cohen's d."""

    df: float | None
    """Degrees of freedom of the t test (None for z)."""

    critical_value: float
    """Rejection threshold of the statistic (upper; the lower one is its negative)."""

    method: str
    """The test and the power formula, in words."""


def _power_means(inp: PowerMeansIn, d: float, n1: float) -> tuple[float, float | None, float]:
    """(power, df, critical value) at effect d and first-group size n1."""
    if inp.samples == "two":
        n2 = inp.ratio * n1
        scale, df = math.sqrt(n1 * n2 / (n1 + n2)), n1 + n2 - 2
    else:
        scale, df = math.sqrt(n1), n1 - 1
    ncp = d * scale
    two = inp.alternative == "two-sided"
    level = 1 - inp.alpha / 2 if two else 1 - inp.alpha
    if inp.test == "z":
        crit = float(st.norm.ppf(level))
        upper, lower = float(st.norm.sf(crit - ncp)), float(st.norm.sf(crit + ncp))
        dof: float | None = None
    else:
        crit = float(st.t.ppf(level, df))
        # P(T < −c; ncp) as P(T > c; −ncp): SciPy's cdf returns NaN in the far tail, sf does not
        upper, lower = float(st.nct.sf(crit, df, ncp)), float(st.nct.sf(crit, df, -ncp))
        dof = df
    power = upper + lower if two else upper if inp.alternative == "greater" else lower
    if not math.isfinite(power):
        raise ToolError("the power is not computable for these values; use a smaller effect or n")
    return min(1.0, power), dof, crit


def _root(f: Callable[[float], float], lo: float, hi: float, what: str) -> float:
    if f(lo) >= 0:
        return lo
    if f(hi) < 0:
        raise ToolError(what)
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=200))


def power_means(inp: PowerMeansIn, limits: ToolLimits) -> PowerMeansOut:
    """Power or sample size of a t or z test on means (two groups or one/paired), with Cohen's d:
    give two of n, power and effect size, get the third."""
    if inp.alternative == "less" and inp.d is not None and inp.d > 0:
        raise ToolError('with alternative "less" the effect must be negative (a decrease)')
    if inp.alternative == "greater" and inp.d is not None and inp.d < 0:
        raise ToolError('with alternative "greater" the effect must be positive (an increase)')
    sign = -1.0 if inp.alternative == "less" else 1.0
    if inp.n is None:
        assert inp.d is not None and inp.power is not None
        d, target = inp.d, inp.power
        if d == 0:
            raise ToolError("an effect of 0 cannot be detected; give a nonzero effect size")
        n = _root(
            lambda m: _power_means(inp, d, m)[0] - target,
            2.0,
            MAX_N,
            f"the effect d = {d:g} is too small to reach power {target:g} with under "
            f"{MAX_N:.0e} per group",
        )
        solved: Literal["n", "power", "effect_size"] = "n"
    elif inp.d is None:
        assert inp.power is not None
        n, target = inp.n, inp.power
        hi = 1.0
        while _power_means(inp, sign * hi, n)[0] < target and hi < 64:
            hi *= 2
        magnitude = _root(
            lambda a: _power_means(inp, sign * a, n)[0] - target,
            1e-9,
            hi,
            f"no effect size up to d = {hi:g} reaches power {target:g} with n = {n:g}",
        )
        d, solved = sign * magnitude, "effect_size"
    else:
        n, d, solved = inp.n, inp.d, "power"
    power, df, crit = _power_means(inp, d, n)
    n_rounded = math.ceil(n - 1e-9)
    n_second = math.ceil(inp.ratio * n - 1e-9) if inp.samples == "two" else None
    rounded_power = _power_means(inp, d, float(n_rounded))[0]
    if inp.samples == "two" and n_second is not None:
        rounded_power = _power_means(
            inp.model_copy(update={"ratio": n_second / n_rounded}), d, float(n_rounded)
        )[0]
    groups = "two-sample" if inp.samples == "two" else "one-sample (or paired)"
    formula = (
        "power = P(|T| > t_crit) with T noncentral t(df, ncp = d·√(n₁n₂/(n₁+n₂)))"
        if inp.test == "t"
        else "power = Φ(d·√(n₁n₂/(n₁+n₂)) − z_crit) (+ the other tail when two-sided)"
    )
    if inp.samples == "one":
        formula = formula.replace("√(n₁n₂/(n₁+n₂))", "√n")
    return PowerMeansOut(
        solved_for=solved,
        n=n,
        n_rounded=n_rounded,
        n_second=n_second,
        total=n_rounded + (n_second or 0),
        power=power,
        power_at_rounded_n=rounded_power,
        effect_size=d,
        df=df,
        critical_value=crit,
        method=f"{groups} {inp.test} test, {inp.alternative}: {formula}",
    )


TOOLS = (power_means,)
