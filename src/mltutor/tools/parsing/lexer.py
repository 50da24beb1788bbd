"""Tokenizer for math as people type it: plain text, Unicode and LaTeX, one token stream.

Every token keeps its 1-based column in the original text so errors can point at it. Unicode and
LaTeX spellings are mapped to one vocabulary here, so the parser sees a single notation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mltutor.tools.errors import ParseError
from mltutor.tools.parsing import spellings as spell
from mltutor.tools.parsing.spellings import GREEK, GREEK_NAMES, LATEX_FUNCTIONS

# token kinds
NUM, NAME, OP, FRAC, SQRT, INT, PARTIAL, SUM, END = (
    "NUM",
    "NAME",
    "OP",
    "FRAC",
    "SQRT",
    "INT",
    "PARTIAL",
    "SUM",
    "END",
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical unit; ``space`` says whether whitespace preceded it (``f (x)`` vs ``f(x)``)."""

    kind: str
    value: str
    col: int
    space: bool = False


_GREEK_SUB_RE = re.compile(r"_?(\{[A-Za-z0-9]+\}|[0-9]+)|_([A-Za-z0-9]+)")
_SUB_RE = re.compile(r"_(?:\{([A-Za-z0-9]+)\}|([A-Za-z0-9]+))")
_NUM_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]+))?")
_CMD_RE = re.compile(r"\\([A-Za-z]+|.)")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, raising :class:`ParseError` at the first character it can't read."""
    tokens: list[Token] = []
    i, n, space = 0, len(text), False

    def add(kind: str, value: str, start: int) -> None:
        nonlocal space
        tokens.append(Token(kind, value, start + 1, space))
        space = False

    while i < n:
        ch = text[i]
        if ch.isspace():
            space, i = True, i + 1
            continue
        if "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9"):
            m = _NUM_RE.match(text, i)
            assert m is not None
            add(NUM, m.group(0), i)
            i = m.end()
            continue
        if ch.isascii() and ch.isalpha():
            m = _NAME_RE.match(text, i)
            assert m is not None
            name, j = m.group(0).replace("{", "").replace("}", ""), m.end()
            # combining accent right after a one-letter name: x̂, ȳ
            if j < n and text[j] in spell.COMBINING:
                name, j = name + spell.COMBINING[text[j]], j + 1
            add(NAME, name, i)
            i = j
            continue
        two = text[i : i + 2]
        if two in spell.ACCENTED or ch in spell.ACCENTED:
            width = 2 if two in spell.ACCENTED else 1
            suffix, j = subscript(text, i + width)
            add(NAME, spell.ACCENTED[text[i : i + width]] + suffix, i)
            i = j
            continue
        if ch == "Σ" and _sigma_is_sum(text, i + 1):
            add(SUM, "sum", i)
            i += 1
            continue
        if ch in spell.LETTERS:
            add(NAME, spell.LETTERS[ch], i)
            i += 1
            continue
        if ch in GREEK:
            name, j = GREEK[ch], i + 1
            if j < n and text[j] in spell.COMBINING:
                name, j = name + spell.COMBINING[text[j]], j + 1
            m = _GREEK_SUB_RE.match(text, j)
            if m:
                name, j = name + "_" + (m.group(1) or m.group(2)).strip("{}"), m.end()
            add(NAME, name, i)
            i = j
            continue
        if ch in spell.SUBSCRIPT and tokens and tokens[-1].kind == NAME and not space:
            j = i
            digits = ""
            while j < n and text[j] in spell.SUBSCRIPT:
                digits, j = digits + spell.SUBSCRIPT[text[j]], j + 1
            prev = tokens.pop()
            tokens.append(Token(NAME, f"{prev.value}_{digits}", prev.col, prev.space))
            i = j
            continue
        if ch in spell.SUPERSCRIPT or ch in spell.SUPERSCRIPT_MORE:
            j, run = i, ""
            while j < n and (text[j] in spell.SUPERSCRIPT or text[j] in spell.SUPERSCRIPT_MORE):
                run += spell.SUPERSCRIPT.get(text[j]) or spell.SUPERSCRIPT_MORE[text[j]]
                j += 1
            if run.lstrip("-").isdigit():
                add(OP, "^", i)
                if run.startswith("-"):
                    add(OP, "-", i)
                add(NUM, run.lstrip("-"), i)
            else:  # 3ⁿ, xⁿ⁻¹: the superscript is a small expression
                inner = tokenize(run)[:-1]
                if not inner or (inner[-1].kind == OP and inner[-1].value in "+-"):
                    raise ParseError("expected a superscript exponent", i + 1, text)
                add(OP, "^", i)
                add(OP, "(", i)
                for t in inner:
                    add(t.kind, t.value, i)
                add(OP, ")", i)
            i = j
            continue
        if ch in spell.VULGAR_FRACTIONS:  # ½ is (1/2)
            num, den = spell.VULGAR_FRACTIONS[ch]
            for kind, value in ((OP, "("), (NUM, num), (OP, "/"), (NUM, den), (OP, ")")):
                add(kind, value, i)
            i += 1
            continue
        if ch == "*" and text[i : i + 2] == "**":
            add(OP, "^", i)
            i += 2
            continue
        if ch in spell.CHAR_OPS:
            add(OP, spell.CHAR_OPS[ch], i)
            i += 1
            continue
        if ch == "√":
            add(SQRT, "sqrt", i)
            i += 1
            continue
        if ch == "∫":
            add(INT, "int", i)
            i += 1
            continue
        if ch == "∂":
            add(PARTIAL, "d", i)
            i += 1
            continue
        if ch == "∞":
            add(NAME, "oo", i)
            i += 1
            continue
        if ch == "\\":
            i = _latex_command(text, i, add)
            continue
        raise ParseError(f"unexpected character {ch!r}", i + 1, text)
    tokens.append(Token(END, "", n + 1, space))
    return tokens


