"""A/B tests on conversion rates (SciPy): sample size, power or minimum detectable effect.

The answer is the standard formula of R's ``power.prop.test``, statsmodels and Stata: the pooled rate
p̄ under H0 and each group's own variance under H1. The textbook shortcut, which uses the baseline's
variance 2p(1−p) for everything, is reported beside it with a sentence on when and why they differ.
"""

from __future__ import annotations

import math
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
"""Largest group size considered; needing more means the effect is too small to detect."""

Solved = Literal["n", "power", "effect"]


class ABSampleSizeIn(ToolModel):
    """An A/B test on a conversion rate: give two of effect, group size and power."""

    baseline_rate: float = Field(gt=0, lt=1)
    """Conversion rate p₁ of the control group, e.g. 0.10."""

    minimum_detectable_effect: FiniteFloat | None = None
    """Change to detect: absolute (0.02 = 10% → 12%; −0.02 = 10% → 8%) unless relative is true.
    Give this or target_rate; leave both out (and give n_control) to solve for the effect."""

    target_rate: float | None = Field(default=None, gt=0, lt=1)
    """The treatment group's rate p₂ to detect, e.g. 0.12 (instead of minimum_detectable_effect)."""

    relative: bool = False
    """Treat the effect as relative to the baseline (0.2 = 10% → 12%; −0.2 = 10% → 8%)."""

    n_control: float | None = Field(default=None, ge=2, le=MAX_N)
    """Users in the control group, when known: with an effect, the power is computed; with a
    power, the minimum detectable effect."""

    power: float = Field(default=0.8, gt=0, lt=1)
    """Probability of detecting the effect if it is real (1 − β); computed when n_control and an
    effect are given."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level (false-positive rate)."""

    two_sided: bool = True
    """Two-sided test (z_{α/2}) or one-sided in the direction of the effect (z_α)."""

    ratio: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False)
    """Treatment group size ÷ control group size: 1 for equal groups, 2 for twice as many users
    in treatment."""

    decrease: bool = False
    """When solving for the effect: the smallest detectable decrease instead of increase."""

    @model_validator(mode="after")
    def _two_of_three(self) -> ABSampleSizeIn:
        if self.minimum_detectable_effect is not None and self.target_rate is not None:
            raise ValueError("give minimum_detectable_effect or target_rate, not both")
        effect = self.minimum_detectable_effect is not None or self.target_rate is not None
        if not effect and self.n_control is None:
            raise ValueError(
                "give the effect (minimum_detectable_effect or target_rate), or n_control to "
                "solve for the smallest detectable effect"
            )
        if effect and self.n_control is not None and "power" in self.model_fields_set:
            raise ValueError("give two of effect, n_control and power; the third is computed")
        if self.minimum_detectable_effect == 0 or self.target_rate == self.baseline_rate:
            raise ValueError("the effect to detect must not be zero")
        return self


class ABSampleSizeOut(ToolModel):
    """Sample size, power and effect of an A/B test, by the standard formula and by the shortcut."""

    solved_for: Solved
    """What was computed: the group size "n", the "power" or the detectable "effect"."""

    n_per_group: int
    """Users in the control group (in each group when ratio is 1), rounded up: the answer when
    solving for n."""

    n_control: int
    """Users in the control group (rounded up)."""

    n_treatment: int
    """Users in the treatment group (ratio × the control group, rounded up)."""

    total: int
    """Users in both groups together."""

    n_exact: float
    """Control-group size before rounding up."""

    power: float
    """Power at n_exact: the given one, or the computed one (both tails when two-sided)."""

    achieved_power: float
    """Power with the rounded group sizes."""

    baseline_rate: float
    """p₁, the control rate."""

    treatment_rate: float
    """p₂ = p₁ + δ, the rate to detect (computed when solving for the effect)."""

    delta: float
    """Absolute difference p₂ − p₁ (negative for a decrease)."""

    z_alpha: float
    """Normal quantile for the significance level (z_{α/2} when two-sided)."""

    z_beta: float | None
    """Normal quantile for the power (None when the power rounds to 1)."""

    formula: str
    """The standard formula with the numbers filled in."""

    textbook_n_per_group: int | None
    """The textbook shortcut n = (z_α + z_β)²·p₁(1−p₁)(1 + 1/ratio)/δ² (= 2p(1−p) for equal
    groups), rounded up (when solving for n)."""

    textbook_power: float | None
    """The shortcut's power at this n (when solving for the power)."""

    textbook_treatment_rate: float | None
    """The shortcut's detectable rate at this n (when solving for the effect)."""

    textbook_formula: str
    """The shortcut with the numbers filled in."""

    agreement: str
    """Whether the shortcut agrees with the standard answer, and if not, why."""


