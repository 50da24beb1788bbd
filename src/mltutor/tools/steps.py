"""Checking one line of a derivation against the state left by the lines before it.

Runs inside :func:`run_bounded`, so everything here is a module-level function over picklable data.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import sympy as sp

from mltutor.tools import conditions, matrix_lines
from mltutor.tools.equivalence import Equivalence, evaluate
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.moments import Facts
from mltutor.tools.parsing import Definition, ParseContext, Part, parse_chain
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.lexer import NAME, OP, tokenize
from mltutor.tools.parsing.stat_forms import STAT_NAMES
from mltutor.tools.render import plain
from mltutor.tools.step_compare import compare_parts, learned_fact

Status = Literal["ok", "wrong", "unverifiable", "unparsed"]


@dataclass
class State:
    """What earlier lines leave behind: definitions, the last expression of the chain, stated values
    of probabilities and expectations, and the matrix checker's own definitions and last part."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    last: Any = None
    facts: Facts = field(default_factory=Facts)
    matrix: matrix_lines.MatrixState = field(default_factory=matrix_lines.MatrixState)

    def after(self, last: Any = None, **changes: Any) -> State:
        """The state for the next line: same definitions and facts, a new last expression."""
        values = {
            "definitions": self.definitions,
            "last": last,
            "facts": self.facts,
            "matrix": matrix_lines.MatrixState(self.matrix.definitions, None),
        }
        values.update(changes)
        return State(**values)


@dataclass
class StepOutcome:
    status: Status
    message: str
    column: int | None = None
    diagnosis: str | None = None
    expected: str | None = None


_INDEPENDENT_RE = re.compile(r"independen|uncorrelated|\bi\.?i\.?d\b|⊥|\\perp", re.IGNORECASE)
_COMMENT_RE = re.compile(r"(#|//|\(by\b|\(since\b).*$")
_PREFIX_RE = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\(\d+\)|\d+[.)]\s)", re.IGNORECASE)


def clean(line: str) -> str:
    """Blank out decoration that is not math, keeping every column where it was."""

    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))

    line = _COMMENT_RE.sub(blank, conditions.unwrap_words(line))
    line = _PREFIX_RE.sub(blank, line)
    line = conditions.CLAUSE_RE.sub(blank, line)
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
    if name in STAT_NAMES and toks[1].kind == OP and toks[1].value in "([":
        return None  # P(A) = 0.3 states a probability, it does not define a function P
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


def _show(expected: Any) -> str | None:
    """The correct value of a wrong step, short enough to read; numbers as decimals."""
    if expected is None or sp.count_ops(expected) > 60:
        return None
    if not expected.free_symbols:
        value = evaluate(expected, {}, 15)
        if value is not None and not expected.is_Integer:
            return f"{value:.10g}"
    return plain(sp.simplify(expected))


def _chain(line: str, state: State, limits: ToolLimits) -> tuple[list[Any], State] | StepOutcome:
    """The parts to compare, or the outcome of a line that only defines or starts something."""
    stripped = line.lstrip()
    continuation = stripped[:1] in ("=", "≈")
    head = None if continuation else _definition_head(stripped, state.definitions)
    defs = dict(state.definitions)
    ctx = ParseContext(defs)
    if continuation:
        if state.last is None:
            return StepOutcome(
                "unverifiable", "continues a chain, but no earlier expression could be read"
            )
        idx = line.index(stripped[0])
        parts = parse_chain(line[:idx] + " " + line[idx + 1 :], ctx, limits)
        first = parts[0]
        parts[0] = Part(
            first.expr, first.col, first.end_col, first.text, stripped[0], first.decimals
        )
        return [state.last, *parts], state.after(definitions=defs)
    if head is not None:
        name, params = head
        rhs_start = line.index("=") + 1
        param_syms = tuple(nm.make_symbol(p) for p in params)
        parts = parse_chain(" " * rhs_start + line[rhs_start:], ctx, limits)
        defs[name] = Definition(name, param_syms, parts[0].expr)
        return list(parts), state.after(definitions=defs)
    return list(parse_chain(line, ctx, limits)), state.after(definitions=defs)


