"""Entry points of the parser: one expression, a chain ``A = B = C``, or a variable name."""

from __future__ import annotations

from typing import Any

import sympy as sp

from mltutor.tools.errors import LimitExceeded, ParseError
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.base import CLOSE, OPEN, ParseContext
from mltutor.tools.parsing.lexer import END, NAME, NUM, OP, Token, tokenize
from mltutor.tools.parsing.parser import Parser, Part, prepare

RELATIONS = ("=", "≈")


def _check_size(expr: Any, limits: ToolLimits, text: str) -> None:
    for count, _ in enumerate(sp.preorder_traversal(expr), 1):
        if count > limits.max_nodes:
            raise LimitExceeded(
                f"the expression is too large (over {limits.max_nodes} nodes); split it into steps"
            )


def _lex(text: str, ctx: ParseContext, limits: ToolLimits) -> list[Token]:
    if len(text) > limits.max_input_chars:
        raise LimitExceeded(f"input is longer than {limits.max_input_chars} characters")
    return prepare(tokenize(text), ctx.known)


def _decimals(toks: list[Token]) -> int | None:
    body = [t for t in toks if not (t.kind == OP and t.value in "+-")]
    if len(body) != 1 or body[0].kind != NUM:
        return None
    value = body[0].value
    if "." not in value or "e" in value.lower():
        return None
    return len(value.split(".", 1)[1])


def split_relations(tokens: list[Token]) -> list[tuple[int, int, str]]:
    """Token ranges of the parts between top-level ``=``/``≈``, with the relation before each."""
    parts: list[tuple[int, int, str]] = []
    level, start, rel = 0, 0, ""
    for j, t in enumerate(tokens):
        if t.kind == OP and t.value in OPEN:
            level += 1
        elif t.kind == OP and t.value in CLOSE:
            level = max(0, level - 1)
        elif (t.kind == OP and t.value in RELATIONS and level == 0) or t.kind == END:
            parts.append((start, j, rel))
            start, rel = j + 1, t.value
    return parts


def parse_chain(
    text: str, ctx: ParseContext | None = None, limits: ToolLimits = DEFAULT_LIMITS
) -> list[Part]:
    """Parse ``A = B ≈ C`` into parts; each part is a SymPy expression with its column span."""
    ctx = ctx or ParseContext()
    tokens = _lex(text, ctx, limits)
    parser = Parser(text, tokens, ctx, limits)
    out: list[Part] = []
    for start, end, rel in split_relations(tokens):
        if start == end:
            col = tokens[min(end, len(tokens) - 1)].col
            where = "before" if end < len(tokens) - 1 else "after"
            what = rel or tokens[end].value
            raise ParseError(f"expected an expression {where} {what!r}", col, text)
        try:
            expr = parser.parse_range(start, end)
        except RecursionError:
            raise ParseError("expression is nested too deeply", tokens[start].col, text) from None
        _check_size(expr, limits, text)
        col, end_col = tokens[start].col, tokens[end].col
        out.append(
            Part(
                expr,
                col,
                end_col,
                text[col - 1 : end_col - 1].strip(),
                rel,
                _decimals(tokens[start:end]),
            )
        )
    return out


def parse_math(
    text: str, *, limits: ToolLimits = DEFAULT_LIMITS, ctx: ParseContext | None = None
) -> Any:
    """Parse one expression (no ``=``) into SymPy without evaluating any string as Python."""
    parts = parse_chain(text, ctx, limits)
    if len(parts) != 1:
        raise ParseError("expected one expression, found '='", parts[0].end_col, text)
    return parts[0].expr


def parse_equation(
    text: str, *, limits: ToolLimits = DEFAULT_LIMITS, ctx: ParseContext | None = None
) -> Any:
    """Parse ``lhs = rhs`` (or a bare expression, meaning ``= 0``) into ``lhs - rhs``."""
    parts = parse_chain(text, ctx, limits)
    if len(parts) > 2:
        raise ParseError("expected at most one '='", parts[1].end_col, text)
    return parts[0].expr if len(parts) == 1 else parts[0].expr - parts[1].expr


def parse_symbol(name: str) -> sp.Symbol:
    """A variable name (``x``, ``x_1``, ``θ``, ``\\lambda``, ``yhat``) as the parser's symbol."""
    toks = tokenize(name.strip())
    if len(toks) != 2 or toks[0].kind != NAME:
        raise ParseError(f"{name!r} is not a variable name", 1, name)
    value = toks[0].value
    if value in nm.FUNCTIONS or value in nm.CONSTANTS:
        raise ParseError(f"{name!r} is a function or constant, not a variable", 1, name)
    return nm.make_symbol(value)