def _sds(p1: float, p2: float, r: float) -> tuple[float, float, float]:
    """(p̄, sd under H0, sd under H1) of √n₁·(p̂₂ − p̂₁), with n₂ = r·n₁."""
    pbar = (p1 + r * p2) / (1 + r)
    return (
        pbar,
        math.sqrt(pbar * (1 - pbar) * (1 + 1 / r)),
        math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / r),
    )


def _power(p1: float, p2: float, n1: float, r: float, z_alpha: float, two: bool) -> float:
    _, sd0, sd1 = _sds(p1, p2, r)
    d = abs(p2 - p1) * math.sqrt(n1)
    power = float(st.norm.cdf((d - z_alpha * sd0) / sd1))
    if two:
        power += float(st.norm.cdf((-d - z_alpha * sd0) / sd1))
    return min(1.0, power)


def _textbook_sd(p1: float, r: float) -> float:
    return math.sqrt(p1 * (1 - p1) * (1 + 1 / r))


def _treatment_rate(inp: ABSampleSizeIn) -> float | None:
    p1 = inp.baseline_rate
    if inp.target_rate is not None:
        return inp.target_rate
    if inp.minimum_detectable_effect is None:
        return None
    p2 = p1 + inp.minimum_detectable_effect * (p1 if inp.relative else 1.0)
    if not 0 < p2 < 1:
        raise ToolError(
            f"baseline {p1:g} with effect {inp.minimum_detectable_effect:g}"
            f"{' (relative)' if inp.relative else ''} gives a rate of {p2:g}, not between 0 and 1"
        )
    if p2 == p1:
        raise ToolError(f"the effect is too small to detect: {p1:g} + effect rounds to {p1:g}")
    return p2


def _solve_rate(inp: ABSampleSizeIn, n: float, za: float) -> float:
    """The rate p₂ (above or below p₁) that the test detects with the given power at n."""
    p1 = inp.baseline_rate
    edge = 1 - 1e-12 if not inp.decrease else 1e-12

    def gap(p2: float) -> float:
        return _power(p1, p2, n, inp.ratio, za, inp.two_sided) - inp.power

    if gap(edge) < 0:
        direction = "decrease" if inp.decrease else "increase"
        raise ToolError(f"no {direction} from {p1:g} reaches power {inp.power:g} with n = {n:g}")
    near = p1 + (1e-12 if not inp.decrease else -1e-12)
    return float(optimize.brentq(gap, near, edge, xtol=1e-14, rtol=1e-12, maxiter=200))


def _agreement(
    solved: Solved, standard: float, textbook: float, p1: float, p2: float, pbar: float
) -> str:
    rel = textbook / standard - 1
    what = {"n": "size", "power": "power", "effect": "detectable difference"}[solved]
    if abs(rel) <= AGREEMENT:
        return (
            f"the textbook shortcut's {what} agrees within {abs(rel):.0%}: the two groups' "
            f"variances p(1−p) are close ({p1 * (1 - p1):.4g} and {p2 * (1 - p2):.4g})"
        )
    direction = "too small" if rel < 0 else "too large"
    return (
        f"the textbook shortcut's {what} is {abs(rel):.0%} {direction}: it uses the baseline "
        f"variance p₁(1−p₁) = {p1 * (1 - p1):.4g} for both groups, but the treatment group's "
        f"variance is p₂(1−p₂) = {p2 * (1 - p2):.4g}, and under H0 the pooled rate "
        f"p̄ = {pbar:.4g} applies. Use the standard answer; the shortcut is safe only when the "
        "rates are close and neither is near 0 or 1"
    )


