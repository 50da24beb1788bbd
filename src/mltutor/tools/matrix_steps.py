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
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from mltutor.tools import matrixlang
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.matrix_lines import MatrixState, is_matrix_line
from mltutor.tools.matrix_parts import Grad, MatrixPart, parse_part, split_parts

if TYPE_CHECKING:
    import numpy as np

Node = matrixlang.Node
Status = Literal["ok", "wrong", "unverifiable", "unparsed"]
__all__ = ["MatrixOutcome", "MatrixState", "check_matrix_line", "is_matrix_line"]

_HEAD_RE = re.compile(
    r"^\s*([A-Za-z][A-Za-z0-9]*|\\[A-Za-z]+|[α-ωΑ-Ω])\s*(?:\(([^()=]*)\))?\s*=(?!=)"
)
_FUNCTION_WORDS = frozenset({*matrixlang.FUNCS, "trace", "Tr", "logdet", "ln"})
_N = 4
_TRIALS = 3
_TOL = 1e-6


@dataclass
class MatrixOutcome:
    status: Status
    message: str
    column: int | None = None
    diagnosis: str | None = None


# -- shapes and draws ------------------------------------------------------------------------------


def _kinds(names: set[str], flip: tuple[str, ...]) -> dict[str, str]:
    kinds = {n: matrixlang.default_kind(n) for n in names}
    for n in flip:
        kinds[n] = "vector" if kinds[n] == "scalar" else "scalar"
    return kinds


def _draw(kinds: dict[str, str], wrt: str | None, rng: np.random.Generator, sym: bool) -> Any:
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    env: dict[str, np.ndarray] = {}
    for name in sorted(kinds):
        kind = kinds[name]
        if kind == "scalar":
            env[name] = np.array([[rng.uniform(0.5, 2.0)]])
        elif kind == "vector":
            env[name] = rng.standard_normal((_N, 1))
        else:
            m = rng.standard_normal((_N, _N))
            if len(name) > 1 and name in matrixlang.GREEK.values():  # Σ, Λ: covariance-like
                m = m @ m.T + _N * np.eye(_N)
            elif sym and name != wrt:
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
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

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
) -> list[tuple[float, float]] | None:
    """Per consecutive pair, the largest relative error over the trials, and the same against the
    transpose of the second value (a gradient in the other layout); None when the values cannot
    be computed or their shapes differ under this reading."""
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    rng = np.random.default_rng(0)
    worst = [(0.0, 0.0)] * (len(parts) - 1)
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
                err = float(np.linalg.norm(a - b)) / scale
                square = a.shape == b.shape and a.shape[0] == a.shape[1] > 1
                err_t = float(np.linalg.norm(a - b.T)) / scale if square else float("inf")
                worst[k] = (max(worst[k][0], err), max(worst[k][1], err_t))
    return worst


def _is_zero(a: np.ndarray) -> bool:
    return a.shape == (1, 1) and a[0, 0] == 0


def _reading(
    parts: list[MatrixPart],
) -> tuple[dict[str, str], list[tuple[float, float]]] | None:
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


def _judge(
    a: MatrixPart,
    b: MatrixPart,
    errors: tuple[float, float],
    sym_err: float | None,
    said_symmetric: bool = False,
) -> MatrixOutcome:
    err, err_t = errors
    is_grad = isinstance(a, Grad) or isinstance(b, Grad)
    if err <= _TOL:
        kind = "gradient" if is_grad else "identity"
        return MatrixOutcome("ok", f"verified numerically on random matrices ({kind})")
    if is_grad and err_t <= _TOL:
        return MatrixOutcome(
            "unverifiable",
            "this is the transpose of the gradient: right in numerator layout, while the "
            "gradient in denominator layout has the shape of the variable",
        )
    if sym_err is not None and sym_err <= _TOL and said_symmetric:
        return MatrixOutcome("ok", "verified numerically on random symmetric matrices")
    if sym_err is not None and sym_err <= _TOL:
        return MatrixOutcome(
            "unverifiable",
            "holds only when the matrices are symmetric, which this line does not say",
        )
    other = b if isinstance(a, Grad) else a
    if (is_grad and not isinstance(other, Grad) and other[0] == "num") or (
        not is_grad and (_condition_like(a) or _condition_like(b))
    ):
        return MatrixOutcome(
            "unverifiable",
            "states a property or a condition (it fails for general matrices, so it depends on "
            "what the letters are, e.g. orthogonal or symmetric, or on a value being chosen)",
        )
    if not is_grad and _names(a) != _names(b):
        return MatrixOutcome(
            "unverifiable",
            "an equation between different unknowns (to be solved, not an identity): it cannot "
            "be checked on its own",
        )
    what = "the claimed gradient and the true one" if is_grad else "the two sides"
    return MatrixOutcome(
        "wrong",
        f"{what} differ on random matrices (relative error {err:.3g}; capital letters are "
        f"matrices, lowercase letters vectors)",
    )


