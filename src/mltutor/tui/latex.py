"""LaTeX math fragments to Unicode text: the converter behind :mod:`mltutor.tui.mathtext`.

A recursive-descent reader of the LaTeX subset models write (fractions, roots, scripts, Greek,
operators, accents, matrices, cases and aligned environments, big operators with limits). Anything
outside it raises internally and the caller keeps the fragment as written, so math is shown either
converted or raw, never wrongly. Inline math comes out on one line (a matrix as ``(a, b; c, d)``);
display math may be a block of aligned lines (:mod:`mltutor.tui.mathblock`). Plain string work: the
UI never imports SymPy, and this runs on every streamed chunk.
"""

from __future__ import annotations

import re

from mltutor.tui import mathblock as mb
from mltutor.tui import mathsymbols as sym
from mltutor.tui.mathblock import Block, Piece, linear


class _Unconvertible(Exception):
    """Raised inside the converter; the caller falls back to the raw fragment."""


_ATOM = re.compile(
    r"^[\w∂′'.·" + re.escape(sym.SCRIPT_CHARS + "".join(sym.ACCENTS.values())) + r"]+$"
)


def _wrap(text: str) -> str:
    """Parenthesise ``text`` unless it is a single atom (``x``, ``2``, ``∂L``, ``x₁``)."""
    text = text.strip()
    core = text.rstrip(sym.SCRIPT_CHARS)  # "(1+x)²" is one unit, like "(1+x)"
    if _ATOM.match(text) or (core.startswith("(") and _balanced_outer(core)):
        return text
    if text.startswith("√") and (_ATOM.match(text[1:]) or _balanced_outer(text[1:])):
        return text  # s/√n
    return f"({text})"


def _needs_group(part: str) -> bool:
    """Whether a script after ``part`` would bind ambiguously (``√x``, ``a/b``)."""
    part = part.strip()
    return len(part) > 1 and not _ATOM.match(part) and not part.endswith((")", "]", "}", "|", "‖"))


