"""Recursive-descent parser from tokens straight to SymPy objects; no string is ever evaluated.

Precedence, loosest first: ``+ -``; ``* /`` and implicit multiplication; unary sign; ``^``
(right-associative, so ``-x^2 = -(x^2)`` and ``2^3^2 = 2^9``); postfix ``! % '``; primaries.
Derivatives (``d/dx``, ``∂L/∂w``, ``\\frac{d}{dx}``), integrals and sums stay unevaluated
(``Derivative``/``Integral``/``Sum``) so callers decide when to compute them under a time bound.
The atoms live in :mod:`.atoms`, calculus notation in :mod:`.calculus_forms`, statistics notation in
:mod:`.stat_forms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.atoms import AtomForms
from mltutor.tools.parsing.base import CLOSE, OPEN
from mltutor.tools.parsing.lexer import END, FRAC, INT, NAME, NUM, OP, PARTIAL, SQRT, SUM, Token

_MAX_DEPTH = 40
_FN_DIGITS_RE = re.compile(r"^([a-z]+?)(\d+)$")
_D_VAR_RE = re.compile(r"^d([A-Za-z](?:_[A-Za-z0-9]+|[0-9]+)?)$")


@dataclass(frozen=True)
class Part:
    """One side of a chain ``A = B ≈ C``: the expression, where it stands and how it relates."""

    expr: Any
    col: int
    end_col: int
    text: str
    relation: str
    """'' for the first part, '=' or '≈' for the relation to the part before."""
    decimals: int | None
    """Digits after the decimal point when the part is a lone decimal literal, else None."""


def prepare(tokens: list[Token], known: frozenset[str]) -> list[Token]:
    """Split runs of letters people write without spaces (``2xy``, ``sinx``, ``dL``, ``ln2``)."""
    out: list[Token] = []
    for tok in tokens:
        if tok.kind != NAME:
            out.append(tok)
            continue
        name = tok.value
        if name.endswith("_hat") and len(name) > 4:
            name = name[:-4] + "hat"
        if nm.normalize(name) in known or name in nm.FUNCTIONS:
            out.append(Token(NAME, name, tok.col, tok.space))
            continue
        m = _FN_DIGITS_RE.match(name)
        if m and m.group(1) in nm.PREFIX_FUNCTIONS:  # ln2 -> ln 2
            out += [
                Token(NAME, m.group(1), tok.col, tok.space),
                Token(NUM, m.group(2), tok.col + len(m.group(1))),
            ]
            continue
        m = _D_VAR_RE.match(name)
        if m and name not in known and ("_" in name or name[-1].isdigit()):  # dw_1 -> d w_1
            out += [Token(NAME, "d", tok.col, tok.space), Token(NAME, m.group(1), tok.col + 1)]
            continue
        if nm.is_single_name(name, known):
            out.append(Token(NAME, name, tok.col, tok.space))
            continue
        col, first = tok.col, True
        for piece in nm.split_word(name, known):
            out.append(Token(NAME, piece, col, tok.space if first else False))
            col, first = col + len(piece), False
    # defined names are keyed by their canonical spelling: R2 and R_2 are the same name
    return [
        Token(NAME, nm.normalize(t.value), t.col, t.space)
        if t.kind == NAME and nm.normalize(t.value) in known
        else t
        for t in out
    ]


class Parser(AtomForms):
    """The grammar: sums, products, powers, postfix operators and primaries."""

    def parse_sum(self) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail("expression is nested too deeply")
        try:
            return self.continue_sum(self.parse_term())
        finally:
            self.depth -= 1

    def continue_sum(self, left: Any) -> Any:
        while self.is_op("+") or self.is_op("-"):
            op = self.advance().value
            right = self.parse_term()
            left = left + right if op == "+" else left - right
        return left

    def parse_term(self) -> Any:
        return self.continue_term(self.parse_unary())

    def continue_term(self, left: Any) -> Any:
        while True:
            tok = self.peek()
            if tok.kind == OP and tok.value in "*/":
                self.advance()
                if self.peek().kind == END:
                    raise self.fail(f"expected an expression after {tok.value!r}")
                right = self.parse_unary()
                if tok.value == "/":
                    if right == 0:
                        raise self.fail("division by zero", tok)
                    left = left / right
                else:
                    left = left * right
            elif self.starts_primary(tok):
                left = left * self.parse_power()
            else:
                return left

    def parse_unary(self) -> Any:
        if self.is_op("-"):
            self.advance()
            return -self.parse_unary()
        if self.is_op("+"):
            self.advance()
            return self.parse_unary()
        return self.parse_power()

    def parse_power(self) -> Any:
        base = self.parse_postfix()
        if self.is_op("^"):
            self.advance()
            return self.make_pow(base, self.parse_exponent())
        return base

    def parse_exponent(self) -> Any:
        if self.is_op("-"):
            self.advance()
            return -self.parse_exponent()
        if self.is_op("+"):
            self.advance()
            return self.parse_exponent()
        if self.peek().kind == END:
            raise self.fail("expected an exponent after '^'")
        base = self.parse_postfix()
        if self.is_op("^"):
            self.advance()
            return self.make_pow(base, self.parse_exponent())
        return base

    def parse_postfix(self) -> Any:
        expr = self.parse_primary()
        while True:
            if self.is_op("!"):
                expr = self.factorial(expr, self.advance())
            elif self.is_op("%"):
                self.advance()
                expr = expr / 100
            else:
                return expr

    def starts_primary(self, tok: Token) -> bool:
        if tok.kind in (NUM, SQRT, FRAC, INT, PARTIAL, SUM):
            return True
        if tok.kind == NAME:
            return not (self.int_depth and self.is_differential(self.i))
        if tok.kind == OP:
            return tok.value in OPEN or (tok.value == "|" and self.abs_depth == 0)
        return False

    def parse_primary(self) -> Any:
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise self.fail("expression is nested too deeply")
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Any:
        tok = self.peek()
        if tok.kind == NUM:
            self.advance()
            return self.number(tok)
        if tok.kind == OP and tok.value in OPEN:
            self.advance()
            self.depth += 1
            saved, self.seg_start = self.seg_start, self.i
            saved_abs, self.abs_depth = self.abs_depth, 0
            try:
                if self.peek().kind == OP and self.peek().value in CLOSE:
                    raise self.fail("empty brackets")
                inner = self.parse_sum()
            finally:
                self.seg_start, self.abs_depth = saved, saved_abs
                self.depth -= 1
            self.expect_close(tok)
            return inner
        if tok.kind == OP and tok.value == "|":
            self.advance()
            self.abs_depth += 1
            try:
                inner = self.parse_sum()
            finally:
                self.abs_depth -= 1
            if not self.is_op("|"):
                raise self.fail(f"expected '|' to close '|' from column {tok.col}")
            self.advance()
            return sp.Abs(inner)
        if tok.kind == SQRT:
            return self.parse_sqrt()
        if tok.kind == FRAC:
            return self.parse_frac()
        if tok.kind == INT:
            return self.parse_integral()
        if tok.kind == SUM:
            return self.parse_sum_operator()
        if tok.kind in (PARTIAL, NAME):
            d = self.try_derivative()
            if d is not None:
                return d
            if tok.kind == NAME:
                return self.parse_name()
            raise self.fail("'∂' must start a derivative such as ∂L/∂w or ∂/∂x (f)")
        if tok.kind == END:
            raise self.fail("expected an expression, found the end")
        raise self.fail(f"expected a number, a name or '(', found {tok.value!r}")
