"""Bounds on symbolic work: every tool and the checker run under these.

A frozen dataclass rather than a pydantic model, so that ``mltutor check`` starts without importing
pydantic (~0.3x of ``import sympy``). The settings still validate it: pydantic reads a dataclass
field by field (``"5"`` from an environment variable becomes ``5.0``) and then runs
``__post_init__``, which checks the bounds for settings and for code alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

# name: (lowest, lowest allowed itself, highest or None)
_BOUNDS: dict[str, tuple[float, bool, float | None]] = {
    "timeout_s": (0, False, 120),
    "max_memory_mb": (64, True, 65536),
    "max_input_chars": (10, True, None),
    "max_derivation_bytes": (100, True, None),
    "max_nodes": (10, True, None),
    "max_int_digits": (10, True, None),
    "max_matrix_size": (1, True, None),
    "max_list_len": (1, True, None),
}


@dataclass(frozen=True)
class ToolLimits:
    """Time, memory and size bounds for SymPy/NumPy work, so no input can hang or exhaust the
    process."""

    timeout_s: float = 5.0
    """Wall-clock bound for one tool call or one checker step, in seconds."""

    max_memory_mb: int = 512
    """Memory one tool call or checker step may allocate beyond what its worker process already
    uses, in MiB; past it the computation stops with a clear error."""

    max_input_chars: int = 4000
    """Longest math text accepted by the parser."""

    max_derivation_bytes: int = 200_000
    """Largest derivation ``mltutor check`` reads (a file or stdin); larger input is refused
    without reading the rest."""

    max_nodes: int = 2000
    """Largest expression tree (SymPy ``count_ops``) accepted as input."""

    max_int_digits: int = 20000
    """Largest integer (in decimal digits) a literal power may produce, e.g. ``10^10^10`` is refused."""

    max_matrix_size: int = 200
    """Largest matrix dimension accepted by the numeric tools."""

    max_list_len: int = 100_000
    """Longest list of numbers (samples, p-values) accepted by the statistics tools."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            whole = f.type == "int"
            kinds = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
                kind = "a whole number" if whole else "a finite number"
                raise ValueError(f"tools.{f.name} must be {kind} (got {value!r})")
            low, inclusive, high = _BOUNDS[f.name]
            too_low = value < low if inclusive else value <= low
            if too_low or (high is not None and value > high):
                bound = f"at least {low:g}" if inclusive else f"greater than {low:g}"
                if high is not None:
                    bound += f" and at most {high:g}"
                raise ValueError(f"tools.{f.name} must be {bound} (got {value!r})")


DEFAULT_LIMITS = ToolLimits()
