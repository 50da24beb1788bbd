"""Bounds on symbolic work: every tool and the checker run under these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ToolLimits(BaseModel):
    """Time, memory and size bounds for SymPy/NumPy work, so no input can hang or exhaust the
    process."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Wall-clock bound for one tool call or one checker step, in seconds."""

    max_memory_mb: int = Field(default=512, ge=64, le=65536)
    """Memory one tool call or checker step may allocate beyond what its worker process already
    uses, in MiB; past it the computation stops with a clear error."""

    max_input_chars: int = Field(default=4000, ge=10)
    """Longest math text accepted by the parser."""

    max_derivation_bytes: int = Field(default=200_000, ge=100)
    """Largest derivation ``mltutor check`` reads (a file or stdin); larger input is refused
    without reading the rest."""

    max_nodes: int = Field(default=2000, ge=10)
    """Largest expression tree (SymPy ``count_ops``) accepted as input."""

    max_int_digits: int = Field(default=20000, ge=10)
    """Largest integer (in decimal digits) a literal power may produce, e.g. ``10^10^10`` is refused."""

    max_matrix_size: int = Field(default=200, ge=1)
    """Largest matrix dimension accepted by the numeric tools."""

    max_list_len: int = Field(default=100_000, ge=1)
    """Longest list of numbers (samples, p-values) accepted by the statistics tools."""


DEFAULT_LIMITS = ToolLimits()
