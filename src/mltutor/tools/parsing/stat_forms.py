"""Notation from statistics and ML: ``E[X]``, ``Var(X)``, ``Cov(X, Y)``, ``P(A | B)``, ``Σ_{i=1}^n``,
``∇_w f``.

Expectations and probabilities become the unevaluated objects of :mod:`.objects`; sums become
``sp.Sum`` (``Σ_i`` with no bounds runs from 1 to ``n``); ``∇_w f`` is the derivative of ``f`` with
respect to ``w`` (the vector case goes to the matrix checker before it gets here).
"""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

from mltutor.tools.errors import Unsupported
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.calculus_forms import CalculusForms
from mltutor.tools.parsing.lexer import NAME, OP, Token
from mltutor.tools.parsing.objects import (
    Covariance,
    Expect,
    Prob,
    Variance,
    event_symbol,
    parse_event,
)

PROB_NAMES = frozenset({"P", "Pr"})
# Σ_i with no bounds runs over i = 1..n only for these index letters; Σ_x is over values of x
_INDEX_LETTERS = frozenset("ijklmnt")
STAT_NAMES = frozenset({"E", "Var", "Cov", "Corr", "P", "Pr"})


class StatForms(CalculusForms):
    """Mixin of the parser: expectation, variance, probability, sums and ∇."""

    def _opens(self, k: int = 0, square: bool = True) -> bool:
        t = self.peek(k)
        return t.kind == OP and ((t.value == "(" and not t.space) or (square and t.value == "["))

    def _bars_inside(self, open_at: int, close_at: int) -> list[int]:
        """Indices of top-level ``|`` tokens between a bracket and its match."""
        bars, level = [], 0
        for j in range(open_at + 1, close_at):
            t = self.toks[j]
            if t.kind == OP and t.value in "([{":
                level += 1
            elif t.kind == OP and t.value in ")]}":
                level -= 1
            elif t.kind == OP and t.value == "|" and level == 0:
                bars.append(j)
        return bars

    def stat_form(self, tok: Token) -> Any | None:
        """``E[...]``, ``Var(...)``, ``Cov(...)``, ``P(...)``, ``p(a | b)``, ``∇...`` at a name."""
        name = tok.value
        if name == "nabla" or name.startswith("nabla_"):
            return self.parse_nabla(tok)
        over = name == "E" and self.is_op("_") and self.peek(1).kind == OP
        if over or (name.startswith("E_") and self.is_op("[")):
            raise Unsupported(
                "an expectation over a named distribution E_{...}[...] cannot be checked"
            )
        if name in STAT_NAMES and self._opens():
            return self._stat_call(name, tok)
        if name == "p" and self._opens(square=False):
            close = self.matching_close(self.i)
            if close > 0 and self._bars_inside(self.i, close):
                return self.parse_probability(tok)
        return None

    def _stat_call(self, name: str, tok: Token) -> Any:
        if name in PROB_NAMES:
            return self.parse_probability(tok)
        opener = self.peek()
        close = self.matching_close(self.i)
        if close > 0 and self._bars_inside(self.i, close):
            raise Unsupported(f"a conditional {name}[… | …] cannot be checked")
        self.advance()
        args = [self.parse_sum()]
        while self.is_op(","):
            self.advance()
            args.append(self.parse_sum())
        self.expect_close(opener)
        want = 2 if name in ("Cov", "Corr") else 1
        if len(args) != want:
            raise self.fail(f"{name} takes {want} argument(s), got {len(args)}", tok)
        if name == "E":
            return Expect(args[0])
        if name == "Var":
            return Variance(args[0])
        if name == "Cov":
            return Covariance(*args)
        a, b = args
        return Covariance(a, b) / sp.sqrt(Variance(a) * Variance(b))

    def parse_probability(self, tok: Token) -> Any:
        """``P(A)``, ``P(A | B)``, ``P(A ∩ B | C)``, ``P(X = 1)``, ``p(x | θ)``: events by their text."""
        opener = self.advance()
        close = self.matching_close(self.i - 1)
        if close < 0:
            raise self.fail(
                f"expected {')' if opener.value == '(' else ']'} to close {opener.value!r}"
            )
        bars = self._bars_inside(self.i - 1, close)
        if len(bars) > 1:
            raise self.fail("expected one '|' in a conditional probability", self.toks[bars[1]])
        cuts = [self.i - 1, *bars, close]
        events = []
        for a, b in itertools.pairwise(cuts):
            if b == a + 1:
                raise self.fail("expected an event", self.toks[b])
            start = self.toks[a].col
            if self.text[start - 1 : start] == "\\":  # \mid, \vert
                while start < len(self.text) and self.text[start].isalpha():
                    start += 1
            raw = self.text[start : self.toks[b].col - 1]
            try:
                events.append(event_symbol(parse_event(raw)))
            except ValueError as exc:
                raise self.fail(str(exc), self.toks[a + 1]) from None
        self.i = close + 1
        return Prob(*events)

    def parse_nabla(self, tok: Token) -> Any:
        """``∇_w f``, ``\\nabla_{\\theta} J``, ``∇f(x)`` (one variable)."""
        at_start = self.i - 1 == self.seg_start
        if self.is_op("^"):
            raise Unsupported("∇² (the Laplacian) cannot be checked here")
        var = nm.make_symbol(tok.value[6:]) if tok.value.startswith("nabla_") else None
        if var is None and self.is_op("_"):
            self.advance()
            braced = self.is_op("{")
            if braced:
                self.advance()
            v = self.advance()
            if v.kind != NAME or not self._is_var(v):
                raise self.fail("expected the variable after ∇_", v)
            if braced:
                if not self.is_op("}"):
                    raise Unsupported("∇ with respect to several variables gives a vector")
                self.advance()
            var = nm.make_symbol(v.value)
        operand = self.parse_operand(at_start)
        if var is None:
            free = sorted(operand.free_symbols, key=str)
            if len(free) != 1:
                raise Unsupported(
                    "∇ of a function of several variables is a vector: write ∇_x f or ∂f/∂x "
                    "for each component"
                )
            var = free[0]
        return self._build(operand, [(var, 1)], None, tok)

    def parse_sum_operator(self) -> Any:
        """``\\sum_{i=1}^{n} body``, ``Σ_i body``, ``Σ_{k=0}^{∞} body``: the body is the next product."""
        tok = self.advance()
        index: Any = None
        lo: Any = sp.Integer(1)
        hi: Any = None
        for _ in range(2):
            if self.is_op("_") and index is None:
                self.advance()
                index, given_lo = self._sum_lower()
                if given_lo is not None:
                    lo = given_lo
            elif self.is_op("^") and hi is None:
                self.advance()
                hi = self._sum_upper()
        if index is None:
            raise Unsupported("a sum without its index (write Σ_i or \\sum_{i=1}^{n})")
        if hi is None:
            if str(index) not in _INDEX_LETTERS:
                raise Unsupported(
                    f"a sum over the values of {index} (not over i = 1..n) cannot be checked"
                )
            hi = nm.make_symbol("n")
        if self.peek().kind == "END":
            raise self.fail("expected what to sum after Σ", tok)
        body = self.parse_term()
        return sp.Sum(body, (index, lo, hi))

    def _sum_lower(self) -> tuple[Any, Any]:
        if not self.is_op("{"):
            v = self.advance()
            if v.kind != NAME:
                raise self.fail("expected the summation index", v)
            return nm.make_symbol(v.value), None
        start = self.i
        close = self.matching_close(start)
        if close < 0:
            raise self.fail("missing '}'")
        v = self.toks[start + 1]
        if v.kind != NAME:
            raise self.fail("expected the summation index", v)
        index = nm.make_symbol(v.value)
        nxt = self.toks[start + 2]
        if start + 2 == close:
            self.i = close + 1
            return index, None
        if not (nxt.kind == OP and nxt.value == "="):
            raise Unsupported("a sum over a set (Σ_{i ∈ S}) or several indices cannot be checked")
        lo = self.parse_range(start + 3, close)
        self.i = close + 1
        return index, lo

    def _sum_upper(self) -> Any:
        if self.is_op("{"):
            start = self.i
            close = self.matching_close(start)
            if close < 0:
                raise self.fail("missing '}'")
            value = self.parse_range(start + 1, close)
            self.i = close + 1
            return value
        return self.parse_primary()
