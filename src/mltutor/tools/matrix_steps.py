"""Derivation lines about matrices and vectors: transposes, norms, traces, gradients.

A line with ``X^T``, ``X^\\top``, ``Xᵀ``, ``‖x‖``, ``\\|x\\|_2``, ``tr(...)`` or ``det`` is never read as
scalars. It is checked on random matrices (capital letters n×n, lowercase letters n-vectors, Greek
letters scalars, capital Greek symmetric positive definite; other shapes are tried when these do not
fit): an identity must hold on every draw, a gradient ``∇_w f`` / ``∂f/∂w`` / ``d/dw f`` is compared
with central finite differences, as ``matrix_gradient_check`` does. A claim is called wrong only
when it fails on random matrices and is meant for all of them: a line that holds only for symmetric
matrices, states a property (``UᵀU = I``) or is an equation to solve (``XᵀXw = Xᵀy``) is reported
as unverifiable, with the reason.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mltutor.tools import matrixlang
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.matrix_parts import Grad, MatrixPart, parse_part, split_parts

Node = matrixlang.Node
Status = Literal["ok", "wrong", "unverifiable", "unparsed"]

_MARKER_RE = re.compile(
    r"\^\s*\{?\s*(?:T|\\top|\\intercal|⊤)\s*\}?(?![A-Za-z]*\()|ᵀ|⊤|‖|\\\||\\Vert|\|\|"
    r"|\\operatorname\s*\{\s*[Tt]r\s*\}|\\mathrm\s*\{\s*tr\s*\}|\\text\s*\{\s*tr\s*\}"
    r"|\btr\s*\(|\\det\b|\bdet\s*\(|\\top\b|\\intercal\b"
)
_HEAD_RE = re.compile(r"^\s*([A-Za-z]|\\[A-Za-z]+|[α-ωΑ-Ω])\s*(?:\(([^()=]*)\))?\s*=(?!=)")
_N = 4
_TRIALS = 3
_TOL = 1e-6


@dataclass
class MatrixState:
    """Matrix definitions from earlier lines and the last part of the previous matrix line."""

    definitions: dict[str, Node] = field(default_factory=dict)
    last: MatrixPart | None = None


@dataclass
class MatrixOutcome:
    status: Status
    message: str
    column: int | None = None


def is_matrix_line(line: str, state: MatrixState, no_scalar_last: bool) -> bool:
    """Whether the line needs the matrix reading (transposes, norms, traces, matrix names)."""
    if _MARKER_RE.search(line):
        return True
    stripped = line.lstrip()
    if stripped[:1] in ("=", "≈") and state.last is not None and no_scalar_last:
        return True
    return any(
        re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", line)
        for name in state.definitions
        if len(name) == 1
    )


# -- shapes and draws ------------------------------------------------------------------------------


def _kinds(names: set[str], flip: tuple[str, ...]) -> dict[str, str]:
    kinds = {n: matrixlang.default_kind(n) for n in names}
    for n in flip:
        kinds[n] = "vector" if kinds[n] == "scalar" else "scalar"
    return kinds


def _draw(kinds: dict[str, str], wrt: str | None, rng: np.random.Generator, sym: bool) -> Any:
    env: dict[str, np.ndarray] = {}
    for name in sorted(kinds):
        kind = kinds[name]
        if kind == "scalar":
            env[name] = np.array([[rng.uniform(0.5, 2.0)]])
        elif kind == "vector":
            env[name] = rng.standard_normal((_N, 1))
        else:
            m = rng.standard_normal((_N, _N))
            if not name.isascii() or len(name) > 1:  # Σ, Λ: covariance-like
                m = m @ m.T + _N * np.eye(_N)
            elif sym:
                m = (m + m.T) / 2
            if name == wrt:
                m = m + _N * np.eye(_N)
            env[name] = m
    return env


def _scalar_value(node: Node, env: dict[str, np.ndarray]) -> float:
    value = matrixlang.evaluate(node, env, _N)
    if value.shape != (1, 1):
        raise ToolError("the function under ∇ is not scalar-valued under this reading")
    return float(value[0, 0])


def _gradient(grad: Grad, env: dict[str, np.ndarray]) -> np.ndarray:
    x = env[grad.wrt]
    out = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        h = 1e-5 * max(1.0, abs(float(x[idx])))
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        fp = _scalar_value(grad.function, {**env, grad.wrt: plus})
        fm = _scalar_value(grad.function, {**env, grad.wrt: minus})
        out[idx] = (fp - fm) / (2 * h)
    return out


def _value(part: MatrixPart, env: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(part, Grad):
        return _gradient(part, env)
    return matrixlang.evaluate(part, env, _N)


def _names(part: MatrixPart) -> set[str]:
    if isinstance(part, Grad):
        return matrixlang.names(part.function) | {part.wrt}
    return matrixlang.names(part)


def _errors(
    parts: list[MatrixPart], kinds: dict[str, str], wrt: str | None, sym: bool
) -> list[float] | None:
    """Largest relative error of each consecutive pair over the trials; None when the values
    cannot be computed or their shapes differ under this reading."""
    rng = np.random.default_rng(0)
    worst = [0.0] * (len(parts) - 1)
    with np.errstate(all="ignore"):
        for _ in range(_TRIALS):
            for _attempt in range(10):
                env = _draw(kinds, wrt, rng, sym)
                try:
                    values = [_value(p, env) for p in parts]
                except (ToolError, np.linalg.LinAlgError):
                    return None
                if all(np.all(np.isfinite(v)) for v in values):
                    break
            else:
                return None
            for k, (a, b) in enumerate(itertools.pairwise(values)):
                if a.shape != b.shape:
                    if a.shape == b.T.shape and 1 in a.shape:
                        b = b.T
                    elif not (_is_zero(a) or _is_zero(b)):
                        return None
                scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-12)
                worst[k] = max(worst[k], float(np.linalg.norm(a - b)) / scale)
    return worst


def _is_zero(a: np.ndarray) -> bool:
    return a.shape == (1, 1) and a[0, 0] == 0


def _reading(parts: list[MatrixPart]) -> tuple[dict[str, str], list[float]] | None:
    """The first assignment of shapes under which every part can be computed, with its errors."""
    names: set[str] = set()
    for p in parts:
        names |= _names(p)
    names.discard("I")
    wrt = next((p.wrt for p in parts if isinstance(p, Grad)), None)
    flippable = sorted(n for n in names if not n[:1].isupper())[:4]
    for k in range(len(flippable) + 1):
        for flip in itertools.combinations(flippable, k):
            kinds = _kinds(names, flip)
            errors = _errors(parts, kinds, wrt, sym=False)
            if errors is not None:
                return kinds, errors
    return None


# -- the line --------------------------------------------------------------------------------------


def _condition_like(part: MatrixPart) -> bool:
    """``I``, ``0``, a single letter or its transpose: the line states a property or a value."""
    if isinstance(part, Grad):
        return False
    node: Node = part[1] if part[0] == "T" else part
    return node[0] in ("var", "num")


def _judge(a: MatrixPart, b: MatrixPart, err: float, sym_err: float | None) -> MatrixOutcome:
    if err <= _TOL:
        kind = "gradient" if isinstance(a, Grad) or isinstance(b, Grad) else "identity"
        return MatrixOutcome("ok", f"verified numerically on random matrices ({kind})")
    if sym_err is not None and sym_err <= _TOL:
        return MatrixOutcome(
            "unverifiable",
            "holds only when the matrices are symmetric, which this line does not say",
        )
    if _condition_like(a) or _condition_like(b):
        return MatrixOutcome(
            "unverifiable",
            "states a property or a value (it fails for general matrices, so it depends on what "
            "the letters are, e.g. orthogonal or symmetric)",
        )
    is_grad = isinstance(a, Grad) or isinstance(b, Grad)
    if not is_grad and _names(a) != _names(b):
        return MatrixOutcome(
            "unverifiable",
            "an equation between different unknowns (to be solved, not an identity): it cannot "
            "be checked on its own",
        )
    what = "the gradient" if is_grad else "the two sides"
    return MatrixOutcome(
        "wrong",
        f"{what} differ on random matrices (relative error {err:.3g}; capital letters are "
        f"matrices, lowercase letters vectors)",
    )


def _parts(line: str, state: MatrixState) -> tuple[list[MatrixPart], MatrixState, str | None]:
    stripped = line.lstrip()
    defs = dict(state.definitions)
    if stripped[:1] in ("=", "≈"):
        if state.last is None:
            raise ToolError("continues a chain, but no earlier expression could be read")
        texts = split_parts(stripped[1:])
        return [state.last, *(parse_part(t, defs) for t in texts)], state, None
    head = _HEAD_RE.match(stripped)
    texts = split_parts(stripped)
    if head is not None and len(texts) >= 2:
        name = matrixlang.parse(head.group(1))
        rhs = parse_part(texts[1], defs)
        new = name[0] == "var" and name[1] not in defs and name[1] != "I"
        if new and not isinstance(rhs, Grad) and name[1] not in _names(rhs):
            defs[name[1]] = rhs
            rest = [rhs, *(parse_part(t, defs) for t in texts[2:])]
            return rest, MatrixState(defs, None), name[1]
    return [parse_part(t, defs) for t in texts], MatrixState(defs, None), None


def check_matrix_line(
    line: str, state: MatrixState, limits: ToolLimits
) -> tuple[MatrixOutcome, MatrixState]:
    """Check one matrix line; return its outcome and the matrix state for the next line."""
    try:
        parts, nxt, defined = _parts(line, state)
    except ToolError as exc:
        reason = exc.reason if hasattr(exc, "reason") else exc.message
        return MatrixOutcome(
            "unverifiable", f"a matrix expression the checker cannot read: {reason}"
        ), MatrixState(state.definitions, None)
    if len(parts) == 1:
        msg = f"defines {defined} (a matrix expression)" if defined else "starting expression"
        return MatrixOutcome("ok", msg), MatrixState(nxt.definitions, parts[0])
    reading = _reading(parts)
    nxt = MatrixState(nxt.definitions, parts[-1])
    if reading is None:
        return MatrixOutcome(
            "unverifiable",
            "the shapes do not fit together under any reading the checker tries (capital letters "
            "n×n matrices, lowercase letters vectors or scalars)",
        ), nxt
    kinds, errors = reading
    sym_errors: list[float] | None = None
    if any(e > _TOL for e in errors):
        wrt = next((p.wrt for p in parts if isinstance(p, Grad)), None)
        sym_errors = _errors(parts, kinds, wrt, sym=True)
    outcome = MatrixOutcome("ok", "")
    for k, (a, b) in enumerate(itertools.pairwise(parts)):
        verdict = _judge(a, b, errors[k], sym_errors[k] if sym_errors else None)
        if verdict.status == "wrong":
            return verdict, nxt
        if outcome.status == "ok":
            outcome = verdict
    return outcome, nxt
