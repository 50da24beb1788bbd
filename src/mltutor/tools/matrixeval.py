"""Evaluating the matrix mini-language's trees with NumPy: shapes are checked, a 1×1 result is a
scalar, ``σ``/``log``/``exp`` act elementwise on vectors, a scalar added to a vector is broadcast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mltutor.tools.errors import ToolError

if TYPE_CHECKING:
    import numpy as np

Node = tuple[Any, ...]
GREEK_NAMES = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "eta",
        "theta",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "rho",
        "sigma",
        "tau",
        "phi",
        "omega",
    }
)


def names(node: Node) -> set[str]:
    """Variable letters used in a tree (``I`` excluded)."""
    if node[0] == "var":
        return set() if node[1] == "I" else {node[1]}
    out: set[str] = set()
    for child in node[1:]:
        if isinstance(child, tuple):
            out |= names(child)
    return out


def default_kind(name: str) -> str:
    """``matrix`` for capitals (``A``, ``Sigma``), ``scalar`` for Greek lowercase, else ``vector``."""
    if name[:1].isupper():
        return "matrix"
    return "scalar" if name in GREEK_NAMES else "vector"


def _shape(a: np.ndarray) -> str:
    return f"{a.shape[0]}×{a.shape[1]}"


def _arr(value: Any) -> np.ndarray:
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    return np.asarray(value, dtype=float)


def _scalar(a: np.ndarray) -> bool:
    return a.shape == (1, 1)


def evaluate(node: Node, env: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Value of the tree as a 2-D array (scalars are 1×1). ToolError on shape mismatches."""
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    kind = node[0]
    if kind == "num":
        return np.array([[node[1]]])
    if kind == "var":
        return np.eye(n) if node[1] == "I" else env[node[1]]
    if kind == "neg":
        return -evaluate(node[1], env, n)
    if kind == "T":
        return evaluate(node[1], env, n).T
    if kind == "inv":
        a = evaluate(node[1], env, n)
        if a.shape[0] != a.shape[1]:
            raise ToolError(f"cannot invert a {_shape(a)} matrix")
        return np.linalg.inv(a)
    if kind == "pow":
        a = evaluate(node[1], env, n)
        if a.shape[0] != a.shape[1]:
            raise ToolError(f"cannot take a power of a {_shape(a)} matrix")
        return np.linalg.matrix_power(a, node[2])
    if kind == "norm":
        a = evaluate(node[1], env, n)
        return np.array([[float(np.sqrt(np.sum(a * a)))]])
    if kind == "func":
        return _func(node[1], evaluate(node[2], env, n))
    left, right = evaluate(node[1], env, n), evaluate(node[2], env, n)
    if kind in ("+", "-"):
        vector_and_scalar = {left.shape[1], right.shape[1]} == {1} and (
            _scalar(left) or _scalar(right)
        )
        if left.shape != right.shape and not vector_and_scalar:
            raise ToolError(f"cannot add a {_shape(left)} and a {_shape(right)} matrix")
        return _arr(left + right if kind == "+" else left - right)
    if kind == "/":
        if not _scalar(right):
            raise ToolError("can only divide by a scalar")
        return _arr(left / right[0, 0])
    if _scalar(left) or _scalar(right):
        return _arr(left * right if _scalar(right) else right * left[0, 0])
    if left.shape[1] != right.shape[0]:
        raise ToolError(f"cannot multiply a {_shape(left)} by a {_shape(right)} matrix")
    return _arr(left @ right)


def _func(name: str, a: np.ndarray) -> np.ndarray:
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    if name in ("tr", "det", "inv") and a.shape[0] != a.shape[1]:
        raise ToolError(f"{name} needs a square matrix, got {_shape(a)}")
    if name == "sigmoid":
        return _arr(1 / (1 + np.exp(-a)))
    if name == "tr":
        return np.array([[float(np.trace(a))]])
    if name == "det":
        return np.array([[float(np.linalg.det(a))]])
    if name == "inv":
        return np.linalg.inv(a)
    if a.shape[1] != 1:
        raise ToolError(f"{name} is applied to scalars and vectors only (got a {_shape(a)} matrix)")
    return _arr(np.log(a) if name == "log" else np.exp(a))
