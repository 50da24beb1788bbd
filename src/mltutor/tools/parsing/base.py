"""Token-stream plumbing shared by the grammar and the calculus forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from mltutor.tools.errors import ParseError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing.lexer import END, OP, Token

OPEN = {"(": ")", "[": "]", "{": "}"}
CLOSE = frozenset(OPEN.values())


@dataclass(frozen=True)
class Definition:
    """A name defined on an earlier line: ``L = ...`` (no params) or ``f(x) = ...``."""

    name: str
    params: tuple[sp.Symbol, ...]
    body: Any


@dataclass
class ParseContext:
    """Names defined so far; the parser substitutes them and never splits them into letters."""

    definitions: dict[str, Definition] = field(default_factory=dict)

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.definitions)


class ParserBase:
    """Cursor over one token list; ``end`` bounds the slice being parsed (chain parts, \\frac groups)."""

    def __init__(self, text: str, tokens: list[Token], ctx: ParseContext, limits: ToolLimits):
        self.text, self.toks, self.ctx, self.limits = text, tokens, ctx, limits
        self.i, self.end, self.seg_start = 0, len(tokens) - 1, 0
        self.depth = self.abs_depth = self.int_depth = 0
        self.pending_dx: str | None = None

    # implemented by the grammar (parser.py) and the atoms (atoms.py)
    def parse_sum(self) -> Any:
        raise NotImplementedError

    def parse_term(self) -> Any:
        raise NotImplementedError

    def parse_unary(self) -> Any:
        raise NotImplementedError

    def parse_power(self) -> Any:
        raise NotImplementedError

    def parse_postfix(self) -> Any:
        raise NotImplementedError

    def parse_primary(self) -> Any:
        raise NotImplementedError

    def starts_primary(self, tok: Token) -> bool:
        raise NotImplementedError

    def continue_sum(self, left: Any) -> Any:
        raise NotImplementedError

    def continue_term(self, left: Any) -> Any:
        raise NotImplementedError

    def tok_at(self, j: int) -> Token:
        if j >= self.end:
            return Token(END, "", self.toks[min(self.end, len(self.toks) - 1)].col)
        return self.toks[j]

    def peek(self, k: int = 0) -> Token:
        return self.tok_at(self.i + k)

    def advance(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def is_op(self, value: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind == OP and t.value == value

    def fail(self, message: str, tok: Token | None = None) -> ParseError:
        return ParseError(message, (tok or self.peek()).col, self.text)

    def expect_close(self, opener: Token) -> None:
        want = OPEN[opener.value]
        tok = self.peek()
        if tok.kind == OP and tok.value in CLOSE:
            self.advance()
            if tok.value != want:
                raise self.fail(
                    f"expected {want!r} to close {opener.value!r} from column "
                    f"{opener.col}, found {tok.value!r}",
                    tok,
                )
            return
        found = "the end" if tok.kind == END else repr(tok.value)
        raise self.fail(
            f"expected {want!r} to close {opener.value!r} from column {opener.col}, found {found}",
            tok,
        )

    def parse_range(self, start: int, end: int) -> Any:
        """Parse tokens[start:end] as one whole expression."""
        saved = (self.i, self.end, self.seg_start)
        self.i, self.end, self.seg_start = start, end, start
        try:
            if self.peek().kind == END:
                raise self.fail("expected an expression here")
            expr = self.parse_sum()
            if self.peek().kind != END:
                raise self.fail(f"unexpected {self.peek().value!r}")
            return expr
        finally:
            self.i, self.end, self.seg_start = saved

    def matching_close(self, j: int) -> int:
        """Index of the bracket closing the one at ``j``, or -1."""
        level = 0
        while j < self.end:
            t = self.toks[j]
            if t.kind == OP and t.value in OPEN:
                level += 1
            elif t.kind == OP and t.value in CLOSE:
                level -= 1
                if level == 0:
                    return j
            j += 1
        return -1

    def group_range(self) -> tuple[int, int]:
        """Token range inside a ``{...}`` group starting at the current token (for \\frac)."""
        if not self.is_op("{"):
            raise self.fail("\\frac needs {numerator}{denominator}")
        start, level, j = self.i + 1, 0, self.i
        while j < self.end:
            t = self.toks[j]
            if t.kind == OP and t.value in OPEN:
                level += 1
            elif t.kind == OP and t.value in CLOSE:
                level -= 1
                if level == 0:
                    self.i = j + 1
                    return start, j
            j += 1
        raise self.fail("missing '}'")
