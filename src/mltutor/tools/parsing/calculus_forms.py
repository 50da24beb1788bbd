"""Derivative and integral notations: ``d/dx f``, ``dL/dw``, ``∂²f/∂x∂y``, ``\\frac{d}{dx}``, ``∫_a^b f dx``.

They are recognised on the token stream (so ``d`` stays an ordinary name elsewhere) and built
unevaluated; the caller computes them under a time bound.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from mltutor.tools.errors import Unsupported
from mltutor.tools.parsing import names as nm
from mltutor.tools.parsing.base import OPEN, ParserBase
from mltutor.tools.parsing.lexer import END, FRAC, NAME, NUM, OP, PARTIAL, Token

# letters that usually name a quantity depending on the variable, not a constant: d/dx y is unknown
_DEPENDENT = frozenset("fghuvy")


class CalculusForms(ParserBase):
    """Mixin of the parser: recognisers for derivative and integral notation."""

    def _is_d(self, tok: Token) -> bool:
        return tok.kind == PARTIAL or (tok.kind == NAME and tok.value == "d")

    def _is_var(self, tok: Token) -> bool:
        return (
            tok.kind == NAME
            and tok.value not in nm.FUNCTIONS
            and tok.value not in nm.CONSTANTS
            and tok.value not in self.ctx.definitions
        )

    def _is_defined_var(self, tok: Token) -> bool:
        """A name defined earlier as a quantity (``z = w x + b``): ∂L/∂z is the derivative along it."""
        d = self.ctx.definitions.get(tok.value) if tok.kind == NAME else None
        return d is not None and not d.params

    def _along_defined(self, operand: Any, diffs: list[tuple[Any, int]], at: Token) -> Any:
        """``∂L/∂z`` with ``z = w x + b`` defined: L written in terms of z (its definition replaced
        by the symbol), differentiated, and z's definition put back."""
        bodies = {}
        for var, _ in diffs:
            d = self.ctx.definitions.get(str(var))
            if d is None or d.params:
                continue
            replaced = operand.subs(d.body, var)
            inside = d.body.free_symbols
            if var not in replaced.free_symbols or (inside and inside <= replaced.free_symbols):
                raise Unsupported(
                    f"the derivative with respect to {var} ({var} was defined as "
                    f"{d.body}) needs the expression written in terms of {var}"
                )
            operand, bodies[var] = replaced, d.body
        derivative = sp.Derivative(operand, *diffs)
        if not bodies:
            return derivative
        return sp.Subs(derivative, tuple(bodies), tuple(bodies.values()))

    def is_differential(self, j: int) -> bool:
        """Whether tokens at ``j`` read ``d x`` (the ``dx`` closing an integrand)."""
        return (
            self.tok_at(j).kind == NAME
            and self.tok_at(j).value == "d"
            and self._is_var(self.tok_at(j + 1))
        )

    def _order_at(self, j: int, limit: int) -> tuple[int, int] | None:
        """``^2`` or ``^{2}`` at ``j``: (order, index after it), else None."""
        t = self.toks
        if not (j + 1 < limit and t[j].kind == OP and t[j].value == "^"):
            return None
        if t[j + 1].kind == NUM and t[j + 1].value.isdigit():
            return int(t[j + 1].value), j + 2
        braced = (
            j + 3 < limit
            and t[j + 1].kind == OP
            and t[j + 1].value == "{"
            and t[j + 2].kind == NUM
            and t[j + 2].value.isdigit()
            and t[j + 3].kind == OP
            and t[j + 3].value == "}"
        )
        return (int(t[j + 2].value), j + 4) if braced else None

    def differentials(self, j: int, limit: int) -> tuple[list[tuple[Any, int]], int]:
        """Read ``dx``, ``dx^2``, ``∂x ∂y`` from ``j``; return (var, order) pairs and the next index."""
        out: list[tuple[Any, int]] = []
        while j + 1 < limit:
            d, v = self.toks[j], self.toks[j + 1]
            if not (self._is_d(d) and (self._is_var(v) or self._is_defined_var(v))):
                break
            j += 2
            order = 1
            found = self._order_at(j, limit)
            if found is not None:
                order, j = found
            out.append((nm.make_symbol(v.value), order))
            if d.kind != PARTIAL:
                break
        return out, j

    def _numerator_order(self, j: int, limit: int) -> tuple[int | None, int]:
        found = self._order_at(j, limit)
        return (found[0], found[1]) if found is not None else (None, j)

    def _build(
        self, operand: Any, diffs: list[tuple[Any, int]], order: int | None, at: Token
    ) -> Any:
        total = sum(m for _, m in diffs)
        if order is not None and order != total:
            if len(diffs) == 1 and total == 1:
                diffs = [(diffs[0][0], order)]
            else:
                raise self.fail(f"derivative order {order} does not match the denominator", at)
        if max(m for _, m in diffs) > 20:
            raise self.fail("derivative order above 20 is not supported", at)
        if operand.is_Symbol and operand not in {v for v, _ in diffs}:
            name = str(operand)
            if not (len(name) == 1 and name.islower() and name not in _DEPENDENT):
                raise Unsupported(
                    f"{name} is not defined on an earlier line, so its derivative is unknown "
                    f"(write '{name} = ...' first)"
                )
        return self._along_defined(operand, diffs, at)

    def _named_operand(self, tok: Token, var: Any) -> Any:
        name = tok.value
        if name in self.ctx.definitions:
            return self.ctx.definitions[name].body
        raise Unsupported(
            f"d{name}/d{var}: {name} is not defined on an earlier line (write e.g. "
            f"'{name} = ...' first, or d/d{var} (expression))"
        )

    def parse_operand(self, at_start: bool) -> Any:
        """What ``d/dx`` applies to: the next product, or the whole rest when it opens the part."""
        first = self.peek()
        if first.kind == END:
            raise self.fail("expected what to differentiate after the derivative operator")
        start = self.i
        expr = self.parse_term()
        if at_start and (self.is_op("+") or self.is_op("-")):
            group_only = (
                first.kind == OP and first.value in OPEN and self._group_end(start) == self.i
            )
            if not group_only:
                while (self.is_op("+") or self.is_op("-")) and not self._derivative_at(self.i + 1):
                    op = self.advance().value
                    right = self.parse_term()
                    expr = expr + right if op == "+" else expr - right
        return expr

    def _derivative_at(self, j: int) -> bool:
        """Whether a new derivative operator starts at ``j`` (``d/dx f + d/dx g`` is two terms)."""
        t = self.tok_at(j)
        if t.kind == FRAC:
            nxt = self.tok_at(j + 2)
            return self.tok_at(j + 1).value == "{" and self._is_d(nxt)
        if not self._is_d(t):
            return False
        k = j + 1
        if self.tok_at(k).kind == OP and self.tok_at(k).value == "^":
            k += 2
        return self.tok_at(k).kind == OP and self.tok_at(k).value == "/"

    def _group_end(self, start: int) -> int:
        level, j = 0, start
        while j < self.end:
            t = self.toks[j]
            if t.kind == OP and t.value in OPEN:
                level += 1
            elif t.kind == OP and t.value in ")]}":
                level -= 1
                if level == 0:
                    return j + 1
            j += 1
        return -1

    def try_derivative(self) -> Any | None:
        """``d/dx …``, ``d^2/dx^2 …``, ``dL/dw``, ``∂/∂x …``, ``∂L/∂w``, ``∂²f/∂x∂y``; else None."""
        tok = self.peek()
        if not self._is_d(tok):
            return None
        start, at_start = self.i, self.i == self.seg_start
        order, j = self._numerator_order(start + 1, self.end)
        name_tok = None
        if (
            self.tok_at(j).kind == NAME
            and self.tok_at(j + 1).kind == OP
            and self.tok_at(j + 1).value == "/"
        ):
            name_tok, j = self.tok_at(j), j + 1
        if not (self.tok_at(j).kind == OP and self.tok_at(j).value == "/"):
            return None
        diffs, after = self.differentials(j + 1, self.end)
        if not diffs:
            return None
        self.i = after
        operand = (
            self._named_operand(name_tok, diffs[0][0])
            if name_tok is not None
            else self.parse_operand(at_start)
        )
        return self._build(operand, diffs, order, tok)

    def frac_derivative(self, num: tuple[int, int], den: tuple[int, int], at_start: bool) -> Any:
        """``\\frac{d}{dx} …``, ``\\frac{dL}{dw}``, ``\\frac{\\partial^2 f}{\\partial x^2}``; else None."""
        a, b = num
        if a >= b or not self._is_d(self.toks[a]):
            return None
        diffs, k = self.differentials(den[0], den[1])
        if not diffs or k != den[1]:
            return None
        order, j = self._numerator_order(a + 1, b)
        if j < b:
            if (
                j + 1 == b
                and self.toks[j].kind == NAME
                and self.toks[j].value in self.ctx.definitions
            ):
                operand = self._named_operand(self.toks[j], diffs[0][0])
            else:
                operand = self.parse_range(j, b)
        else:
            operand = self.parse_operand(at_start)
        return self._build(operand, diffs, order, self.toks[a])

    def _limit(self) -> Any:
        if self.is_op("-"):
            self.advance()
            return -self._limit()
        return self.parse_primary()

    def parse_integral(self) -> Any:
        """``∫ f dx`` (indefinite) or ``∫_a^b f dx`` (definite), left unevaluated."""
        self.advance()
        lower = upper = None
        if self.is_op("_"):
            self.advance()
            lower = self._limit()
            if not self.is_op("^"):
                raise self.fail("expected ^upper after the lower limit")
            self.advance()
            upper = self._limit()
        elif self.is_op("^"):
            self.advance()
            upper = self._limit()
            if not self.is_op("_"):
                raise self.fail("expected _lower after the upper limit")
            self.advance()
            lower = self._limit()
        if self.peek().kind == END:
            raise self.fail("expected the integrand after ∫")
        saved_dx, self.pending_dx = self.pending_dx, None
        self.int_depth += 1
        try:
            var_name, integrand = self._integrand()
        finally:
            self.int_depth -= 1
            self.pending_dx = saved_dx
        var = nm.make_symbol(var_name)
        if lower is None:
            return sp.Integral(integrand, var)
        return sp.Integral(integrand, (var, lower, upper))

    def _integrand(self) -> tuple[str, Any]:
        """The integrand and the variable: ``f dx``, ``dx/(1 + x^2)``, ``\\frac{dx}{…}``, ``dx``."""
        if self.is_differential(self.i):
            self.advance()
            var_name = self.advance().value
            if not self.is_op("/"):
                return var_name, sp.Integer(1)  # ∫ dx = x + C
            self.advance()
            den = self.parse_unary()
            if den == 0:
                raise self.fail("division by zero")
            return var_name, self.continue_sum(self.continue_term(1 / den))
        integrand = self.parse_sum()
        if self.is_differential(self.i):
            self.advance()
            return self.advance().value, integrand
        if self.pending_dx is not None:
            return self.pending_dx, integrand
        raise self.fail("expected dx (the variable of integration) after the integrand")