def check_line(text: str, state: State, limits: ToolLimits) -> tuple[StepOutcome, State]:
    """Check one line; return its outcome and the state for the next line."""
    line = clean(text)
    condition = conditions.read(_COMMENT_RE.sub("", text), limits)
    if matrix_lines.is_matrix_line(line, state.matrix, state.last is None):
        from mltutor.tools import matrix_steps  # lazily: with NumPy, only for matrix lines

        symmetric = condition is not None and condition.symmetric
        outcome, matrix = matrix_steps.check_matrix_line(
            line, state.matrix, limits, symmetric=symmetric
        )
        step = StepOutcome(outcome.status, outcome.message, outcome.column, outcome.diagnosis)
        return step, state.after(None, matrix=matrix)
    got = _chain(line, state, limits)
    if isinstance(got, StepOutcome):
        return got, state.after(None)
    chain, nxt = got
    if len(chain) == 1:
        head = _definition_head(line.lstrip(), state.definitions)
        if head is not None:
            name, params = head
            what = f"{name}({', '.join(params)})" if params else name
            return StepOutcome("ok", f"defines {what}"), nxt.after(chain[0].expr)
        return StepOutcome("ok", "starting expression"), nxt.after(chain[0].expr)
    independent = bool(_INDEPENDENT_RE.search(text))
    return _check_pairs(chain, nxt, independent=independent, condition=condition)


def _check_pairs(
    chain: list[Any],
    state: State,
    *,
    independent: bool = False,
    condition: conditions.Condition | None = None,
) -> tuple[StepOutcome, State]:
    """Compare each part with the one before; the first wrong pair decides, else the first
    undecided one; values stated as given become facts for later lines."""
    facts = state.facts
    undecided: StepOutcome | None = None
    methods: list[str] = []
    givens: list[str] = []
    assumptions: list[str] = []
    last = chain[-1].expr
    for prev, cur in itertools.pairwise(chain):
        guards = condition.guards if condition else None
        disjoint = condition is not None and condition.disjoint
        pair = compare_parts(
            prev, cur, facts, independent=independent, disjoint=disjoint, guards=guards
        )
        result = pair.result
        if result.equal is False and condition is not None and not condition.understood:
            result = pair.result = Equivalence(
                equal=None,
                method="undecided",
                detail=f"it does not hold in general, and the condition '{condition.text}' "
                "could not be read to check it under that condition",
            )
        if result.equal is False:
            from mltutor.tools.diagnosis import diagnose  # lazily: only a wrong step needs it

            source = prev.expr if isinstance(prev, Part) else prev
            why = pair.diagnosis or (
                diagnose(pair.expected, pair.claimed, source, pair.antiderivative)
                if pair.expected is not None
                else None
            )
            msg = f"'{cur.text}' does not follow: {result.detail}"
            shown = None if pair.antiderivative else _show(pair.expected)
            outcome = StepOutcome("wrong", msg, cur.col, why, shown)
            return outcome, state.after(cur.expr, facts=facts)
        if result.equal is None:
            undecided = undecided or StepOutcome(
                "unverifiable", f"could not decide '{cur.text}': {result.detail}", cur.col
            )
        elif pair.given is not None:
            facts = facts.learn(pair.given)
            prev_text = prev.text if isinstance(prev, Part) else plain(prev)
            givens.append(f"{prev_text} = {cur.text}")
        else:
            methods.append(result.method)
            if pair.assumption:
                assumptions.append(pair.assumption)
    if undecided is None:
        fact = learned_fact(chain[0], chain[-1], facts)
        if fact is not None:
            facts = facts.learn(fact)
    nxt = state.after(last, facts=facts)
    if undecided is not None:
        return undecided, nxt
    how = {"symbolic": "verified symbolically", "numeric": "verified numerically"}
    given_text = "takes " + "; ".join(givens) + " as given" if givens else ""
    if not methods:
        return StepOutcome("ok", given_text), nxt
    message = how.get(methods[-1], "verified")
    if assumptions:
        message += " (assuming " + "; ".join(dict.fromkeys(assumptions)) + ")"
    return StepOutcome("ok", f"{message}; {given_text}" if given_text else message), nxt
