"""Warm-up of the bounded workers' fork server; imported only there (``bounded.PRELOAD``).

Importing this module runs a few typical computations once, so every worker forked from the server
starts with SymPy's lazy imports done and its caches filled: the first call in a fresh worker (also
the one that replaces a worker killed at its deadline) then takes milliseconds, not half a second.
"""

from __future__ import annotations

import contextlib
from typing import Any

SAMPLES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("differentiate", {"expr": "x^2 sin(x) e^{-x}"}),
    ("gradient", {"expr": "log(1 + e^{-w x}) + y^2", "at": {"w": 1, "x": 2, "y": "1/2"}}),
    ("integrate", {"expr": "x e^{-x}", "lower": 0, "upper": "oo"}),
    ("simplify", {"expr": "(x^2 - 1)/(x - 1)"}),
    ("solve", {"equations": ["x^2 - 5x + 6 = 0"]}),
    ("limit", {"expr": "sin(x)/x"}),
    ("taylor", {"expr": "log(1 + x)", "degree": 3}),
    ("hessian", {"expr": "x^3 - 3x + y^2"}),
    ("evaluate", {"expr": "sqrt(2)/2", "digits": 20}),
)

DERIVATION = "f(x) = x^2 sin(x)\nf'(x) = 2x sin(x) + x^2 cos(x)\n= x (2 sin(x) + x cos(x))"


def warm() -> None:
    """Run the samples inline (this process is the fork server: it must not start workers)."""
    from mltutor.tools import bounded
    from mltutor.tools.checker import check_derivation
    from mltutor.tools.registry import run_tool

    bounded._state.active = True
    try:
        with contextlib.suppress(Exception):
            check_derivation(DERIVATION)
        for name, args in SAMPLES:
            with contextlib.suppress(Exception):
                run_tool(name, args)
    finally:
        bounded._state.active = False


warm()
