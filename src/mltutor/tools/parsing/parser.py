"""Recursive-descent parser from tokens straight to SymPy objects; no string is ever evaluated.

Precedence, loosest first: ``+ -``; ``* /`` and implicit multiplication; unary sign; ``^``
(right-associative, so ``-x^2 = -(x^2)`` and ``2^3^2 = 2^9``); postfix ``! % '``; primaries.
Derivatives (``d/dx``, ``∂L/∂w``, ``\\frac{d}{dx}``) and integrals stay unevaluated
(``Derivative``/``Integral``) so callers decide when to compute them under a time bound.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

from mltutor.tools.errors import LimitExceeded
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.base import CLOSE, OPEN, Definition
from mltutor.tools.parsing.calculus_forms import CalculusForms
from mltutor.tools.parsing.lexer import END, FRAC, INT, NAME, NUM, OP, PARTIAL, SQRT, Token

_MAX_DEPTH = 40
_LOG_BASE_RE = re.compile(r"^log_([0-9]+|e)$")
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


class Parser(CalculusForms):
    """The grammar: sums, products, powers, postfix operators and primaries."""

    # -- grammar -------------------------------------------------------------------------------

    def parse_sum(self) -> Any:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail("expression is nested too deeply")
        try:
            left = self.parse_term()
            while self.is_op("+") or self.is_op("-"):
                op = self.advance().value
                right = self.parse_term()
                left = left + right if op == "+" else left - right
            return left
        finally:
            self.depth -= 1

    def parse_term(self) -> Any:
        left = self.parse_unary()
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
                tok = self.advance()
                if expr.is_Integer and expr > 0:
                    n = int(expr)
                    if math.lgamma(n + 1) / math.log(10) > self.limits.max_int_digits:
                        raise LimitExceeded(f"{n}! is too large to compute exactly")
                elif expr.is_number and not expr.is_Integer:
                    raise self.fail("factorial needs a whole number", tok)
                expr = sp.factorial(expr)
            elif self.is_op("%"):
                self.advance()
                expr = expr / 100
            else:
                return expr

    def starts_primary(self, tok: Token) -> bool:
        if tok.kind in (NUM, SQRT, FRAC, INT, PARTIAL):
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

    # -- atoms -----------------------------------------------------------------------------------

    def number(self, tok: Token) -> Any:
        m = re.match(r"^[^eE]*[eE]([+-]?\d+)$", tok.value)
        if m and abs(int(m.group(1))) > self.limits.max_int_digits:
            raise LimitExceeded(f"the number {tok.value} is too large")
        if len(tok.value) > self.limits.max_int_digits:
            raise LimitExceeded("a number literal is too long")
        f = Fraction(tok.value)
        return sp.Rational(f.numerator, f.denominator)

    def make_pow(self, base: Any, exp: Any) -> Any:
        if exp.is_Integer and abs(int(exp)) > 10**6:
            raise LimitExceeded("exponent is too large")
        if base.is_Rational and exp.is_Rational and base not in (0, 1, -1):
            size = max(abs(base.p), abs(base.q))
            digits = abs(float(exp)) * math.log10(size) if size > 1 else 0.0
            if digits > self.limits.max_int_digits:
                raise LimitExceeded(f"a power with about {digits:.3g} digits is too large")
        return sp.Pow(base, exp)

    def parse_sqrt(self) -> Any:
        self.advance()
        index = None
        if self.is_op("["):
            opener = self.advance()
            index = self.parse_sum()
            self.expect_close(opener)
        if self.peek().kind == END:
            raise self.fail("expected what to take the root of")
        arg = self.parse_postfix()
        return sp.sqrt(arg) if index is None else sp.root(arg, index)

    def parse_frac(self) -> Any:
        frac_tok = self.advance()
        at_start = self.i - 1 == self.seg_start
        num = self.group_range()
        den = self.group_range()
        deriv = self.frac_derivative(num, den, at_start)
        if deriv is not None:
            return deriv
        n, d = self.parse_range(*num), self.parse_range(*den)
        if d == 0:
            raise self.fail("division by zero", frac_tok)
        return n / d

    def parse_name(self) -> Any:
        tok = self.advance()
        name = tok.value
        log_base = _LOG_BASE_RE.match(name)
        if name in self.ctx.definitions:
            return self.apply_definition(self.ctx.definitions[name], tok)
        if name in nm.FUNCTIONS or log_base:
            return self.parse_call(name, tok)
        if name == "sigma" and (self.is_op("(") or self.is_op("'")) and not self.peek().space:
            return self.parse_sigma(tok)
        if name in nm.CONSTANTS:
            return nm.CONSTANTS[name]
        if (
            name in nm.FUNCTION_LETTERS
            and (self.is_op("(") or self.is_op("'"))
            and not self.peek().space
        ):
            return self.parse_unknown_function(name, tok)
        if self.is_op("'"):
            raise self.fail(f"{name}' : prime notation needs a function, e.g. f'(x)")
        return nm.make_symbol(name)

    def primes(self) -> int:
        n = 0
        while self.is_op("'"):
            self.advance()
            n += 1
        return n

    def call_args(self, name: str, tok: Token) -> list[Any]:
        if not self.is_op("("):
            raise self.fail(f"expected '(' after {name}")
        opener = self.advance()
        args = [self.parse_sum()]
        while self.is_op(","):
            self.advance()
            args.append(self.parse_sum())
        self.expect_close(opener)
        return args

    def parse_call(self, name: str, tok: Token) -> Any:
        m = _LOG_BASE_RE.match(name)
        base: Any = None
        if m:
            name, base = "log", sp.E if m.group(1) == "e" else sp.Integer(m.group(1))
        elif name == "log" and self.is_op("_"):
            self.advance()
            base = self.parse_primary()
        n_primes = self.primes()
        power: Any = None
        if self.is_op("^") and self.peek(1).kind in (NUM, OP) and not self.is_op("(", 1):
            self.advance()
            power = self.parse_exponent_atom()
        lo, hi, build = nm.FUNCTIONS[name]
        if self.is_op("("):
            args = self.call_args(name, tok)
        elif name in nm.PREFIX_FUNCTIONS and self.starts_primary(self.peek()):
            args = [self.prefix_arg()]
        else:
            raise self.fail(f"expected '(' after {name}")
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{name} takes {want} argument(s), got {len(args)}", tok)
        if base is not None:
            args = [args[0], base]
            build = nm.FUNCTIONS["log"][2]
        if n_primes:
            if len(args) != 1:
                raise self.fail(f"{name}' needs a one-argument function", tok)
            t = sp.Dummy("t", real=True)
            result = sp.diff(build(t), t, n_primes).subs(t, args[0])
        else:
            result = build(*args)
        return result if power is None else self.make_pow(result, power)

    def parse_exponent_atom(self) -> Any:
        sign = 1
        if self.is_op("-"):
            self.advance()
            sign = -1
        return sign * self.parse_primary()

    def prefix_arg(self) -> Any:
        """Argument of ``\\sin x`` / ``ln 2x``: a product of simple factors, stopping at functions."""
        arg = self.parse_power()
        while True:
            t = self.peek()
            if t.kind == NUM or (
                t.kind == NAME
                and t.value not in nm.FUNCTIONS
                and t.value not in self.ctx.definitions
                and self.starts_primary(t)
                and not self.is_op("(", 1)
            ):
                arg = arg * self.parse_power()
            else:
                return arg

    def parse_sigma(self, tok: Token) -> Any:
        n_primes = self.primes()
        args = self.call_args("σ", tok)
        sigma = nm.make_symbol("sigma")
        if len(args) != 1 or sigma in args[0].free_symbols:
            # σ(1 - σ) is σ times (1 - σ): σ stands for a value there
            product: Any = sigma
            for a in args:
                product = product * a
            return product
        t = sp.Dummy("t", real=True)
        expr = nm.FUNCTIONS["sigmoid"][2](t)
        return (sp.diff(expr, t, n_primes) if n_primes else expr).subs(t, args[0])

    def parse_unknown_function(self, name: str, tok: Token) -> Any:
        n_primes = self.primes()
        args = self.call_args(name, tok)
        f = sp.Function(name)
        if not n_primes:
            return f(*args)
        if len(args) != 1:
            raise self.fail(f"{name}' needs a one-argument function", tok)
        t = sp.Dummy("t", real=True)
        return sp.diff(f(t), t, n_primes).subs(t, args[0])

    def apply_definition(self, d: Definition, tok: Token) -> Any:
        if not d.params:
            if self.is_op("'"):
                raise self.fail(f"{d.name}' : prime notation needs a function, e.g. f'(x)")
            return d.body
        n_primes = self.primes()
        args = self.call_args(d.name, tok)
        if len(args) != len(d.params):
            raise self.fail(f"{d.name} takes {len(d.params)} argument(s), got {len(args)}", tok)
        body = d.body
        if n_primes:
            if len(d.params) != 1:
                raise self.fail(f"{d.name}' needs a one-argument function", tok)
            body = sp.diff(body, d.params[0], n_primes)
        return body.subs(dict(zip(d.params, args, strict=True)), simultaneous=True)
