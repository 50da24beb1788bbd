"""Multiple-testing corrections of a list of p-values (NumPy): FWER and FDR procedures.

The adjusted p-values follow R's ``p.adjust``: a hypothesis is rejected at level α exactly when its
adjusted p-value is ≤ α.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel

Method = Literal["bonferroni", "holm", "hochberg", "bh", "by"]


class MultipleTestingIn(ToolModel):
    """p-values of m tests and the corrections to apply."""

    p_values: list[float] = Field(min_length=1)
    """The p-values, each in [0, 1]."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Family-wise error rate (Bonferroni, Holm, Hochberg) or false discovery rate (BH, BY) to
    control."""

    methods: list[Method] = Field(default=["bonferroni", "holm", "bh"], min_length=1, max_length=5)
    """Corrections: "bonferroni", "holm" (step-down), "hochberg" (step-up; independent or positively
    dependent tests), "bh" (Benjamini–Hochberg FDR) and/or "by" (Benjamini–Yekutieli FDR, any
    dependence)."""

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


def _in_input_order(order: np.ndarray, adjusted_sorted: np.ndarray) -> np.ndarray:
    out = np.empty(len(order))
    out[order] = np.minimum(1.0, adjusted_sorted)
    return out


def _bonferroni(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(1.0, p * len(p)), dtype=float)


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    return _in_input_order(order, np.maximum.accumulate((m - np.arange(m)) * p[order]))


def _step_up(p: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Step-up adjustment: running minimum from the largest p down of ``scale_i · p_(i)``."""
    order = np.argsort(p, kind="stable")
    scaled = scale * p[order]
    return _in_input_order(order, np.minimum.accumulate(scaled[::-1])[::-1])


def _hochberg(p: np.ndarray) -> np.ndarray:
    m = len(p)
    return _step_up(p, m - np.arange(m, dtype=float))


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    return _step_up(p, m / np.arange(1, m + 1, dtype=float))


def _by(p: np.ndarray) -> np.ndarray:
    m = len(p)
    harmonic = float(np.sum(1.0 / np.arange(1, m + 1)))
    return _step_up(p, harmonic * m / np.arange(1, m + 1, dtype=float))


_RULES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "bonferroni": (_bonferroni, "reject H_i if p_i ≤ α/m"),
    "holm": (_holm, "sort p ascending; reject while p_(i) ≤ α/(m − i + 1); stop at the first miss"),
    "hochberg": (
        _hochberg,
        "sort p ascending; k = largest i with p_(i) ≤ α/(m − i + 1); reject the k smallest",
    ),
    "bh": (_bh, "sort p ascending; k = largest i with p_(i) ≤ i·α/m; reject the k smallest"),
    "by": (
        _by,
        "sort p ascending; k = largest i with p_(i) ≤ i·α/(m·c(m)), c(m) = Σ_{j≤m} 1/j; "
        "reject the k smallest",
    ),
}


def multiple_testing(inp: MultipleTestingIn, limits: ToolLimits) -> MultipleTestingOut:
    """Bonferroni, Holm, Hochberg, Benjamini–Hochberg and Benjamini–Yekutieli corrections of a list
    of p-values."""
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


TOOLS = (multiple_testing,)
