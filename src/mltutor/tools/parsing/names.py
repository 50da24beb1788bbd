"""Names: which identifiers are functions, constants or symbols, and how unknown words split.

``2xy`` means ``2·x·y`` to a person, ``sinx`` means ``sin(x)``, but ``yhat`` and ``sigma`` are one
name. Unknown multi-letter words are split greedily into known words and single letters; names the
user defined on an earlier line are never split.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sympy as sp

from mltutor.tools.parsing.spellings import GREEK_NAMES, LATEX_FUNCTIONS


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + sp.exp(-x))


def _softplus(x: Any) -> Any:
    return sp.log(1 + sp.exp(x))


def _relu(x: Any) -> Any:
    return sp.Max(0, x)


def _logit(x: Any) -> Any:
    return sp.log(x / (1 - x))


# name -> (min args, max args, builder)
FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "sin": (1, 1, sp.sin),
    "cos": (1, 1, sp.cos),
    "tan": (1, 1, sp.tan),
    "cot": (1, 1, sp.cot),
    "sec": (1, 1, sp.sec),
    "csc": (1, 1, sp.csc),
    "sinh": (1, 1, sp.sinh),
    "cosh": (1, 1, sp.cosh),
    "tanh": (1, 1, sp.tanh),
    "coth": (1, 1, sp.coth),
    "sech": (1, 1, sp.sech),
    "csch": (1, 1, sp.csch),
    "arcsin": (1, 1, sp.asin),
    "arccos": (1, 1, sp.acos),
    "arctan": (1, 1, sp.atan),
    "arccot": (1, 1, sp.acot),
    "arcsec": (1, 1, sp.asec),
    "arccsc": (1, 1, sp.acsc),
    "asin": (1, 1, sp.asin),
    "acos": (1, 1, sp.acos),
    "atan": (1, 1, sp.atan),
    "acot": (1, 1, sp.acot),
    "asec": (1, 1, sp.asec),
    "acsc": (1, 1, sp.acsc),
    "asinh": (1, 1, sp.asinh),
    "acosh": (1, 1, sp.acosh),
    "atanh": (1, 1, sp.atanh),
    "acoth": (1, 1, sp.acoth),
    "asech": (1, 1, sp.asech),
    "acsch": (1, 1, sp.acsch),
    "arcsinh": (1, 1, sp.asinh),
    "arccosh": (1, 1, sp.acosh),
    "arctanh": (1, 1, sp.atanh),
    "arsinh": (1, 1, sp.asinh),
    "arcosh": (1, 1, sp.acosh),
    "artanh": (1, 1, sp.atanh),
    "arcoth": (1, 1, sp.acoth),
    "logit": (1, 1, _logit),
    "exp": (1, 1, sp.exp),
    "sqrt": (1, 1, sp.sqrt),
    "abs": (1, 1, sp.Abs),
    "ln": (1, 1, sp.log),
    "log": (1, 2, lambda x, b=None: sp.log(x) if b is None else sp.log(x, b)),
    "log2": (1, 1, lambda x: sp.log(x, 2)),
    "log10": (1, 1, lambda x: sp.log(x, 10)),
    "lg": (1, 1, lambda x: sp.log(x, 10)),
    "sigmoid": (1, 1, _sigmoid),
    "softplus": (1, 1, _softplus),
    "relu": (1, 1, _relu),
    "ReLU": (1, 1, _relu),
    "max": (2, 8, sp.Max),
    "min": (2, 8, sp.Min),
    "erf": (1, 1, sp.erf),
    "sign": (1, 1, sp.sign),
    "floor": (1, 1, sp.floor),
    "ceil": (1, 1, sp.ceiling),
    "binom": (2, 2, sp.binomial),
    "choose": (2, 2, sp.binomial),
}
# f^{-1} on a named function is its inverse (sin^{-1} x = arcsin x); (sin x)^{-1} is 1/sin x
INVERSES: dict[str, str] = {
    "sin": "asin",
    "cos": "acos",
    "tan": "atan",
    "cot": "acot",
    "sec": "asec",
    "csc": "acsc",
    "sinh": "asinh",
    "cosh": "acosh",
    "tanh": "atanh",
    "coth": "acoth",
    "sech": "asech",
    "csch": "acsch",
    "exp": "ln",
    "ln": "exp",
    "sigmoid": "logit",
    "logit": "sigmoid",
}
# operator words read by the grammar itself (E[X], Var(X), P(A | B), ∇_w)
OPERATOR_WORDS = frozenset({"Var", "Cov", "Pr", "nabla", "Corr"})
# functions written without parentheses in LaTeX style: \sin x, ln x
PREFIX_FUNCTIONS = (LATEX_FUNCTIONS - {"max", "min", "binom"}) | {"log2", "log10"}
# one-letter names that mean an unknown function when written f(x)
FUNCTION_LETTERS = frozenset({"f", "g", "h", "F", "G", "H"})
CONSTANTS: dict[str, Any] = {"e": sp.E, "pi": sp.pi, "oo": sp.oo, "inf": sp.oo, "infty": sp.oo}

# words kept whole when met in a run of letters
_WORDS = sorted(
    set(FUNCTIONS)
    | GREEK_NAMES
    | OPERATOR_WORDS
    | {"pi", "inf", "infty", "yhat", "xhat", "ybar", "xbar"},
    key=len,
    reverse=True,
)
_ACCENT_RE = re.compile(r"^([A-Za-z]+?)(hat|bar|tilde)$")
_DIGITS_RE = re.compile(r"^([A-Za-z]+)(\d+)$")


def normalize(name: str) -> str:
    """Canonical symbol name: ``x1`` -> ``x_1``, ``x_{1}`` -> ``x_1``."""
    m = _DIGITS_RE.match(name)
    if m and m.group(1) not in FUNCTIONS:
        return f"{m.group(1)}_{m.group(2)}"
    return name


def is_single_name(name: str, known: set[str] | frozenset[str]) -> bool:
    """Whether ``name`` is used whole (not split into letters)."""
    if len(name) == 1 or name in known or name in FUNCTIONS or name in CONSTANTS:
        return True
    if name in OPERATOR_WORDS:
        return True
    if name in GREEK_NAMES or "_" in name or any(c.isdigit() for c in name):
        return True
    m = _ACCENT_RE.match(name)
    return bool(m and is_single_name(m.group(1), known))


def split_word(word: str, known: set[str] | frozenset[str]) -> list[str]:
    """Split a run of letters into known words and single letters, longest match first."""
    parts: list[str] = []
    i = 0
    while i < len(word):
        for w in [*sorted(known, key=len, reverse=True), *_WORDS]:
            if len(w) > 1 and word.startswith(w, i):
                # an accent word glued to a prefix ("yhat") is handled by is_single_name
                parts.append(w)
                i += len(w)
                break
        else:
            parts.append(word[i])
            i += 1
    return parts


def make_symbol(name: str) -> sp.Symbol:
    """The one way symbols are created: real-valued, so sqrt(x^2) = |x| and logs behave."""
    return sp.Symbol(normalize(name), real=True)