def ab_sample_size(inp: ABSampleSizeIn, limits: ToolLimits) -> ABSampleSizeOut:
    """Sample size, power or minimum detectable effect of an A/B test on a conversion rate (increase
    or decrease, one- or two-sided, equal or unequal groups), by the standard formula (R
    power.prop.test, Stata), with the textbook shortcut beside it.

    Standard: n₁ = (z_α·√(p̄(1−p̄)(1 + 1/r)) + z_β·√(p₁(1−p₁) + p₂(1−p₂)/r))² / δ², with
    p̄ = (p₁ + r·p₂)/(1 + r) and r = n₂/n₁.
    """
    p1, r = inp.baseline_rate, inp.ratio
    za = float(st.norm.ppf(1 - inp.alpha / 2 if inp.two_sided else 1 - inp.alpha))
    zb = float(st.norm.ppf(inp.power))
    given = _treatment_rate(inp)
    tb_sd = _textbook_sd(p1, r)
    tb_n: int | None = None
    tb_power: float | None = None
    tb_rate: float | None = None
    if given is not None and inp.n_control is None:
        solved: Solved = "n"
        p2 = given
        pbar, sd0, sd1 = _sds(p1, p2, r)
        root_n = (za * sd0 + zb * sd1) / abs(p2 - p1)
        root_tb = (za + zb) * tb_sd / abs(p2 - p1)
        if not max(root_n, root_tb) <= math.sqrt(MAX_N):  # also catches inf and NaN
            raise ToolError(
                f"the effect {p2 - p1:g} is too small to detect with under {MAX_N:.0e} users "
                "per group"
            )
        n, tb_n = root_n**2, max(1, math.ceil(root_tb**2 - 1e-9))
        power = inp.power
        standard, textbook = n, root_tb**2
    elif given is not None:
        assert inp.n_control is not None
        solved, p2, n = "power", given, inp.n_control
        pbar = _sds(p1, p2, r)[0]
        power = _power(p1, p2, n, r, za, inp.two_sided)
        d = abs(p2 - p1) * math.sqrt(n) / tb_sd
        tb_power = float(st.norm.cdf(d - za))
        if inp.two_sided:
            tb_power += float(st.norm.cdf(-d - za))
        standard, textbook = power, tb_power
    else:
        assert inp.n_control is not None
        solved, n, power = "effect", inp.n_control, inp.power
        p2 = _solve_rate(inp, n, za)
        pbar = _sds(p1, p2, r)[0]
        tb_delta = (za + zb) * tb_sd / math.sqrt(n)
        tb_rate = p1 - tb_delta if inp.decrease else p1 + tb_delta
        standard, textbook = abs(p2 - p1), tb_delta
    pbar, sd0, sd1 = _sds(p1, p2, r)
    delta = p2 - p1
    n_control = max(1, math.ceil(n - 1e-9))
    n_treatment = max(1, math.ceil(r * n - 1e-9))
    formula, textbook_formula = _formulas(inp, solved, p2, n, power, za, tb_sd)
    return ABSampleSizeOut(
        solved_for=solved,
        n_per_group=n_control,
        n_control=n_control,
        n_treatment=n_treatment,
        total=n_control + n_treatment,
        n_exact=n,
        power=power,
        achieved_power=_power(p1, p2, n_control, n_treatment / n_control, za, inp.two_sided),
        baseline_rate=p1,
        treatment_rate=p2,
        delta=delta,
        z_alpha=za,
        z_beta=float(st.norm.ppf(power)) if power < 1 else None,
        formula=formula,
        textbook_n_per_group=tb_n,
        textbook_power=tb_power,
        textbook_treatment_rate=tb_rate,
        textbook_formula=textbook_formula,
        agreement=_agreement(solved, standard, textbook, p1, p2, pbar),
    )


def _formulas(
    inp: ABSampleSizeIn, solved: Solved, p2: float, n: float, power: float, za: float, tb_sd: float
) -> tuple[str, str]:
    """The standard formula and the shortcut, each with the numbers filled in."""
    p1, r = inp.baseline_rate, inp.ratio
    pbar, sd0, sd1 = _sds(p1, p2, r)
    za_name = "z_{α/2}" if inp.two_sided else "z_α"
    tail = " (+ the far tail)" if inp.two_sided else ""
    where = f"p₁ = {p1:g}, p₂ = {p2:.6g}, r = {r:g}, p̄ = {pbar:.4g}"
    d = abs(p2 - p1)
    if solved == "n":
        zb = float(st.norm.ppf(power))
        return (
            f"n₁ = ({za_name}·√(p̄(1−p̄)(1 + 1/r)) + z_β·√(p₁(1−p₁) + p₂(1−p₂)/r))² / δ² with "
            f"{where}: ({za:.4f}·{sd0:.4f} + {zb:.4f}·{sd1:.4f})² / {d:.6g}² = {n:.2f}",
            f"n = ({za_name} + z_β)²·p₁(1−p₁)(1 + 1/r)/δ² = ({za:.4f} + {zb:.4f})²·{tb_sd**2:.6g}"
            f" / {d:.6g}² = {(za + zb) ** 2 * tb_sd**2 / d**2:.2f}",
        )
    standard = (
        f"power = Φ((|δ|·√n₁ − {za_name}·√(p̄(1−p̄)(1 + 1/r))) / √(p₁(1−p₁) + p₂(1−p₂)/r)){tail} "
        f"with {where}, n₁ = {n:g}: {power:.6f}"
    )
    if solved == "power":
        return standard, (
            f"power = Φ(|δ|·√n₁ / √(p₁(1−p₁)(1 + 1/r)) − {za_name}){tail} = "
            f"Φ({d * math.sqrt(n) / tb_sd:.4f} − {za:.4f})"
        )
    zb = float(st.norm.ppf(power))
    return (
        f"p₂ solved from {standard.replace(f': {power:.6f}', f' = {power:g}')}",
        f"δ = ({za_name} + z_β)·√(p₁(1−p₁)(1 + 1/r)/n₁) = ({za:.4f} + {zb:.4f})·{tb_sd:.4f}/√{n:g}"
        f" = {(za + zb) * tb_sd / math.sqrt(n):.6g}",
    )


TOOLS = (ab_sample_size,)
