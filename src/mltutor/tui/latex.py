"""LaTeX math fragments to Unicode text: the converter behind :mod:`mltutor.tui.mathtext`.

A recursive-descent reader of the LaTeX subset models write (fractions, roots, scripts, Greek,
operators, accents, aligned and cases environments). Anything outside it raises internally and the
caller keeps the fragment as written, so math is shown either converted or raw, never wrongly. Plain
string work: the UI never imports SymPy, and this runs on every streamed chunk.
"""

from __future__ import annotations

import re

from mltutor.tui import mathsymbols as sym


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


class _Parser:
    """Recursive descent over one fragment: commands, groups, scripts and plain characters."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0

    def parse(self) -> str:
        out = self._sequence(stop="")
        if self.pos != len(self.src):
            raise _Unconvertible("unbalanced braces")
        return out

    # -- pieces --------------------------------------------------------------------------------

    def _sequence(self, stop: str) -> str:
        parts: list[str] = []
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if stop and ch == stop:
                return "".join(parts)
            if ch == "}":
                raise _Unconvertible("unbalanced braces")
            if ch in "^_":
                self.pos += 1
                if parts and _needs_group(parts[-1]):
                    parts[-1] = f"({parts[-1]})"  # "(a/b)²", not "a/b²"
                arg = self._argument()
                table = sym.SUPERSCRIPT if ch == "^" else sym.SUBSCRIPT
                parts.append(_script(arg, table, ch))
            else:
                parts.append(self._atom())
        if stop:
            raise _Unconvertible("unbalanced braces")
        return "".join(parts)

    def _atom(self) -> str:
        ch = self.src[self.pos]
        if ch == "{":
            return self._group()
        if ch == "\\":
            return self._command()
        self.pos += 1
        if ch == "&":
            return ""
        if ch == "~":
            return " "
        return ch

    def _group(self) -> str:
        self.pos += 1  # '{'
        inner = self._sequence(stop="}")
        self.pos += 1  # '}'
        return inner

    def _argument(self) -> str:
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
        while self.pos < len(self.src) and self.src[self.pos] == " ":
            self.pos += 1

    # -- commands ------------------------------------------------------------------------------

    def _command(self) -> str:
        m = re.compile(r"\\([A-Za-z]+|.)").match(self.src, self.pos)
        if m is None:
            raise _Unconvertible("dangling backslash")
        self.pos = m.end()
        name = m.group(1)
        if name in sym.SYMBOLS:
            self._glue(name)
            return sym.SYMBOLS[name]
        if name in sym.FUNCTIONS:
            return name if name != "operatorname" else self._raw_group()
        if name in sym.IGNORED:
            return ""
        if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg"):
            return self._delimiter()
        if name in ("frac", "dfrac", "tfrac"):
            num, den = self._argument(), self._argument()
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
            arg = self._argument().strip()
            return arg + sym.ACCENTS[name] if len(arg) == 1 else f"{name}({arg})"
        if name in ("text", "textrm", "textit", "textbf", "mbox", "mathrm"):
            return self._raw_group() if name != "mathrm" else self._argument()
        if name in ("mathbf", "boldsymbol", "bm", "mathit", "mathsf", "mathtt", "pmb"):
            return self._argument()
        if name in ("mathbb", "mathcal", "mathscr", "mathfrak"):
            arg = self._argument().strip()
            table = sym.BLACKBOARD if name == "mathbb" else sym.CALLIGRAPHIC
            return "".join(table.get(ch, ch) for ch in arg)
        if name == "begin":
            return self._environment()
        raise _Unconvertible(f"unknown command \\{name}")

    def _delimiter(self) -> str:
        """The delimiter after ``\\left``/``\\right``/``\\big``: shown as itself (``.`` is none)."""
        self._skip_spaces()
        if self.pos >= len(self.src):
            raise _Unconvertible("missing delimiter")
        if self.src[self.pos] == ".":
            self.pos += 1
            return ""
        return self._atom()

    def _sqrt(self) -> str:
        index = ""
        self._skip_spaces()
        if self.pos < len(self.src) and self.src[self.pos] == "[":
            end = self.src.find("]", self.pos)
            if end < 0:
                raise _Unconvertible("unclosed root index")
            index = _Parser(self.src[self.pos + 1 : end]).parse().strip()
            self.pos = end + 1
        radicand = _wrap(self._argument())
        if not index:
            return "√" + radicand
        if all(ch in sym.SUPERSCRIPT for ch in index):
            return "".join(sym.SUPERSCRIPT[ch] for ch in index) + "√" + radicand
        return f"root({index}, {radicand.strip('()')})"

    def _environment(self) -> str:
        env = self._raw_group().strip()
        end_tag = f"\\end{{{env}}}"
        end = self.src.find(end_tag, self.pos)
        if end < 0 or env.rstrip("*") not in sym.ROW_ENVIRONMENTS:
            raise _Unconvertible(f"environment {env}")
        body = self.src[self.pos : end]
        self.pos = end + len(end_tag)
        rows = [row for row in re.split(r"\\\\", body) if row.strip()]
        if env == "cases":
            return "\n".join("{ " + _case(row) for row in rows)
        return "\n".join(_Parser(row).parse().strip() for row in rows)


def _case(row: str) -> str:
    """One row of ``cases``: "value, if condition" ("value, otherwise" reads as written)."""
    value, _, condition = row.partition("&")
    value, condition = _Parser(value).parse().strip(), _Parser(condition).parse().strip()
    if not condition:
        return value
    if condition.split(" ")[0] in ("if", "otherwise", "for", "when", "else"):
        return f"{value}, {condition}"
    return f"{value}, if {condition}"


def latex_to_unicode(fragment: str) -> str | None:
    """Convert one LaTeX math fragment (no delimiters) to Unicode text, or None if it cannot be.

    >>> latex_to_unicode(r"\\frac{\\partial L}{\\partial w} = 2x^2")
    '∂L/∂w = 2x²'
    """
    if len(fragment) > 4000:
        return None
    try:
        text = _Parser(fragment.replace("\\\\", "\n") if "\\begin" not in fragment else fragment)
        out = text.parse()
    except (_Unconvertible, RecursionError):
        return None
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r"([(\[⟨]) +", r"\1", out)
    out = re.sub(r" +([)\]⟩])", r"\1", out)
    return "\n".join(line.strip() for line in out.strip().splitlines())
