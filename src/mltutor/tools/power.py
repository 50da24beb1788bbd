"""Sample size and power (SciPy): A/B tests on conversion rates, t and z tests on means.

The A/B formula is the standard one of R's ``power.prop.test``, statsmodels and Stata (pooled variance
under H0, each group's own variance under H1); the textbook shortcut ``2p(1−p)`` is reported beside
it. The tests on means follow R's ``pwr.t.test`` (noncentral t) and the normal formula for a z test.
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

AGREEMENT = 0.05
"""Relative difference below which the textbook shortcut is said to agree with the standard answer."""

MAX_N = 1e9
"""Largest group size searched for; needing more means the effect is too small to detect."""

# -- A/B test on conversion rates --------------------------------------------------------------


class ABSampleSizeIn(ToolModel):
    """Design parameters of an A/B test on a conversion rate."""

    baseline_rate: float = Field(gt=0, lt=1)
    """Conversion rate p₁ of the control group, e.g. 0.10."""

    minimum_detectable_effect: FiniteFloat | None = None
    """Smallest change to detect: absolute (0.02 = 10% → 12%; −0.02 = 10% → 8%) unless relative is
    true. Give this or target_rate."""

    target_rate: float | None = Field(default=None, gt=0, lt=1)
    """The treatment group's rate p₂ to detect, e.g. 0.12 (instead of minimum_detectable_effect)."""

    relative: bool = False
    """Treat the effect as relative to the baseline (0.2 = 10% → 12%; −0.2 = 10% → 8%)."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level (false-positive rate)."""

    power: float = Field(default=0.8, gt=0, lt=1)
    """Probability of detecting the effect if it is real (1 − β)."""

    two_sided: bool = True
    """Two-sided test (z_{α/2}) or one-sided in the direction of the effect (z_α)."""

    ratio: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False)
    """Treatment group size ÷ control group size: 1 for equal groups, 2 for twice as many users
    in treatment."""

    @model_validator(mode="after")
    def _one_effect(self) -> ABSampleSizeIn:
        if (self.minimum_detectable_effect is None) == (self.target_rate is None):
            raise ValueError("give exactly one of minimum_detectable_effect and target_rate")
        if self.minimum_detectable_effect == 0 or self.target_rate == self.baseline_rate:
            raise ValueError("the effect to detect must not be zero")
        return self


class ABSampleSizeOut(ToolModel):
    """Required sample size for an A/B test, by the standard formula and by the textbook shortcut."""

    n_per_group: int
    """Users needed in the control group (in each group when ratio is 1), rounded up: the answer."""

    n_control: int
    """Users needed in the control group (rounded up)."""

    n_treatment: int
    """Users needed in the treatment group (ratio × the control group, rounded up)."""

    total: int
    """Users needed in both groups together."""

    n_exact: float
    """Control-group size before rounding up."""

    achieved_power: float
    """Power of the test with the rounded group sizes (both tails when two-sided)."""

    baseline_rate: float
    """p₁, the control rate."""

    treatment_rate: float
    """p₂ = p₁ + δ, the rate to detect."""

    delta: float
    """Absolute difference p₂ − p₁ (negative for a decrease)."""

    z_alpha: float
    """Normal quantile for the significance level (z_{α/2} when two-sided)."""

    z_beta: float
    """Normal quantile for the power."""

    formula: str
    """The standard formula with the numbers filled in."""

    textbook_n_per_group: int
    """The textbook shortcut n = (z_α + z_β)²·p₁(1−p₁)(1 + 1/ratio)/δ² (= 2p(1−p) for equal
    groups), rounded up, for the control group."""

    textbook_formula: str
    """The shortcut with the numbers filled in."""

    agreement: str
    """Whether the shortcut agrees with the standard answer, and if not, why."""


def _ab_power(p1: float, p2: float, n1: float, ratio: float, z_alpha: float, two: bool) -> float:
    n2 = ratio * n1
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    sd0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    sd1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = abs(p2 - p1)
    power = float(st.norm.cdf((d - z_alpha * sd0) / sd1))
    if two:
        power += float(st.norm.cdf((-d - z_alpha * sd0) / sd1))
    return power


def _treatment_rate(inp: ABSampleSizeIn) -> float:
    p1 = inp.baseline_rate
    if inp.target_rate is not None:
        return inp.target_rate
    assert inp.minimum_detectable_effect is not None
    p2 = p1 + inp.minimum_detectable_effect * (p1 if inp.relative else 1.0)
    if not 0 < p2 < 1:
        raise ToolError(
            f"baseline {p1:g} with effect {inp.minimum_detectable_effect:g}"
            f"{' (relative)' if inp.relative else ''} gives a rate of {p2:g}, not between 0 and 1"
        )
    return p2


