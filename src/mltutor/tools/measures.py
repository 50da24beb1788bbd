"""Closed-form ML and statistics quantities: FWER, VIF, entropy and KL, JL dimension, Chinchilla."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, FiniteFloat, model_validator

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel

# -- FWER ---------------------------------------------------------------------------------------


class FwerIn(ToolModel):
    """Per-test level and number of independent tests."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level of each single test."""

    m: int = Field(ge=1, le=10**9)
    """Number of independent tests."""


class FwerOut(ToolModel):
    """Family-wise error rate and the per-test levels that control it."""

    fwer: float
    """P(at least one false positive) = 1 − (1 − α)^m for independent tests."""

    expected_false_positives: float
    """m·α when every null hypothesis is true."""

    bonferroni_alpha: float
    """Per-test level α/m that keeps the FWER ≤ α (any dependence)."""

    sidak_alpha: float
    """Per-test level 1 − (1 − α)^(1/m) giving FWER exactly α for independent tests."""


def fwer(inp: FwerIn, limits: ToolLimits) -> FwerOut:
    """Family-wise error rate 1 − (1 − α)^m of m independent tests, with Bonferroni/Šidák levels."""
    a, m = inp.alpha, inp.m
    return FwerOut(
        fwer=-math.expm1(m * math.log1p(-a)),
        expected_false_positives=m * a,
        bonferroni_alpha=a / m,
        sidak_alpha=-math.expm1(math.log1p(-a) / m),
    )


# -- VIF ----------------------------------------------------------------------------------------


class VifIn(ToolModel):
    """R² of regressing each predictor on the others."""

    r_squared: list[float] = Field(min_length=1, max_length=10_000)
    """One R² per predictor, each in [0, 1)."""

    @model_validator(mode="after")
    def _range(self) -> VifIn:
        bad = [r for r in self.r_squared if not 0 <= r < 1]
        if bad:
            raise ValueError(
                f"each R² must be in [0, 1) (R² = 1 means perfect collinearity, "
                f"VIF = ∞); got {bad[:3]}"
            )
        return self


class VifOut(ToolModel):
    """Variance inflation factors."""

    vif: list[float]
    """VIF_j = 1 / (1 − R²_j), per predictor."""

    tolerance: list[float]
    """1 − R²_j, per predictor."""

    flags: list[Literal["ok", "moderate", "high"]]
    """"high" when VIF > 10, "moderate" when VIF > 5, else "ok" (common rules of thumb)."""


def vif(inp: VifIn, limits: ToolLimits) -> VifOut:
    """Variance inflation factor VIF = 1/(1 − R²) from each predictor's R² on the others."""
    tol = [1 - r for r in inp.r_squared]
    v = [1 / t for t in tol]
    flags: list[Literal["ok", "moderate", "high"]] = [
        "high" if x > 10 else "moderate" if x > 5 else "ok" for x in v
    ]
    return VifOut(vif=v, tolerance=tol, flags=flags)


# -- entropy, cross-entropy, KL, Gini ------------------------------------------------------------


class DistributionMeasuresIn(ToolModel):
    """One or two discrete distributions over the same outcomes."""

    p: list[float] = Field(min_length=1)
    """Probabilities of the (true) distribution p."""

    q: list[float] | None = Field(default=None, min_length=1)
    """Probabilities of a second (model) distribution q, same length as p."""

    unit: Literal["nats", "bits"] = "nats"
    """Logarithm base: natural log (nats) or log₂ (bits)."""

    normalize: bool = False
    """Rescale p and q to sum to 1 (otherwise they must already sum to 1)."""

    @model_validator(mode="after")
    def _valid(self) -> DistributionMeasuresIn:
        for name, dist in (("p", self.p), ("q", self.q)):
            if dist is None:
                continue
            if any(not (math.isfinite(x) and x >= 0) for x in dist):
                raise ValueError(f"{name} must contain finite non-negative numbers")
            total = math.fsum(dist)
            if total <= 0:
                raise ValueError(f"{name} sums to 0")
            if not self.normalize and abs(total - 1) > 1e-6:
                raise ValueError(f"{name} sums to {total:g}, not 1 (set normalize to rescale)")
        if self.q is not None and len(self.q) != len(self.p):
            raise ValueError(f"p has {len(self.p)} entries but q has {len(self.q)}")
        return self


class DistributionMeasuresOut(ToolModel):
    """Information measures; None marks an infinite value (q = 0 where p > 0)."""

    unit: str
    """nats or bits."""

    entropy_p: float
    """H(p) = −Σ p log p."""

    gini_p: float
    """Gini impurity 1 − Σ p²."""

    entropy_q: float | None
    """H(q), when q is given."""

    gini_q: float | None
    """Gini impurity of q, when q is given."""

    cross_entropy: float | None
    """H(p, q) = −Σ p log q = H(p) + KL(p‖q); None if infinite."""

    kl_pq: float | None
    """KL(p‖q) = Σ p log(p/q); None if infinite."""

    kl_qp: float | None
    """KL(q‖p) (KL is not symmetric); None if infinite."""

    js_divergence: float | None
    """Jensen–Shannon divergence (symmetric, always finite, ≤ log 2)."""

    notes: list[str]
    """Warnings, e.g. why a value is infinite."""


def _plogq(p: np.ndarray, q: np.ndarray) -> float:
    """Σ p log q with 0 log 0 = 0; −inf when some q = 0 where p > 0."""
    mask = p > 0
    if np.any(q[mask] == 0):
        return -math.inf
    return float(np.sum(p[mask] * np.log(q[mask])))


def _fin(x: float) -> float | None:
    return x if math.isfinite(x) else None


