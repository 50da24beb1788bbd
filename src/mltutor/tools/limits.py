"""Bounds on symbolic work: every tool and the checker run under these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ToolLimits(BaseModel):
    """Time and size bounds for SymPy/NumPy work, so no input can hang or exhaust the process."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Wall-clock bound for one tool call or one checker step, in seconds."""

    max_input_chars: int = Field(default=4000, ge=10)
    """Longest math text accepted by the parser."""

    max_nodes: int = Field(default=2000, ge=10)
    """Largest expression tree (SymPy ``count_ops``) accepted as input."""

    max_int_digits: int = Field(default=20000, ge=10)
    """Largest integer (in decimal digits) a literal power may produce, e.g. ``10^10^10`` is refused."""

    max_matrix_size: int = Field(default=200, ge=1)
    """Largest matrix dimension accepted by the numeric tools."""

    max_list_len: int = Field(default=100_000, ge=1)
    """Longest list of numbers (samples, p-values) accepted by the statistics tools."""


DEFAULT_LIMITS = ToolLimits()