def _agreement(n: float, textbook: float, p1: float, p2: float, pbar: float) -> str:
    rel = textbook / n - 1
    if abs(rel) <= AGREEMENT:
        return (
            f"the textbook shortcut agrees within {abs(rel):.0%}: the two groups' variances "
            f"p(1−p) are close ({p1 * (1 - p1):.4g} and {p2 * (1 - p2):.4g})"
        )
    direction = "too small" if rel < 0 else "too large"
    return (
        f"the textbook shortcut is {abs(rel):.0%} {direction}: it uses the baseline variance "
        f"p₁(1−p₁) = {p1 * (1 - p1):.4g} for both groups, but the treatment group's variance is "
        f"p₂(1−p₂) = {p2 * (1 - p2):.4g}, and under H0 the pooled rate p̄ = {pbar:.4g} applies. "
        "Use the standard answer; the shortcut is safe only when the rates are close and neither "
        "is near 0 or 1"
    )


def ab_sample_size(inp: ABSampleSizeIn, limits: ToolLimits) -> ABSampleSizeOut:
    """Sample size of an A/B test on a conversion rate (increase or decrease, one- or two-sided,
    equal or unequal groups), by the standard formula, with the textbook shortcut beside it.

    Standard (R power.prop.test, statsmodels, Stata): n₁ = (z_α·√(p̄(1−p̄)(1 + 1/r)) +
    z_β·√(p₁(1−p₁) + p₂(1−p₂)/r))² / δ², with p̄ = (p₁ + r·p₂)/(1 + r) and r = n₂/n₁.
    """
    p1, r = inp.baseline_rate, inp.ratio
    p2 = _treatment_rate(inp)
    delta = p2 - p1
    za = float(st.norm.ppf(1 - inp.alpha / 2 if inp.two_sided else 1 - inp.alpha))
    zb = float(st.norm.ppf(inp.power))
    pbar = (p1 + r * p2) / (1 + r)
    sd0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / r))
    sd1 = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / r)
    if delta == 0:  # an effect below the rounding of p₁
        raise ToolError(f"the effect is too small to detect: {p1:g} + effect rounds to {p1:g}")
    root_n = (za * sd0 + zb * sd1) / abs(delta)
    root_textbook = (za + zb) * math.sqrt(p1 * (1 - p1) * (1 + 1 / r)) / abs(delta)
    if not max(root_n, root_textbook) <= math.sqrt(MAX_N):  # also catches inf and NaN
        raise ToolError(
            f"the effect {delta:g} is too small to detect with under {MAX_N:.0e} users per group"
        )
    n, textbook = root_n**2, root_textbook**2
    n_control = max(1, math.ceil(n - 1e-9))
    n_treatment = max(1, math.ceil(r * n - 1e-9))
    za_name = "z_{α/2}" if inp.two_sided else "z_α"
    return ABSampleSizeOut(
        n_per_group=n_control,
        n_control=n_control,
        n_treatment=n_treatment,
        total=n_control + n_treatment,
        n_exact=n,
        achieved_power=min(
            1.0, _ab_power(p1, p2, n_control, n_treatment / n_control, za, inp.two_sided)
        ),
        baseline_rate=p1,
        treatment_rate=p2,
        delta=delta,
        z_alpha=za,
        z_beta=zb,
        formula=(
            f"n₁ = ({za_name}·√(p̄(1−p̄)(1 + 1/r)) + z_β·√(p₁(1−p₁) + p₂(1−p₂)/r))² / δ² with "
            f"p₁ = {p1:g}, p₂ = {p2:g}, r = {r:g}, p̄ = {pbar:.4g}: "
            f"({za:.4f}·{sd0:.4f} + {zb:.4f}·{sd1:.4f})² / {abs(delta):g}² = {n:.2f}"
        ),
        textbook_n_per_group=max(1, math.ceil(textbook - 1e-9)),
        textbook_formula=(
            f"n = ({za_name} + z_β)²·p₁(1−p₁)(1 + 1/r)/δ² = ({za:.4f} + {zb:.4f})²·{p1:g}·"
            f"{1 - p1:g}·{1 + 1 / r:g} / {abs(delta):g}² = {textbook:.2f}"
        ),
        agreement=_agreement(n, textbook, p1, p2, pbar),
    )


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


TOOLS = (ab_sample_size, power_means)
