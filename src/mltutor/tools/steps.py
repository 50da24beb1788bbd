"""Checking one line of a derivation against the state left by the lines before it.

Runs inside :func:`run_bounded`, so everything here is a module-level function over picklable data.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import sympy as sp

from mltutor.tools.diagnosis import diagnose
from mltutor.tools.equivalence import Equivalence, compare, evaluate
from mltutor.tools.errors import ToolError, Unsupported
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing import Definition, ParseContext, Part, parse_chain
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.lexer import NAME, OP, tokenize
from mltutor.tools.render import plain

Status = Literal["ok", "wrong", "unverifiable", "unparsed"]


@dataclass
class State:
    """What earlier lines leave behind: definitions and the last expression of the chain."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    last: Any = None


@dataclass
class StepOutcome:
    status: Status
    message: str
    column: int | None = None
    diagnosis: str | None = None
    expected: str | None = None


_COMMENT_RE = re.compile(r"(#|//|\(by\b|\(since\b).*$")
_CLAUSE_RE = re.compile(r"[,;]?\s*\b(for|if|when|where|with)\b\s+[^=]*$")
_PREFIX_RE = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\(\d+\)|\d+[.)]\s)", re.IGNORECASE)


def clean(line: str) -> str:
    """Blank out decoration that is not math, keeping every column where it was."""

    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))

    line = _COMMENT_RE.sub(blank, line)
    line = _PREFIX_RE.sub(blank, line)
    line = _CLAUSE_RE.sub(blank, line)
    for token in ("$$", "$", "\\[", "\\]", "&", "\\\\"):
        line = line.replace(token, " " * len(token))
    stripped = line.rstrip()
    if stripped.endswith(".") and not stripped[-2:-1].isdigit():
        line = stripped[:-1]
    return line


def _definition_head(line: str, defs: dict[str, Definition]) -> tuple[str, list[str]] | None:
    """``NAME =`` or ``NAME(a, b) =`` with NAME new: the name and parameter names."""
    try:
        toks = tokenize(line)
    except ToolError:
        return None
    if len(toks) < 3 or toks[0].kind != NAME:
        return None
    name = nm.normalize(toks[0].value)
    if name in defs or name in nm.FUNCTIONS or name in nm.CONSTANTS or name == "d":
        return None
    if toks[1].kind == OP and toks[1].value == "=":
        return name, []
    if not (toks[1].kind == OP and toks[1].value == "("):
        return None
    params, j = [], 2
    while j < len(toks) and toks[j].kind == NAME:
        params.append(toks[j].value)
        j += 1
        if toks[j].kind == OP and toks[j].value == ",":
            j += 1
    ok = j + 1 < len(toks) and toks[j].value == ")" and toks[j + 1].value == "="
    return (name, params) if ok and params else None


def _value(expr: Any) -> Any:
    """Compute derivatives and definite integrals the expression asks for."""
    if expr.has(sp.Derivative) or expr.has(sp.Integral):
        return expr.doit()
    return expr


def _is_indefinite(expr: Any) -> bool:
    return isinstance(expr, sp.Integral) and all(len(lim) == 1 for lim in expr.limits)


def _rounding(value: Any, literal: Any, decimals: int, approx: bool) -> Equivalence:
    v = evaluate(value, {}, 50)
    if v is None:
        return Equivalence(
            equal=None, method="undecided", detail="could not evaluate it as a number"
        )
    shown = float(literal)
    tol = 0.5 * 10.0**-decimals * (2.0 if approx else 1.0) * (1 + 1e-9)
    rounded = Decimal(repr(v)).quantize(Decimal(1).scaleb(-decimals))
    if abs(v - shown) <= tol:
        return Equivalence(equal=True, method="numeric", detail=f"{v:.10g} rounds to {rounded}")
    return Equivalence(
        equal=False,
        method="numeric",
        left_value=v,
        right_value=shown,
        detail=f"the exact value {v:.10g} rounds to {rounded}, not {literal}",
    )


