"""Atoms of the grammar: numbers, powers, roots, fractions, names, function calls and definitions.

``sin^2 x`` is a square, ``sin^{-1} x`` / ``tan⁻¹(x)`` / ``\\sinh^{-1} x`` the inverse function (the
standard reading of f^{-1} on a named function); ``(sin x)^{-1}`` and ``1/sin x`` stay reciprocals.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import sympy as sp

from mltutor.tools.errors import LimitExceeded, Unsupported
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.base import Definition
from mltutor.tools.parsing.lexer import NAME, NUM, OP, Token
from mltutor.tools.parsing.stat_forms import StatForms

_LOG_BASE_RE = re.compile(r"^log_([0-9]+|[A-Za-z])$")


class AtomForms(StatForms):
    """Mixin of the parser: numbers, powers, roots, fractions, names and calls."""

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
            if abs(exp.p) > 10**9 or exp.q > 10**9:
                raise LimitExceeded("exponent is too large")
            digits = abs(exp.p / exp.q) * math.log10(size) if size > 1 else 0.0
            if digits > self.limits.max_int_digits:
                raise LimitExceeded(f"a power with about {digits:.3g} digits is too large")
        return sp.Pow(base, exp)

    def factorial(self, expr: Any, tok: Token) -> Any:
        if expr.is_Integer and expr > 0:
            n = int(expr)
            if n > 10**7:
                raise LimitExceeded(
                    "the factorial of a number this large is too large to compute exactly"
                )
            if math.lgamma(n + 1) / math.log(10) > self.limits.max_int_digits:
                raise LimitExceeded(f"{n}! is too large to compute exactly")
        elif expr.is_number and not expr.is_Integer:
            raise self.fail("factorial needs a whole number", tok)
        return sp.factorial(expr)

    def parse_sqrt(self) -> Any:
        self.advance()
        index = None
        if self.is_op("["):
            opener = self.advance()
            index = self.parse_sum()
            self.expect_close(opener)
        if self.peek().kind == "END":
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
        a, b = num
        if self.int_depth and b - a >= 2 and self.is_differential(b - 2):
            # \int \frac{dx}{1 + x^2}, \int \frac{x\,dx}{1 + x^2}
            self.pending_dx = self.toks[b - 1].value
            n = self.parse_range(a, b - 2) if b - 2 > a else sp.Integer(1)
        else:
            n = self.parse_range(*num)
        d = self.parse_range(*den)
        if d == 0:
            raise self.fail("division by zero", frac_tok)
        return n / d

    def parse_name(self) -> Any:
        tok = self.advance()
        name = tok.value
        log_base = _LOG_BASE_RE.match(name)
        if name in self.ctx.definitions:
            return self.apply_definition(self.ctx.definitions[name], tok)
        stat = self.stat_form(tok)
        if stat is not None:
            return stat
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
        if name in nm.OPERATOR_WORDS:
            raise self.fail(f"expected '(' after {name}")
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

    def _function_power(self) -> Any:
        """``^2`` / ``^{-1}`` / ``⁻¹`` / ``^(-1)`` right after a function name, else None."""
        if not self.is_op("^"):
            return None
        nxt = self.peek(1)
        if nxt.kind == OP and nxt.value == "(":
            close = self.matching_close(self.i + 1)
            if close < 0 or not self.starts_primary(self.tok_at(close + 1)):
                return None  # sin^(x) alone is not a function power
        elif nxt.kind not in (NUM, OP):
            return None
        self.advance()
        return self.parse_exponent_atom()

    def parse_call(self, name: str, tok: Token) -> Any:
        m = _LOG_BASE_RE.match(name)
        base: Any = None
        if m:
            digits, letter = m.group(1).isdigit(), m.group(1)
            base = (
                sp.Integer(letter) if digits else sp.E if letter == "e" else nm.make_symbol(letter)
            )
            name = "log"
        elif name == "log" and self.is_op("_"):
            self.advance()
            base = self.parse_primary()
        n_primes = self.primes()
        power = self._function_power()
        if power is not None and power == -1 and base is None:
            if name not in nm.INVERSES:
                raise Unsupported(
                    f"{name}^(-1) is ambiguous here: write 1/{name}(x) for the reciprocal"
                )
            name, power = nm.INVERSES[name], None
        lo, hi, build = nm.FUNCTIONS[name]
        if self.is_op("("):
            args = self.call_args(name, tok)
        elif self.is_op("{") and lo == 2:  # \binom{n}{k}
            args = [self.parse_range(*self.group_range()) for _ in range(2)]
        elif (name in nm.PREFIX_FUNCTIONS or tok.value in nm.PREFIX_FUNCTIONS) and (
            self.starts_primary(self.peek())
        ):
            args = [self.prefix_arg()]
        else:
            raise self.fail(f"expected '(' after {tok.value}")
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
                and t.value not in nm.OPERATOR_WORDS
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
