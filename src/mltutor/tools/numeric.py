"""Numeric tools: matrix spectra and conditioning (NumPy), stable softmax and log-sum-exp.

Softmax and log-sum-exp are plain Python over at most ``max_list_len`` numbers (``math.fsum`` keeps
the sum exact to rounding), so running them loads neither NumPy, SciPy nor SymPy.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, FiniteFloat, field_validator

from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.models import ToolModel

if TYPE_CHECKING:
    import numpy as np

_LOG_MAX = math.log(sys.float_info.max)  # exp overflows beyond this (≈ 709.78)
_LOG_TINY = math.log(math.ulp(0.0))  # exp underflows to 0 below this (≈ -744.4)

# -- matrix_info ------------------------------------------------------------------------------


class MatrixInfoIn(ToolModel):
    """A real matrix given as rows."""

    matrix: list[list[FiniteFloat]] = Field(min_length=1)
    """The matrix as a list of rows, e.g. [[2, 1], [1, 3]]."""

    eigenvectors: bool = False
    """Also return eigenvectors (as columns) when the matrix is square."""

    @field_validator("matrix")
    @classmethod
    def _rectangular(cls, rows: list[list[float]]) -> list[list[float]]:
        if any(len(r) == 0 for r in rows) or len({len(r) for r in rows}) != 1:
            raise ValueError("all rows must be non-empty and of the same length")
        return rows


class MatrixInfoOut(ToolModel):
    """Spectral facts about a matrix."""

    shape: list[int]
    """Rows and columns."""

    rank: int
    """Numerical rank (singular values above the default tolerance)."""

    symmetric: bool
    """Whether the matrix equals its transpose (to rounding)."""

    determinant: float | None
    """Determinant (square matrices only)."""

    trace: float | None
    """Sum of the diagonal (square matrices only)."""

    eigenvalues: list[float] | None
    """Real parts of the eigenvalues, ascending for symmetric matrices (square only)."""

    eigenvalues_imag: list[float] | None
    """Imaginary parts of the eigenvalues, all zero for symmetric matrices (square only)."""

    eigenvectors: list[list[float]] | None
    """Eigenvectors as the columns of this matrix (real parts), when requested."""

    singular_values: list[float]
    """Singular values, descending."""

    condition_number: float | None
    """2-norm condition number σ_max/σ_min; None when the matrix is singular (infinite)."""

    definiteness: (
        Literal[
            "positive definite",
            "positive semidefinite",
            "negative definite",
            "negative semidefinite",
            "indefinite",
        ]
        | None
    )
    """Definiteness from the eigenvalues (symmetric matrices only)."""


def matrix_info(inp: MatrixInfoIn, limits: ToolLimits) -> MatrixInfoOut:
    """Eigenvalues, singular values, condition number, rank, determinant and definiteness."""
    import numpy as np

    a = np.array(inp.matrix, dtype=float)
    rows, cols = a.shape
    square = rows == cols
    sym = square and bool(np.allclose(a, a.T, rtol=1e-12, atol=1e-12))
    sv = np.linalg.svd(a, compute_uv=False)
    tol = sv.max(initial=0.0) * max(a.shape) * np.finfo(float).eps
    rank = int(np.sum(sv > tol))
    cond = float(sv[0] / sv[-1]) if rank == min(a.shape) and sv[-1] > 0 else None
    eig_re = eig_im = vecs = None
    definiteness = None
    if sym:
        w, v = np.linalg.eigh(a)
        eig_re, eig_im = w.tolist(), [0.0] * rows
        vecs = v.tolist() if inp.eigenvectors else None
        definiteness = _definiteness(w)
    elif square:
        w, v = np.linalg.eig(a)
        order = np.lexsort((w.imag, w.real))
        eig_re, eig_im = w.real[order].tolist(), w.imag[order].tolist()
        vecs = v.real[:, order].tolist() if inp.eigenvectors else None
    return MatrixInfoOut(
        shape=[rows, cols],
        rank=rank,
        symmetric=sym,
        determinant=float(np.linalg.det(a)) if square else None,
        trace=float(np.trace(a)) if square else None,
        eigenvalues=eig_re,
        eigenvalues_imag=eig_im,
        eigenvectors=vecs,
        singular_values=sv.tolist(),
        condition_number=cond,
        definiteness=definiteness,
    )


def _definiteness(w: np.ndarray) -> Any:
    import numpy as np

    tol = max(1.0, float(np.abs(w).max())) * 1e-12
    if np.all(w > tol):
        return "positive definite"
    if np.all(w < -tol):
        return "negative definite"
    if np.all(w >= -tol):
        return "positive semidefinite"
    if np.all(w <= tol):
        return "negative semidefinite"
    return "indefinite"


# -- softmax / logsumexp ---------------------------------------------------------------------


class SoftmaxIn(ToolModel):
    """Logits for a numerically stable softmax."""

    logits: list[FiniteFloat] = Field(min_length=1)
    """The scores z_1..z_K."""

    temperature: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """Divide the logits by this before the softmax (1 = plain softmax)."""


class SoftmaxOut(ToolModel):
    """Softmax probabilities computed with the max-subtraction trick."""

    probabilities: list[float]
    """softmax(z/T)_i = exp(z_i/T − m) / Σ_j exp(z_j/T − m), with m = max_j z_j/T."""

    log_probabilities: list[float]
    """log softmax, computed as z_i/T − logsumexp(z/T) (no log of a rounded-to-zero probability)."""

    shift: float
    """The maximum m subtracted before exponentiating."""

    naive_overflows: bool
    """Whether exp(z_i/T) without the shift would overflow float64 (some z_i/T > 709.78)."""


def softmax(inp: SoftmaxIn, limits: ToolLimits) -> SoftmaxOut:
    """Numerically stable softmax and log-softmax of a list of logits, with optional temperature."""
    z = [x / inp.temperature for x in inp.logits]
    if not all(map(math.isfinite, z)):
        largest = max(abs(x) for x in inp.logits)
        raise ToolError(
            f"temperature {inp.temperature:g} is too small: logits/temperature overflows float64; "
            f"use a temperature of at least {largest / sys.float_info.max:.3g} (as T → 0 the "
            "softmax becomes the argmax)"
        )
    m = max(z)
    e = [math.exp(x - m) for x in z]
    total = math.fsum(e)
    lse = m + math.log(total)
    return SoftmaxOut(
        probabilities=[x / total for x in e],
        log_probabilities=[x - lse for x in z],
        shift=m,
        naive_overflows=m > _LOG_MAX,
    )


class LogSumExpIn(ToolModel):
    """Values for a numerically stable log-sum-exp."""

    values: list[FiniteFloat] = Field(min_length=1)
    """The numbers x_1..x_n."""


class LogSumExpOut(ToolModel):
    """log Σ exp(x_i), computed as m + log Σ exp(x_i − m)."""

    value: float
    """log Σ_i exp(x_i)."""

    shift: float
    """The maximum m = max_i x_i factored out."""

    naive_overflows: bool
    """Whether the naive sum would overflow float64 (some x_i > 709.78): it would give inf."""

    naive_underflows: bool
    """Whether every exp(x_i) underflows to 0 in float64 (all x_i < −744.4): naive gives −inf."""


def logsumexp(inp: LogSumExpIn, limits: ToolLimits) -> LogSumExpOut:
    """Numerically stable log-sum-exp of a list of numbers, noting when the naive sum fails."""
    m = max(inp.values)
    value = m + math.log(math.fsum(math.exp(x - m) for x in inp.values))
    return LogSumExpOut(
        value=value,
        shift=m,
        naive_overflows=m > _LOG_MAX,
        naive_underflows=m < _LOG_TINY,
    )


TOOLS = (matrix_info, softmax, logsumexp)