def compare_parts(prev: Part | Any, cur: Part) -> tuple[Equivalence, Any, Any]:
    """Compare the part before with ``cur``; returns (result, expected value, claimed value)."""
    prev_expr = prev.expr if isinstance(prev, Part) else prev
    a_raw, b_raw = prev_expr, cur.expr
    if _is_indefinite(a_raw) or _is_indefinite(b_raw):
        if _is_indefinite(a_raw) and _is_indefinite(b_raw):
            return compare(a_raw.function, b_raw.function), a_raw.function, b_raw.function
        integral, other = (a_raw, b_raw) if _is_indefinite(a_raw) else (b_raw, a_raw)
        var = integral.limits[0][0]
        claimed = sp.diff(_value(other), var)
        res = compare(integral.function, claimed)
        if res.equal is False:
            res.detail = (
                f"d/d{var} of the antiderivative is {plain(claimed)}, not the integrand "
                f"{plain(integral.function)}"
            )
        return res, integral.function, claimed
    a, b = _value(a_raw), _value(b_raw)
    if a.has(sp.Derivative) or b.has(sp.Derivative):
        raise Unsupported("this derivative involves a function that is not defined")
    approx = cur.relation == "≈"
    prev_decimals = prev.decimals if isinstance(prev, Part) else None
    if cur.decimals is not None and not a.free_symbols:
        return _rounding(a, b, cur.decimals, approx), a, b
    if prev_decimals is not None and not b.free_symbols:
        return _rounding(b, a, prev_decimals, approx), a, b
    if approx and not a.free_symbols and not b.free_symbols:
        va, vb = evaluate(a, {}), evaluate(b, {})
        if va is not None and vb is not None:
            ok = abs(va - vb) <= 1e-3 * max(abs(va), abs(vb), 1e-12)
            return Equivalence(equal=ok, method="numeric", detail=f"{va:.6g} ≈ {vb:.6g}"), a, b
    return compare(a, b), a, b


def _show(expected: Any) -> str | None:
    """The correct value of a wrong step, short enough to read; numbers as decimals."""
    if expected is None or sp.count_ops(expected) > 60:
        return None
    if not expected.free_symbols:
        value = evaluate(expected, {}, 15)
        if value is not None and not expected.is_Integer:
            return f"{value:.10g}"
    return plain(sp.simplify(expected))


def check_line(text: str, state: State, limits: ToolLimits) -> tuple[StepOutcome, State]:
    """Check one line; return its outcome and the state for the next line."""
    line = clean(text)
    stripped = line.lstrip()
    continuation = stripped[:1] in ("=", "≈")
    head = None if continuation else _definition_head(stripped, state.definitions)
    defs = dict(state.definitions)
    ctx = ParseContext(defs)
    if continuation:
        if state.last is None:
            return StepOutcome(
                "unverifiable", "continues a chain, but no earlier expression could be read"
            ), State(defs, None)
        idx = line.index(stripped[0])
        parts = parse_chain(line[:idx] + " " + line[idx + 1 :], ctx, limits)
        first_rel = stripped[0]
        parts[0] = Part(
            parts[0].expr,
            parts[0].col,
            parts[0].end_col,
            parts[0].text,
            first_rel,
            parts[0].decimals,
        )
        chain: list[Any] = [state.last, *parts]
    elif head is not None:
        name, params = head
        rhs_start = line.index("=") + 1
        param_syms = tuple(nm.make_symbol(p) for p in params)
        parts = parse_chain(" " * rhs_start + line[rhs_start:], ctx, limits)
        defs[name] = Definition(name, param_syms, parts[0].expr)
        chain = list(parts)
        if len(chain) == 1:
            what = f"{name}({', '.join(params)})" if params else name
            return StepOutcome("ok", f"defines {what}"), State(defs, parts[0].expr)
    else:
        chain = list(parse_chain(line, ctx, limits))
        if len(chain) == 1:
            return StepOutcome("ok", "starting expression"), State(defs, chain[0].expr)
    for prev, cur in itertools.pairwise(chain):
        result, expected, claimed = compare_parts(prev, cur)
        if result.equal is False:
            source = prev.expr if isinstance(prev, Part) else prev
            why = diagnose(expected, claimed, source) if expected is not None else None
            exp_text = _show(expected)
            msg = f"'{cur.text}' does not follow: {result.detail}"
            return StepOutcome("wrong", msg, cur.col, why, exp_text), State(defs, cur.expr)
        if result.equal is None:
            return StepOutcome(
                "unverifiable", f"could not decide '{cur.text}': {result.detail}", cur.col
            ), State(defs, cur.expr)
    how = {"symbolic": "verified symbolically", "numeric": "verified numerically"}
    return StepOutcome("ok", how.get(result.method, "verified")), State(defs, chain[-1].expr)