_INDEXED_RE = re.compile(r"[A-Za-z]_\{?[ijkmn]\b")


def _sigma_is_sum(text: str, j: int) -> bool:
    """``Σ_{i=1}^n``, ``Σ_i x_i``, ``Σ x_i`` sum; ``Σ^{-1}``, ``Σ x`` are the matrix Σ."""
    rest = text[j:].lstrip()
    if rest.startswith("_"):
        return True
    if rest.startswith(("^", "=", ")", "\\top", "ᵀ")) or not rest:
        return False
    return bool(_INDEXED_RE.search(rest.split("=", 1)[0]))


def subscript(text: str, j: int) -> tuple[str, int]:
    """``_i``, ``_{t}``, ``_12`` right after a name: ("_i", index after it), or ("", j)."""
    m = _SUB_RE.match(text, j)
    if m is None:
        return "", j
    return "_" + (m.group(1) or m.group(2)), m.end()


def _braced(text: str, i: int) -> tuple[str, int]:
    """Read ``{...}`` (no nesting needed for names) starting at ``i``; return content and end index."""
    if i >= len(text) or text[i] != "{":
        m = re.compile(r"\s*([A-Za-z])").match(text, i)
        if m:  # \hat y
            return m.group(1), m.end()
        raise ParseError("expected '{' after the command", i + 1, text)
    j = text.find("}", i)
    if j < 0:
        raise ParseError("missing '}'", i + 1, text)
    return text[i + 1 : j].strip(), j + 1


def _latex_command(text: str, i: int, emit: Callable[[str, str, int], None]) -> int:
    """Lex one backslash command at ``i`` and return the index after it."""
    m = _CMD_RE.match(text, i)
    if m is None:
        raise ParseError("a lone backslash", i + 1, text)
    cmd, j = m.group(1), m.end()
    if cmd in spell.LATEX_SKIP:
        if cmd in {"left", "right"} and j < len(text) and text[j] == ".":
            j += 1  # \left. is an invisible delimiter
        return j
    if cmd in spell.LATEX_OPS:
        emit(OP, spell.LATEX_OPS[cmd], i)
    elif cmd in {"frac", "dfrac", "tfrac"}:
        emit(FRAC, "frac", i)
    elif cmd == "sqrt":
        emit(SQRT, "sqrt", i)
    elif cmd in {"int", "intop"}:
        emit(INT, "int", i)
    elif cmd == "sum":
        emit(SUM, "sum", i)
    elif cmd in spell.LATEX_NAMES:
        emit(NAME, spell.LATEX_NAMES[cmd], i)
    elif cmd == "partial":
        emit(PARTIAL, "d", i)
    elif cmd in {"infty", "infin"}:
        emit(NAME, "oo", i)
    elif cmd in GREEK_NAMES:
        name = {"varepsilon": "epsilon", "varphi": "phi", "vartheta": "theta"}.get(cmd, cmd)
        suffix, j = subscript(text, j)
        emit(NAME, name + suffix, i)
    elif cmd in LATEX_FUNCTIONS:
        emit(NAME, cmd, i)
    elif cmd in spell.LATEX_ACCENTS:
        inner, j = _braced(text, j)
        inner = GREEK.get(inner, inner).lstrip("\\")
        if not re.fullmatch(r"[A-Za-z]+(_[A-Za-z0-9]+)?", inner):
            raise ParseError(f"\\{cmd} takes a single name", i + 1, text)
        suffix, j = subscript(text, j)
        emit(NAME, inner + spell.LATEX_ACCENTS[cmd] + suffix, i)
    elif cmd in spell.LATEX_TEXT:
        inner, j = _braced(text, j)
        inner = inner.replace(" ", "").lstrip("\\")
        inner = {"varepsilon": "epsilon", "varphi": "phi", "vartheta": "theta"}.get(inner, inner)
        inner = GREEK.get(inner, inner)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", inner):
            raise ParseError(f"\\{cmd}{{{inner}}} is not a name", i + 1, text)
        emit(NAME, inner, i)
    else:
        raise ParseError(f"unsupported LaTeX command \\{cmd}", i + 1, text)
    return j


__all__ = [
    "END",
    "FRAC",
    "GREEK",
    "GREEK_NAMES",
    "INT",
    "LATEX_FUNCTIONS",
    "NAME",
    "NUM",
    "OP",
    "PARTIAL",
    "SQRT",
    "SUM",
    "Token",
    "tokenize",
]
