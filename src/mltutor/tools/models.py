"""Shared pieces of the tool models: the base class, math output in three forms, value types.

Every tool takes one pydantic input model and returns one output model. Field docstrings become the
``description`` of each property in the JSON schema the LLM sees, so every field must have one.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mltutor.tools.errors import LimitExceeded

MAX_OUTPUT_CHARS = 20_000
"""Longest plain-text form of a result; larger results are refused rather than printed."""

NAME_PATTERN = r"^\S{1,40}$"

VarName = Annotated[str, Field(min_length=1, max_length=40, pattern=NAME_PATTERN)]
"""A variable name such as ``x``, ``x_1``, ``θ`` or ``lambda``."""

MathText = Annotated[str, Field(min_length=1)]
"""Math as a person types it: plain text, Unicode or LaTeX (``x^2 e^{-x}``, ``σ(w·x)``)."""


def _real_number(value: Any) -> Any:
    """Refuse NaN, infinities and huge integers with a message that says what to write instead."""
    if isinstance(value, float) and math.isnan(value):
        raise ValueError('NaN is not a number; give a real number or exact text such as "1/3"')
    if isinstance(value, float) and math.isinf(value):
        raise ValueError('write infinity as the text "oo" (or "-oo"), not as a number')
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        raise ValueError('the integer has over 300 digits; write it as math text such as "10^400"')
    return value


PointValue = Annotated[float | MathText, BeforeValidator(_real_number)]
"""A number, or exact math text for a number such as ``"1/2"``, ``"pi"`` or ``"sqrt(2)"``."""


class ToolModel(BaseModel):
    """Base of every tool input and output: attribute docstrings become schema descriptions."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", defer_build=True)


class MathOut(ToolModel):
    """One mathematical result in three renderings."""

    text: str
    """Plain text in SymPy syntax (``**`` is a power; a matrix is a list of rows)."""

    latex: str
    """LaTeX source for rendering."""

    pretty: str
    """Unicode pretty-printed form (may span several lines), for terminal display."""

    @classmethod
    def of(cls, expr: Any) -> MathOut:
        """Render a SymPy object; refuse results too large to be useful."""
        import sympy as sp  # here, so that the NumPy-only tools never load SymPy

        # matrices as nested lists on one line ("[[1, 2], [3, 4]]"), not SymPy's multi-line repr
        text = sp.sstr(expr.tolist()) if isinstance(expr, sp.MatrixBase) else sp.sstr(expr)
        if len(text) > MAX_OUTPUT_CHARS:
            raise LimitExceeded(
                f"the result is too large to show ({len(text)} characters); simplify the input"
            )
        return cls(text=text, latex=sp.latex(expr), pretty=sp.pretty(expr, use_unicode=True))


def finite_float(value: Any) -> float | None:
    """``float(value)`` if it is a finite real number, else None (complex, infinite, symbolic)."""
    try:
        number = complex(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if abs(number.imag) > 1e-12 * max(1.0, abs(number.real)):
        return None
    real = number.real
    if real != real or real in (float("inf"), float("-inf")):
        return None
    return real
