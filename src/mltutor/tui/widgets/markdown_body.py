"""Markdown shown as a few static chunks, so long answers and long sessions stay fast.

Textual's ``Markdown`` widget mounts a widget per block; every layout pass then costs time in
proportion to all blocks of all answers on screen (measured: about 0.25 ms per widget, so a long
session blocked the UI for well over 50 ms per streamed update). Here an answer is split at blank
lines into chunks of about :data:`CHUNK_CHARS` characters, each one ``Static`` holding a Rich
Markdown renderable: a finished chunk is never rendered again (Textual caches its height and
lines), and while streaming only the last chunk changes.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, MarkdownElement
from rich.markdown import Markdown as RichMarkdown
from rich.padding import Padding
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from mltutor.tui.mathblock import break_formula
from mltutor.tui.mathtext import LINEAR_MARK

CHUNK_CHARS = 1200
"""Target size of a chunk: small enough to re-render every tick, large enough to keep few widgets."""

SPARE_LINES = 4
"""Extra lines reserved under a streaming chunk (each costs a blank line until the answer ends)."""

_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")


def chunk_markdown(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split ``text`` at blank lines outside code fences into chunks of at least ``size`` chars.

    Deterministic from the start of the text, so when the text only grows, every chunk but the last
    stays exactly as it was (and its widget need not be touched).
    """
    chunks: list[str] = []
    start = pos = 0
    fence: str | None = None
    while True:
        end = text.find("\n", pos)
        if end < 0:
            break
        line = text[pos : end + 1]
        pos = end + 1
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None:
            if m and m.group(1).startswith(fence) and not line[m.end() :].strip():
                fence = None
        elif not line.strip() and pos - start >= size and text[pos:].strip():
            chunks.append(text[start:pos])
            start = pos
    chunks.append(text[start:])
    return chunks


MATH_INDENT = 4
"""Cells a display formula is indented by."""


def formula_lines(code: str, width: int) -> list[str]:
    """The lines of a ``math`` block for ``width`` cells: a block (matrix, cases) that does not fit
    falls back to its one-line form, and long lines break before operators."""
    display, mark, one_line = code.partition(LINEAR_MARK)
    lines = display.rstrip("\n").split("\n")
    if mark and max(cell_len(line) for line in lines) > width:
        lines = [one_line.strip()]
    return [piece for line in lines for piece in break_formula(line, width)]


class _CodeBlock(CodeBlock):
    """Code blocks; a ``math`` block (a converted display formula) is an indented formula.

    Unlabelled and ``math`` blocks skip Pygments: looking a lexer up costs more than rendering the
    whole paragraph, and it would run again on every streamed update of the chunk.
    """

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        if self.lexer_name == "math":
            width = max(8, options.max_width - MATH_INDENT)
            text = Text("\n".join(formula_lines(code, width)), style="bold", no_wrap=True)
            yield Padding(text, (0, 0, 0, MATH_INDENT))
        elif self.lexer_name in ("text", ""):
            yield Padding(Text(code), (0, 1, 0, 1), style="on grey15", expand=True)
        else:
            yield from super().__rich_console__(console, options)


class _Markdown(RichMarkdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **RichMarkdown.elements,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
    }


def render_chunk(text: str) -> RichMarkdown:
    """The renderable for one chunk (links shown with their address: terminals differ)."""
    return _Markdown(text.strip("\n"), hyperlinks=False, code_theme="ansi_dark")


class MarkdownBody(Vertical):
    """A Markdown document as chunked ``Static`` widgets; :meth:`show` re-renders what changed."""

    DEFAULT_CLASSES = "markdown-body"

    def __init__(self, text: str = "", *, classes: str = "") -> None:
        super().__init__(classes=f"markdown-body {classes}".strip())
        self._initial = text
        self._chunks: list[str] = []
        self.source = ""
        """The Markdown shown."""

    def on_mount(self) -> None:
        if self._initial:
            self.show(self._initial)

    def show(self, text: str, *, streaming: bool = False) -> None:
        """Display ``text``; chunks equal to the ones shown are left alone.

        While ``streaming``, the last chunk gets a few spare lines of height so that most updates
        repaint it without a layout pass over the whole screen (one layout per few lines instead of
        one per update); the spare lines go when streaming ends.
        """
        self.source = text
        chunks = chunk_markdown(text) if text else []
        widgets = list(self.query_children(Static))
        new: list[Static] = []
        for i, chunk in enumerate(chunks):
            unchanged = i < len(self._chunks) and self._chunks[i] == chunk and i < len(widgets)
            last = i == len(chunks) - 1
            if unchanged and (streaming or not last):
                continue
            if i < len(widgets):
                self._update_chunk(widgets[i], chunk, streaming=streaming and last)
            else:
                new.append(Static(render_chunk(chunk), classes="md-chunk"))
        for widget in widgets[: len(chunks) - 1]:
            widget.styles.height = "auto"  # sealed: no spare lines
        for extra in widgets[len(chunks) :]:
            extra.remove()
        if new:
            self.mount_all(new)
        self._chunks = chunks

    def _update_chunk(self, widget: Static, chunk: str, *, streaming: bool) -> None:
        renderable = render_chunk(chunk)
        width = widget.content_region.width
        if not streaming or width <= 0:
            widget.styles.height = "auto"
            widget.update(renderable)
            return
        console = self.app.console
        lines = len(console.render_lines(renderable, console.options.update_width(width)))
        reserved = widget.styles.height
        if reserved is not None and reserved.is_cells and lines <= reserved.value:
            widget.update(renderable, layout=False)  # fits the reserved height: repaint only
        else:
            widget.styles.height = lines + SPARE_LINES
            widget.update(renderable)