def distribution_measures(
    inp: DistributionMeasuresIn, limits: ToolLimits
) -> DistributionMeasuresOut:
    """Entropy, Gini impurity, cross-entropy, KL (both ways) and JS divergence of distributions."""
    scale = 1 / math.log(2) if inp.unit == "bits" else 1.0
    p = np.array(inp.p, dtype=float)
    p = p / p.sum()
    h_p = -_plogq(p, p) * scale
    out: dict[str, float | None] = {
        "entropy_q": None,
        "gini_q": None,
        "cross_entropy": None,
        "kl_pq": None,
        "kl_qp": None,
        "js_divergence": None,
    }
    notes: list[str] = []
    if inp.q is not None:
        q = np.array(inp.q, dtype=float)
        q = q / q.sum()
        h_q = -_plogq(q, q) * scale
        ce = -_plogq(p, q) * scale
        mix = (p + q) / 2
        js = 0.5 * (_plogq(p, p) - _plogq(p, mix) + _plogq(q, q) - _plogq(q, mix)) * scale
        out.update(
            entropy_q=h_q,
            gini_q=float(1 - np.sum(q * q)),
            cross_entropy=_fin(ce),
            kl_pq=_fin(ce - h_p),
            kl_qp=_fin(-_plogq(q, p) * scale - h_q),
            js_divergence=max(0.0, js),
        )
        if not math.isfinite(ce):
            notes.append("q is 0 where p > 0, so H(p, q) and KL(p‖q) are infinite")
        if out["kl_qp"] is None:
            notes.append("p is 0 where q > 0, so KL(q‖p) is infinite")
    return DistributionMeasuresOut(
        unit=inp.unit, entropy_p=h_p, gini_p=float(1 - np.sum(p * p)), notes=notes, **out
    )


# -- Johnson–Lindenstrauss ---------------------------------------------------------------------


class JlDimensionIn(ToolModel):
    """Number of points and allowed distortion for a random projection."""

    n_points: int = Field(ge=2, le=10**18)
    """Number of points whose pairwise distances must be preserved."""

    epsilon: float = Field(gt=0, lt=1)
    """Allowed relative distortion ε of squared distances, e.g. 0.1."""

    original_dimension: int | None = Field(default=None, ge=1)
    """Dimension of the data, to say whether the projection actually reduces it."""


class JlDimensionOut(ToolModel):
    """Johnson–Lindenstrauss target dimension."""

    k: int
    """Smallest whole k with k ≥ 4 ln(n) / (ε²/2 − ε³/3)."""

    bound: float
    """The bound 4 ln(n) / (ε²/2 − ε³/3) before rounding up."""

    reduces: bool | None
    """Whether k is below the original dimension (None when that was not given)."""

    formula: str
    """The formula with the numbers filled in."""


def jl_dimension(inp: JlDimensionIn, limits: ToolLimits) -> JlDimensionOut:
    """Johnson–Lindenstrauss target dimension k ≥ 4 ln(n) / (ε²/2 − ε³/3) for n points.

    Same bound as scikit-learn's johnson_lindenstrauss_min_dim (which truncates instead of rounding
    up).
    """
    e = inp.epsilon
    denominator = e**2 / 2 - e**3 / 3
    if denominator < 1e-200:
        raise ToolError(
            f"epsilon {e:g} is too small: the bound grows like 8 ln(n)/ε²; use ε ≥ 1e-100"
        )
    bound = 4 * math.log(inp.n_points) / denominator
    k = math.ceil(bound - 1e-9)
    reduces = None if inp.original_dimension is None else k < inp.original_dimension
    return JlDimensionOut(
        k=k,
        bound=bound,
        reduces=reduces,
        formula=f"k ≥ 4·ln({inp.n_points}) / ({e:g}²/2 − {e:g}³/3) = {bound:.2f}",
    )


# -- Chinchilla ---------------------------------------------------------------------------------


class ChinchillaIn(ToolModel):
    """Model size or compute budget for the Chinchilla compute-optimal rule."""

    params: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Number of model parameters N, e.g. 7e10 (give this or compute_flops)."""

    compute_flops: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Training compute budget C in FLOPs, e.g. 5.76e23 (give this or params)."""

    tokens_per_param: FiniteFloat = Field(default=20.0, gt=0)
    """Tokens per parameter of the rule of thumb (Chinchilla: about 20)."""

    @model_validator(mode="after")
    def _one(self) -> ChinchillaIn:
        if (self.params is None) == (self.compute_flops is None):
            raise ValueError("give exactly one of params and compute_flops")
        return self


class ChinchillaOut(ToolModel):
    """Compute-optimal model size, data size and compute."""

    params: float
    """Parameters N."""

    tokens: float
    """Training tokens D ≈ tokens_per_param · N."""

    compute_flops: float
    """Training compute C ≈ 6·N·D FLOPs."""

    formula: str
    """The rule applied."""


def chinchilla(inp: ChinchillaIn, limits: ToolLimits) -> ChinchillaOut:
    """Chinchilla compute-optimal training: tokens D ≈ 20·N and compute C ≈ 6·N·D FLOPs.

    Give the parameter count N, or a compute budget C (then N = √(C / (6·20)) and D = 20·N).
    """
    r = inp.tokens_per_param
    if inp.params is not None:
        n = inp.params
        formula = f"D = {r:g}·N, C = 6·N·D"
    else:
        assert inp.compute_flops is not None
        n = math.sqrt(inp.compute_flops / (6 * r))
        formula = f"N = √(C / (6·{r:g})), D = {r:g}·N, C = 6·N·D"
    d = r * n
    c = 6 * n * d
    if not math.isfinite(c):
        raise ToolError("the numbers overflow; check the magnitude of the input")
    return ChinchillaOut(params=n, tokens=d, compute_flops=c, formula=formula)


TOOLS = (fwer, vif, distribution_measures, jl_dimension, chinchilla)
