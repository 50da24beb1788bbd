"""A tiny matrix mini-language for gradient checks, evaluated with NumPy (never with ``eval``).

Grammar (juxtaposition is a product; a 1×1 result acts as a scalar)::

    expr    := ['-'] term (('+' | '-') term)*
    term    := unary (['*' | '/'] unary)*
    unary   := '-' unary | postfix
    postfix := primary ('^T' | '^{-1}' | '^k' | "'")*
    primary := number | NAME | I | FUNC arg | '(' expr ')' | '||' expr '||' ['_F' | '_2']
    FUNC    := tr | det | log | exp | inv

Capital letters are n×n matrices (``I`` is the identity, ``T`` is reserved for transpose), lowercase
letters are n-vectors (columns), Greek letters (``λ``, ``\\lambda``, ``η``) are scalars. Unicode
``ᵀ ⊤ ⁻¹ ² ‖ · −`` and LaTeX ``\\top \\| \\operatorname{tr} \\log \\det \\cdot \\frac{}{}
\\mathbf{x}`` are accepted; ``σ(Xw)``, ``log`` and ``exp`` of a vector act elementwise, and a
scalar added to a vector is added to each entry. Examples: ``tr(X^T A X)``, ``log det X``,
``||A X - B||_F^2``, ``x^T A x``, ``(A + A^T) X``, ``X^{-T}``, ``2X^T(Xw - y) + 2λw``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mltutor.tools.errors import ParseError
from mltutor.tools.matrixeval import default_kind, evaluate, names

FUNCS = ("sigmoid", "tr", "det", "log", "exp", "inv")
GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "η": "eta",
    "θ": "theta",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "ω": "omega",
    "Σ": "Sigma",
    "Λ": "Lambda",
    "Φ": "Phi",
    "Ω": "Omega",
}
_NAME_OPEN, _NAME_CLOSE, _FRAC = "\ue000", "\ue001", "\ue002"
_COMMAND_RE = re.compile(r"\\([A-Za-z]+)")
_WRAPPED_RE = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec|mathrm|mathit|text)\s*\{\s*([^{}]*?)\s*\}")
_ACCENT_RE = re.compile(r"\\(hat|tilde|bar)\s*\{\s*\\?([A-Za-z]+)\s*\}")
_IDENTITY_RE = re.compile(r"\bI_\{?[a-zA-Z0-9]\}?")
_WORDS = {"trace": "tr", "Tr": "tr", "logdet": "logdet", "ln": "log"}
_REPLACE = [
    (r"\operatorname{tr}", "tr"),
    (r"\operatorname{Tr}", "tr"),
    (r"\mathrm{tr}", "tr"),
    (r"\text{tr}", "tr"),
    (r"\operatorname{det}", "det"),
    (r"\intercal", "T"),
    (r"\top", "T"),
    (r"\log", "log"),
    (r"\ln", "log"),
    (r"\det", "det"),
    (r"\exp", "exp"),
    (r"\cdot", "*"),
    (r"\left", ""),
    (r"\right", ""),
    (r"\|", "||"),
    ("‖", "||"),
    ("ᵀ", "^T"),
    ("⊤", "T"),
    ("⁻¹", "^{-1}"),
    ("²", "^2"),
    ("·", "*"),
    ("−", "-"),
    ("×", "*"),
]
_TOKEN_RE = re.compile(
    r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z]+)|\ue000([A-Za-z]+)\ue001|(\|\||\ue002|[-+*/^(){}_']))"
)

Node = tuple[Any, ...]


@dataclass(frozen=True)
class _Tok:
    kind: str  # NUM, NAME, FUNC, OP, END
    value: str
    col: int


def named(name: str) -> str:
    """A name of several letters the tokenizer keeps whole."""
    return f"{_NAME_OPEN}{name}{_NAME_CLOSE}"


def _command(m: re.Match[str]) -> str:
    cmd = m.group(1)
    if cmd in GREEK.values() or cmd in {"varepsilon", "epsilon"}:
        return named("epsilon" if cmd == "varepsilon" else cmd)
    if cmd in {"frac", "dfrac", "tfrac"}:
        return _FRAC
    if cmd in {"quad", "qquad"}:
        return " "
    return m.group(0)


def _normalize(text: str) -> str:
    for old, new in _REPLACE:
        text = text.replace(old, new)
    for old, new in (("\\,", " "), ("\\;", " "), ("\\!", ""), ("\\ ", " ")):
        text = text.replace(old, new)
    text = _WRAPPED_RE.sub(lambda m: m.group(1), text)
    text = _ACCENT_RE.sub(lambda m: named(m.group(2) + m.group(1)), text)
    text = _IDENTITY_RE.sub("I", text)
    text = _COMMAND_RE.sub(_command, text)
    return "".join(named(GREEK[c]) if c in GREEK else c for c in text)


def _split_word(word: str, col: int) -> list[_Tok]:
    if word in _WORDS:
        word = _WORDS[word]
    if word == "logdet":
        return [_Tok("FUNC", "log", col), _Tok("FUNC", "det", col + 3)]
    out: list[_Tok] = []
    i = 0
    while i < len(word):
        for f in FUNCS:
            if word.startswith(f, i):
                out.append(_Tok("FUNC", f, col + i))
                i += len(f)
                break
        else:
            out.append(_Tok("NAME", word[i], col + i))
            i += 1
    return out


def tokenize(text: str) -> list[_Tok]:
    """Tokens with 1-based columns (columns refer to the normalized text)."""
    src = _normalize(text)
    toks: list[_Tok] = []
    pos = 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(src, pos)
        if m is None:
            col = pos + len(src[pos:]) - len(src[pos:].lstrip()) + 1
            raise ParseError(f"unexpected character {src[col - 1]!r}", col, src)
        if m.group(1):
            toks.append(_Tok("NUM", m.group(1), m.start(1) + 1))
        elif m.group(2):
            toks.extend(_split_word(m.group(2), m.start(2) + 1))
        elif m.group(3):
            toks.append(_Tok("NAME", m.group(3), m.start(3) + 1))
        else:
            toks.append(_Tok("OP", m.group(4), m.start(4) + 1))
        pos = m.end()
    toks.append(_Tok("END", "", len(src) + 1))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = _normalize(text)
        self.toks = tokenize(text)
        self.i = 0
        self.in_norm = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Tok | None = None) -> ParseError:
        tok = tok or self.peek()
        return ParseError(message, tok.col, self.text)

    def braced(self) -> Node:
        self.expect("{")
        inner = self.expr()
        self.expect("}")
        return inner

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value != value:
            found = repr(tok.value) if tok.kind != "END" else "the end"
            raise self.fail(f"expected {value!r}, found {found}", tok)

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "END":
            raise self.fail(f"unexpected {self.peek().value!r}")
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.peek().value in ("+", "-") and self.peek().kind == "OP":
            op = self.take().value
            node = (op, node, self.term())
        return node

    def starts_primary(self, tok: _Tok) -> bool:
        if tok.kind in ("NUM", "NAME", "FUNC"):
            return True
        opens_norm = tok.value == "||" and not self.in_norm
        return tok.kind == "OP" and (tok.value in ("(", "{", _FRAC) or opens_norm)

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "OP" and tok.value in ("*", "/"):
                self.take()
                node = (tok.value, node, self.unary())
            elif self.starts_primary(tok):
                node = ("*", node, self.unary())
            else:
                return node

    def unary(self) -> Node:
        if self.peek().kind == "OP" and self.peek().value == "-":
            self.take()
            return ("neg", self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok.kind == "OP" and tok.value == "'":
                self.take()
                node = ("T", node)
            elif tok.kind == "OP" and tok.value == "^":
                self.take()
                node = self.exponent(node)
            elif tok.kind == "OP" and tok.value == "_" and self.norm_below(node):
                self.take()
                self.norm_subscript()
            else:
                return node

    def exponent(self, base: Node) -> Node:
        opener = self.peek().value if self.peek().value in ("{", "(") else ""
        if opener:
            self.take()
        tok = self.take()
        if tok.kind == "NAME" and tok.value == "T":
            node: Node = ("T", base)
        elif tok.value == "-":
            nxt = self.take()
            if nxt.value == "T":
                node = ("T", ("inv", base))
            elif nxt.value == "1":
                node = ("inv", base)
            else:
                raise self.fail("only ^{-1} and ^{-T} are supported as negative powers", nxt)
        elif tok.kind == "NUM" and tok.value.isdigit() and 0 < int(tok.value) <= 10:
            node = ("pow", base, int(tok.value))
        else:
            raise self.fail("expected T, -1 or a small whole power after '^'", tok)
        if opener:
            self.expect("}" if opener == "{" else ")")
        return node

    @staticmethod
    def norm_below(node: Node) -> bool:
        return bool(node[0] == "norm" or (node[0] == "pow" and node[1][0] == "norm"))

    def norm_subscript(self) -> None:
        braced = self.peek().value == "{"
        if braced:
            self.take()
        sub = self.take()
        if sub.value not in ("F", "2"):
            raise self.fail("only the Frobenius norm (_F) or a vector 2-norm (_2) is known", sub)
        if braced:
            self.expect("}")

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "NUM":
            return ("num", float(tok.value))
        if tok.kind == "NAME":
            if tok.value == "T":
                raise self.fail("'T' is reserved for transpose (write X^T)", tok)
            if tok.value == "sigma" and self.peek().value == "(":
                return ("func", "sigmoid", self.primary())
            return ("var", tok.value)
        if tok.kind == "OP" and tok.value == _FRAC:
            num = self.braced()
            return ("/", num, self.braced())
        if tok.kind == "FUNC":
            if self.peek().value == "(":
                self.take()
                arg = self.expr()
                self.expect(")")
            else:
                arg = self.postfix()
            return ("func", tok.value, arg)
        if tok.kind == "OP" and tok.value in ("(", "{"):
            inner = self.expr()
            self.expect(")" if tok.value == "(" else "}")
            return inner
        if tok.kind == "OP" and tok.value == "||" and not self.in_norm:
            self.in_norm += 1
            inner = self.expr()
            self.in_norm -= 1
            self.expect("||")
            return ("norm", inner)
        found = repr(tok.value) if tok.kind != "END" else "the end"
        raise self.fail(f"expected a matrix, a number or '(', found {found}", tok)


def parse(text: str) -> Node:
    """Parse matrix mini-language text into a small tuple tree."""
    return _Parser(text).parse()


__all__ = [
    "FUNCS",
    "GREEK",
    "Node",
    "default_kind",
    "evaluate",
    "named",
    "names",
    "parse",
    "tokenize",
]
