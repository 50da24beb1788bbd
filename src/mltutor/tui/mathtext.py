"""LaTeX in answers, made readable in a terminal.

Models write math as LaTeX (``$\\frac{\\partial L}{\\partial w}$``); a terminal shows that as noise.
:func:`render_markdown` finds the math spans of a Markdown answer (``$..$``, ``$$..$$``, ``\\(..\\)``,
``\\[..\\]``), skipping code, and replaces each with Unicode from :func:`latex_to_unicode`, or leaves
it exactly as written when it cannot be converted. With ``partial=True`` it stops before a span that
is still being streamed, so a growing answer only ever grows on screen.

A display formula on its own line becomes a ``math`` code block (drawn as an indented formula that
breaks at operators, see :mod:`mltutor.tui.widgets.markdown_body`), indented like the line it was on
so it stays inside its list item; so does a ```` ```math ```` / ```` ```latex ```` fence the model
wrote itself. LaTeX that cannot be converted is shown as code, so Markdown cannot eat its
backslashes (``\\[`` would otherwise show as ``[``).
"""

from __future__ import annotations

import re

from mltutor.tui.latex import latex_to_unicode

__all__ = ["LINEAR_MARK", "StreamRenderer", "latex_to_unicode", "render_markdown", "render_plain"]

LINEAR_MARK = "\u2063"
"""Starts the last line of a ``math`` block holding a multi-line formula: the same formula on one
line, shown instead when the block is too wide for the screen."""

MATH_FENCES = frozenset({"math", "latex", "tex", "katex"})
"""Info strings of fenced blocks that hold LaTeX (GitHub renders ```` ```math ```` as a formula)."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _escape_markdown(text: str) -> str:
    """Backslash-escape characters Markdown would read as formatting (``*``, ``_``, ...)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _code_span(raw: str) -> str:
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", raw)), default=0) + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{ticks}{pad}{raw}{pad}{ticks}"


def _inline(raw: str, inner: str) -> str:
    converted = latex_to_unicode(inner)
    return _code_span(raw) if converted is None else _escape_markdown(converted)


def math_block(inner: str, indent: str = "") -> str | None:
    """A ``math`` fence for the display formula ``inner`` (None if it cannot be converted).

    Lines after the first are prefixed with ``indent``, the indentation of the line the formula
    started on, so a formula inside a list item stays in it.
    """
    converted = latex_to_unicode(inner, display=True)
    if converted is None:
        return None
    lines = converted.split("\n")
    if len(lines) > 1:
        lines.append(LINEAR_MARK + (latex_to_unicode(inner) or " ".join(lines)))
    return f"\n{indent}".join(["```math", *lines, "```"])


def _display(raw: str, inner: str, own_line: bool, indent: str) -> str:
    if own_line:
        block = math_block(inner, indent)
        if block is not None:
            return block
        return f"\n{indent}".join(["```latex", *raw.split("\n"), "```"])
    converted = latex_to_unicode(inner)
    return _code_span(raw) if converted is None else _escape_markdown(converted)


_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
_INLINE_DOLLAR_CLOSE = re.compile(r"(?<=[^\s\\])\$(?!\d)")


def render_markdown(text: str, *, partial: bool = False) -> str:
    """Replace the math spans of a Markdown document with Unicode; code is left untouched.

    With ``partial=True`` (a streamed answer that is still growing) the result stops before a math
    span or code span that is not closed yet, so the converted text of a longer prefix always starts
    with the converted text of a shorter one.
    """
    out: list[str] = []
    pos, n = 0, len(text)
    fence: str | None = None
    line_start = True
    while pos < n:
        if line_start:
            line_end = text.find("\n", pos)
            line_end = n if line_end < 0 else line_end + 1
            line = text[pos:line_end]
            m = _FENCE.match(line)
            if partial and fence is None and m and not line.endswith("\n"):
                break  # an opening fence whose info string ("math"?) may still grow
            if fence is None and m and line[m.end() :].strip().lower() in MATH_FENCES:
                converted = _math_fence(text, pos, line, m)
                if converted is None:
                    if partial:
                        break  # not closed yet: wait for the whole formula
                else:
                    block, pos = converted
                    out.append(block)
                    continue
            if fence is not None or m:
                if fence is None and m:
                    fence = m.group(1)
                elif (
                    fence is not None
                    and m
                    and m.group(1).startswith(fence)
                    and not line[m.end() :].strip()
                ):
                    fence = None
                out.append(line)
                pos = line_end
                continue
        line_start = False
        ch = text[pos]
        if ch == "\n":
            out.append(ch)
            pos += 1
            line_start = True
            continue
        if ch == "\\" and pos + 1 < n and text[pos + 1] in "$`\\":
            out.append(text[pos : pos + 2])
            pos += 2
            continue
        if ch == "`":
            run = re.compile(r"`+").match(text, pos)
            assert run is not None
            close = text.find(run.group(0), run.end())
            if close >= 0 and "\n\n" in text[run.end() : close]:
                close = -1  # a code span ends with its paragraph
            if close < 0:
                if partial and "\n\n" not in text[run.end() :]:
                    break
                out.append(run.group(0))
                pos = run.end()
                continue
            out.append(text[pos : close + len(run.group(0))])
            pos = close + len(run.group(0))
            continue
        span = _math_span(text, pos, partial)
        if isinstance(span, str):  # "pending": opened, not closed yet
            if partial:
                break
            out.append(ch)
            pos += 1
            continue
        if span is None:
            if partial and ch in "$\\" and pos == n - 1:
                break  # may become a delimiter with the next chunk
            out.append(ch)
            pos += 1
            continue
        end, inner, display = span
        raw = text[pos:end]
        if display:
            before = text[text.rfind("\n", 0, pos) + 1 : pos]
            after_end = text.find("\n", end)
            after = text[end : n if after_end < 0 else after_end]
            own_line = not before.strip() and not after.strip()
            if own_line and partial and after_end < 0:
                break  # the rest of the line decides whether it is a block
            out.append(_display(raw, inner, own_line, before))
        else:
            out.append(_inline(raw, inner))
        pos = end
    return "".join(out)