def _balanced_outer(text: str) -> bool:
    """True when ``text`` is ``( ... )`` with the first parenthesis closing at the very end."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def _script(text: str, table: dict[str, str], marker: str) -> str:
    """Superscript/subscript ``text`` in Unicode when every character has a form, else ``^(..)``."""
    stripped = re.sub(r"\s+", "", text)
    if stripped and all(ch in table for ch in stripped):
        return "".join(table[ch] for ch in stripped)
    if len(stripped) == 1 or _ATOM.match(stripped):
        return marker + stripped
    return f"{marker}({stripped})"


LIMIT_OPERATORS = frozenset(
    "sum prod coprod bigcup bigcap bigoplus bigotimes int iint iiint oint".split()
)
"""Operators whose limits a display formula stacks above and below them."""
LIMIT_FUNCTIONS = frozenset("lim liminf limsup max min sup inf argmax argmin".split())
"""Named operators with a limit set underneath in display formulas (``lim`` over ``x→0``)."""

_RIGHT = re.compile(r"\\right(?![A-Za-z])")


class _Parser:
    """Recursive descent over one fragment: commands, groups, scripts and plain characters.

    ``display`` allows results of several lines (matrices, cases, stacked limits); otherwise every
    result is one line.
    """

    def __init__(self, src: str, *, display: bool = False) -> None:
        self.src = src
        self.pos = 0
        self.display = display

    def parse(self) -> Piece:
        out = self._sequence(stop="")
        if self.pos != len(self.src):
            raise _Unconvertible("unbalanced braces")
        return out

    def text(self) -> str:
        """Parse to one line (cells of a matrix, arguments of commands)."""
        return linear(self.parse())

    # -- pieces --------------------------------------------------------------------------------

    def _sequence(self, stop: str, *, until_right: bool = False) -> Piece:
        parts: list[Piece] = []
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if stop and ch == stop:
                return mb.hcat(parts)
            if until_right and _RIGHT.match(self.src, self.pos):
                return mb.hcat(parts)
            if ch == "}":
                raise _Unconvertible("unbalanced braces")
            if ch in "^_":
                self.pos += 1
                last = parts[-1] if parts else ""
                if isinstance(last, str) and _needs_group(last):
                    parts[-1] = f"({last})"  # "(a/b)²", not "a/b²"
                arg = linear(self._argument())
                table = sym.SUPERSCRIPT if ch == "^" else sym.SUBSCRIPT
                parts.append(_script(arg, table, ch))
            else:
                parts.append(self._atom())
        if stop or until_right:
            raise _Unconvertible("unbalanced braces")
        return mb.hcat(parts)

    def _atom(self) -> Piece:
        ch = self.src[self.pos]
        if ch == "{":
            return self._group()
        if ch == "\\":
            return self._command()
        self.pos += 1
        if ch == "&":
            return ""
        if ch in "~\n":
            return " "
        return ch

    def _group(self) -> Piece:
        self.pos += 1  # '{'
        inner = self._sequence(stop="}")
        self.pos += 1  # '}'
        return inner

    def _argument(self) -> Piece:
        """One argument of a command or script: a ``{group}``, a command, or a single character."""
        self._skip_spaces()
        if self.pos >= len(self.src):
            raise _Unconvertible("missing argument")
        ch = self.src[self.pos]
        if ch == "{":
            return self._group()
        if ch == "\\":
            return self._command()
        if ch == "}":
            raise _Unconvertible("missing argument")
        self.pos += 1
        return ch

    def _text_argument(self) -> str:
        return linear(self._argument())

    def _raw_group(self) -> str:
        """A ``{...}`` group taken verbatim (for ``\\text``, environment names)."""
        self._skip_spaces()
        if self.pos >= len(self.src) or self.src[self.pos] != "{":
            raise _Unconvertible("expected a group")
        depth, start = 0, self.pos
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            depth += ch == "{"
            depth -= ch == "}"
            self.pos += 1
            if depth == 0:
                return self.src[start + 1 : self.pos - 1]
        raise _Unconvertible("unbalanced braces")

    def _glue(self, name: str) -> None:
        """Drop the space after a letter-like command where it is a product (``\\alpha x`` → αx).

        TeX ignores that space; keeping it would split ``\\partial L`` into "∂ L". Spaces before
        operators are kept (``\\alpha + 1`` stays "α + 1").
        """
        if name not in sym.GREEK and name not in ("partial", "nabla", "ell", "hbar"):
            return
        rest = self.src[self.pos :].lstrip(" ")
        if not rest:
            return
        glue = rest[0].isalnum() or rest[0] in "({"
        if name in ("partial", "nabla"):  # ∂θ, ∇f: always bound to what follows
            glue = glue or rest[0] == "\\"
        if glue:
            self._skip_spaces()

    def _space_next(self) -> bool:
        return self.src[self.pos : self.pos + 1] == " "

    def _skip_spaces(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos] in " \n":
            self.pos += 1

    # -- commands ------------------------------------------------------------------------------

    def _command(self) -> Piece:
        m = re.compile(r"\\([A-Za-z]+|.)").match(self.src, self.pos)
        if m is None:
            raise _Unconvertible("dangling backslash")
        self.pos = m.end()
        name = m.group(1)
        if name in LIMIT_OPERATORS and name in sym.SYMBOLS:
            return self._limits(sym.SYMBOLS[name])
        if name in sym.SYMBOLS:
            self._glue(name)
            return sym.SYMBOLS[name]
        if name in LIMIT_FUNCTIONS:
            return self._limits(name)
        if name in sym.FUNCTIONS:
            return name if name != "operatorname" else self._raw_group()
        if name in sym.IGNORED:
            return ""
        if name == "left":
            return self._left_right()
        if name in ("right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg"):
            return self._delimiter()
        if name in ("frac", "dfrac", "tfrac"):
            num, den = self._text_argument(), self._text_argument()
            rest = self.src[self.pos :].lstrip(" ")[:1]
            # a space keeps "d/dx (x²)" from reading as "d/(dx(x²))"
            gap = (
                " "
                if rest and (rest.isalnum() or rest in "(\\[{") and not self._space_next()
                else ""
            )
            return f"{_wrap(num)}/{_wrap(den)}{gap}"
        if name == "sqrt":
            return self._sqrt()
        if name in sym.ACCENTS:
            arg = self._text_argument().strip()
            return arg + sym.ACCENTS[name] if len(arg) == 1 else f"{name}({arg})"
        if name in ("text", "textrm", "textit", "textbf", "mbox", "mathrm"):
            return self._raw_group() if name != "mathrm" else self._argument()
        if name in ("mathbf", "boldsymbol", "bm", "mathit", "mathsf", "mathtt", "pmb"):
            return self._argument()
        if name in ("mathbb", "mathcal", "mathscr", "mathfrak"):
            arg = self._text_argument().strip()
            table = sym.BLACKBOARD if name == "mathbb" else sym.CALLIGRAPHIC
            return "".join(table.get(ch, ch) for ch in arg)
        if name == "begin":
            return self._environment()
        raise _Unconvertible(f"unknown command \\{name}")

    def _limits(self, operator: str) -> Piece:
        """A big operator or ``lim``; in display math its limits go above and below it."""
        start = self.pos
        lower: str | None = None
        upper: str | None = None
        end = start
        while True:
            self._skip_spaces()
            if self.src.startswith(("\\limits", "\\nolimits"), self.pos):
                self.pos = self.src.index("limits", self.pos) + len("limits")
                continue
            ch = self.src[self.pos : self.pos + 1]
            if ch == "_" and lower is None:
                self.pos += 1
                lower = re.sub(r"\s+", "", self._text_argument())
            elif ch == "^" and upper is None:
                self.pos += 1
                upper = re.sub(r"\s+", "", self._text_argument())
            else:
                break
            end = self.pos
        self.pos = end  # the space after the limits stays
        if lower is None and upper is None:
            return operator
        one_line = operator
        if lower is not None:
            one_line += _script(lower, sym.SUBSCRIPT, "_")
        if upper is not None:
            one_line += _script(upper, sym.SUPERSCRIPT, "^")
        if not self.display:
            return one_line
        return mb.with_limits(operator, lower or "", upper or "", one_line)

    def _delimiter(self) -> str:
        """The delimiter after ``\\left``/``\\right``/``\\big``: shown as itself (``.`` is none)."""
        self._skip_spaces()
        if self.pos >= len(self.src):
            raise _Unconvertible("missing delimiter")
        if self.src[self.pos] == ".":
            self.pos += 1
            return ""
        return linear(self._atom())

    def _left_right(self) -> Piece:
        """``\\left( … \\right)``: delimiters as tall as what they enclose."""
        left = self._delimiter()
        inner = self._sequence(stop="", until_right=True)
        self.pos += len("\\right")
        right = self._delimiter()
        return mb.delimited(inner, left, right)

    def _sqrt(self) -> str:
        index = ""
        self._skip_spaces()
        if self.pos < len(self.src) and self.src[self.pos] == "[":
            end = self.src.find("]", self.pos)
            if end < 0:
                raise _Unconvertible("unclosed root index")
            index = _Parser(self.src[self.pos + 1 : end]).text().strip()
            self.pos = end + 1
        radicand = _wrap(self._text_argument())
        if not index:
            return "√" + radicand
        if all(ch in sym.SUPERSCRIPT for ch in index):
            return "".join(sym.SUPERSCRIPT[ch] for ch in index) + "√" + radicand
        return f"root({index}, {radicand.strip('()')})"

    def _environment(self) -> Piece:
        env = self._raw_group().strip()
        end_tag = f"\\end{{{env}}}"
        end = self.src.find(end_tag, self.pos)
        base = env.rstrip("*")
        known = base in sym.ROW_ENVIRONMENTS or base in mb.MATRIX_DELIMITERS or base == "dcases"
        if end < 0 or not known:
            raise _Unconvertible(f"environment {env}")
        body = self.src[self.pos : end]
        self.pos = end + len(end_tag)
        if base == "array":
            body = re.sub(r"^\s*\{[^{}]*\}", "", body)  # the column specification
        return _rows(body, base, display=self.display)


def _split_rows(body: str) -> list[list[str]]:
    """Rows at ``\\\\`` (ignoring ``\\hline`` and ``[2pt]`` spacing), cells at ``&``."""
    rows = []
    for row in re.split(r"\\\\", body):
        row = re.sub(r"\\hline|^\s*\[[^\]]*\]", "", row)
        if row.strip():
            rows.append(row.split("&"))
    if not rows:
        raise _Unconvertible("empty environment")
    return rows


def _rows(body: str, env: str, *, display: bool) -> Piece:
    """The body of a row environment: a matrix, cases, or aligned rows."""
    rows = [[_Parser(cell).text() for cell in row] for row in _split_rows(body)]
    if env in mb.MATRIX_DELIMITERS:
        block = mb.matrix(rows, env)
    elif env in ("cases", "dcases"):
        block = mb.cases([_case(row) for row in rows])
    else:
        block = mb.aligned(rows)
    return block if display and block.height > 1 else block.linear


def _case(cells: list[str]) -> tuple[str, str]:
    """One row of ``cases``: (value, "if condition"); "otherwise" and the like read as written."""
    value = cells[0].strip()
    condition = " ".join(c.strip() for c in cells[1:]).strip()
    if not condition or condition.split(" ")[0] in ("if", "otherwise", "for", "when", "else"):
        return value, condition
    return value, f"if {condition}"


def latex_to_unicode(fragment: str, *, display: bool = False) -> str | None:
    """Convert one LaTeX math fragment (no delimiters) to Unicode text, or None if it cannot be.

    Inline (the default) the result is one line; with ``display`` it may be several aligned lines
    (matrices, cases, aligned rows, limits above and below Σ).

    >>> latex_to_unicode(r"\\frac{\\partial L}{\\partial w} = 2x^2")
    '∂L/∂w = 2x²'
    """
    if len(fragment) > 4000:
        return None
    try:
        if "\\begin" not in fragment and re.search(r"\\\\", fragment):
            piece: Piece = _rows(fragment, "aligned", display=display)  # rows without environment
        else:
            piece = _Parser(fragment, display=display).parse()
    except (_Unconvertible, RecursionError):
        return None
    if isinstance(piece, Block) and piece.height > 1:
        lines = [line.rstrip() for line in piece.lines]
        indent = min(len(line) - len(line.lstrip(" ")) for line in lines if line.strip())
        return "\n".join(line[indent:] for line in lines).strip("\n")
    return mb.tidy(linear(piece)).strip()