def _order_slip(a: MatrixPart, b: MatrixPart) -> str | None:
    """``(AB)^T = A^T B^T``, ``(AB)^{-1} = A^{-1}B^{-1}``: the order was not reversed."""
    if isinstance(a, Grad) or isinstance(b, Grad) or a[0] not in ("T", "inv"):
        return None
    inner, op = a[1], a[0]
    if inner[0] == "*" and b[0] == "*" and b[1] == (op, inner[1]) and b[2] == (op, inner[2]):
        what = "transposing" if op == "T" else "inverting"
        return f"{what} a product reverses its order: (XY){'ᵀ' if op == 'T' else '⁻¹'} = " + (
            "YᵀXᵀ" if op == "T" else "Y⁻¹X⁻¹"
        )
    return None


def _factor_slip(a: MatrixPart, b: MatrixPart, kinds: dict[str, str]) -> str | None:
    """The claim is a constant multiple (−1, 2, 1/2, ...) of the true value on every draw."""
    import numpy as np  # lazily: `mltutor check` reads most lines without NumPy

    wrt = a.wrt if isinstance(a, Grad) else b.wrt if isinstance(b, Grad) else None
    rng = np.random.default_rng(1)
    factors = []
    with np.errstate(all="ignore"):
        for _ in range(2):
            env = _draw(kinds, wrt, rng, sym=False)
            try:
                va, vb = _value(a, env), _value(b, env)
            except (ToolError, np.linalg.LinAlgError):
                return None
            if va.shape != vb.shape:
                vb = vb.T if va.shape == vb.T.shape else vb
            if va.shape != vb.shape or not np.all(np.isfinite(va)) or not np.any(va):
                return None
            k = float(np.sum(va * vb) / np.sum(va * va))
            if float(np.linalg.norm(vb - k * va)) > 1e-6 * max(1.0, float(np.linalg.norm(vb))):
                return None
            factors.append(k)
    if abs(factors[0] - factors[1]) > 1e-6 * max(1.0, abs(factors[0])):
        return None
    ratio = Fraction(factors[0]).limit_denominator(12)
    if abs(float(ratio) - factors[0]) > 1e-6 or ratio in (0, 1):
        return None
    if ratio == -1:
        return "sign flipped: the claim is the negative of the correct value"
    return f"off by a constant factor: the claim is {ratio} times the correct value"


def _defined_name(lhs: str) -> str | None:
    """``L``, ``RSS``, ``L(w)``, ``\\hat{\\beta}``: the name a line defines, else None."""
    m = _HEAD_RE.match(lhs + "=")
    if m is not None and m.group(1) in _FUNCTION_WORDS:
        return None
    if m is not None and re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", m.group(1)):
        return m.group(1)
    try:
        node = matrixlang.parse(re.sub(r"\([^()]*\)\s*$", "", lhs))
    except ToolError:
        return None
    return str(node[1]) if node[0] == "var" else None


def _parts(line: str, state: MatrixState) -> tuple[list[MatrixPart], MatrixState, str | None]:
    stripped = line.lstrip()
    defs = dict(state.definitions)
    if stripped[:1] in ("=", "≈"):
        if state.last is None:
            raise ToolError("continues a chain, but no earlier expression could be read")
        texts = split_parts(stripped[1:])
        return [state.last, *(parse_part(t, defs) for t in texts)], state, None
    texts = split_parts(stripped)
    name = _defined_name(texts[0]) if len(texts) >= 2 else None
    if name is not None and name not in defs and name != "I":
        rhs = parse_part(texts[1], defs)
        if not isinstance(rhs, Grad) and name not in _names(rhs):
            defs[name] = rhs
            rest = [rhs, *(parse_part(t, defs) for t in texts[2:])]
            return rest, MatrixState(defs, None), name
    return [parse_part(t, defs) for t in texts], MatrixState(defs, None), None


def check_matrix_line(
    line: str, state: MatrixState, limits: ToolLimits, *, symmetric: bool = False
) -> tuple[MatrixOutcome, MatrixState]:
    """Check one matrix line; return its outcome and the matrix state for the next line.
    ``symmetric``: the line says its matrices are symmetric."""
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
    if any(e > _TOL for e, _ in errors):
        wrt = next((p.wrt for p in parts if isinstance(p, Grad)), None)
        sym = _errors(parts, kinds, wrt, sym=True)
        sym_errors = [e for e, _ in sym] if sym is not None else None
    outcome = MatrixOutcome("ok", "")
    for k, (a, b) in enumerate(itertools.pairwise(parts)):
        verdict = _judge(a, b, errors[k], sym_errors[k] if sym_errors else None, symmetric)
        if verdict.status == "wrong":
            verdict.diagnosis = _order_slip(a, b) or _factor_slip(a, b, kinds)
            return verdict, nxt
        if outcome.status == "ok":
            outcome = verdict
    return outcome, nxt