def _math_fence(text: str, pos: int, line: str, opening: re.Match[str]) -> tuple[str, int] | None:
    """A closed ```` ```math ```` fence starting at ``pos`` converted to ours, and where it ends.

    None when it is not closed yet; a fence whose LaTeX cannot be converted is kept as written.
    """
    marker = opening.group(1)
    indent = line[: opening.start(1)]
    body_start = pos + len(line)
    scan = body_start
    while scan < len(text):
        end = text.find("\n", scan)
        end = len(text) if end < 0 else end + 1
        m = _FENCE.match(text, scan, end)
        if m and m.group(1).startswith(marker) and not text[m.end() : end].strip():
            if end == len(text) and not text.endswith("\n"):
                return None  # the closing line may still grow (partial rendering)
            block = math_block(text[body_start:scan].strip(), indent)
            if block is None:
                return text[pos:end], end
            return indent + block + "\n", end
        scan = end
    return None


def _math_span(text: str, pos: int, partial: bool) -> tuple[int, str, bool] | str | None:
    """The math span starting at ``pos``: (end, inner text, is display), "pending" if not closed."""
    if text.startswith("$$", pos):
        close = text.find("$$", pos + 2)
        if close < 0:
            return None if "\n\n" in text[pos:] else "pending"
        if "\n\n" in text[pos:close]:
            return None
        return close + 2, text[pos + 2 : close], True
    if text.startswith("\\[", pos) or text.startswith("\\(", pos):
        closer = "\\]" if text[pos + 1] == "[" else "\\)"
        close = text.find(closer, pos + 2)
        if close < 0:
            return None if "\n\n" in text[pos:] else "pending"
        if "\n\n" in text[pos:close]:
            return None
        return close + 2, text[pos + 2 : close], closer == "\\]"
    if text[pos] == "$":
        if pos + 1 >= len(text):
            return "pending"
        if text[pos + 1].isspace():
            return None
        line_end = text.find("\n", pos)
        m = _INLINE_DOLLAR_CLOSE.search(text, pos + 1, len(text) if line_end < 0 else line_end)
        if m is None:
            return "pending" if line_end < 0 else None
        if partial and m.end() == len(text):
            return "pending"  # a digit may follow, and then it was not the closing dollar
        return m.end(), text[pos + 1 : m.start()], False
    return None


class StreamRenderer:
    """:func:`render_markdown` for a growing answer, re-rendering only its last paragraph.

    Rendering the whole answer on every screen update would cost time proportional to its length;
    paragraphs that are complete (ended by a blank line outside a code fence) never change their
    rendering, so they are converted once and kept.
    """

    def __init__(self) -> None:
        self._sealed_raw = 0
        self._sealed_display: list[str] = []
        self._scan = 0
        self._fence: str | None = None

    def render(self, raw: str) -> str:
        """The display form of ``raw`` (which must extend the previous call's ``raw``)."""
        self._seal(raw)
        return "".join(self._sealed_display) + render_markdown(
            raw[self._sealed_raw :], partial=True
        )

    def _seal(self, raw: str) -> None:
        while True:
            end = raw.find("\n", self._scan)
            if end < 0:
                return
            line = raw[self._scan : end + 1]
            self._scan = end + 1
            m = _FENCE.match(line)
            if self._fence is None and m:
                self._fence = m.group(1)
            elif self._fence is not None:
                if m and m.group(1).startswith(self._fence) and not line[m.end() :].strip():
                    self._fence = None
            elif not line.strip() and self._scan - self._sealed_raw > 1:
                # a blank line outside a fence: math and code spans never cross it, so the
                # paragraph before it renders the same whatever follows
                self._sealed_display.append(render_markdown(raw[self._sealed_raw : self._scan]))
                self._sealed_raw = self._scan


def render_plain(text: str) -> str:
    """``text`` with its math spans as one-line Unicode, for plain-text excerpts (no Markdown)."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch in "$\\":
            span = _math_span(text, pos, False)
            if isinstance(span, tuple):
                end, inner, _display_math = span
                converted = latex_to_unicode(inner)
                out.append(converted if converted is not None else text[pos:end])
                pos = end
                continue
        out.append(ch)
        pos += 1
    return "".join(out)
