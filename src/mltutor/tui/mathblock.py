"""Two-dimensional math text: matrices, cases, aligned rows and stacked limits as aligned lines.

A :class:`Block` is a few lines of text with a *baseline*, the row that lines up with the text
beside it, so ``H = `` followed by a two-row matrix reads

    H = ⎛6x  0⎞
        ⎝ 0  2⎠

Every block also carries its one-line form (``(6x, 0; 0, 2)``) for inline math and for screens too
narrow for the block. Widths are terminal cells (``rich.cells``), so combining accents and wide
characters line up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len

_SPACES = re.compile(r"[ \t]{2,}")
_OPEN_SPACE = re.compile(r"([(\[⟨]) +")
_SPACE_CLOSE = re.compile(r" +([)\]⟩])")


def tidy(text: str) -> str:
    """Collapse runs of spaces and the spaces just inside brackets (one-line text only)."""
    text = _SPACES.sub(" ", text)
    text = _OPEN_SPACE.sub(r"\1", text)
    return _SPACE_CLOSE.sub(r"\1", text)


@dataclass(frozen=True)
class Block:
    """Lines of text that belong together, aligned on ``baseline`` when set beside other text."""

    lines: tuple[str, ...]
    """The rows, top to bottom (not padded)."""
    baseline: int
    """Index of the row that continues the surrounding line of text."""
    linear: str
    """The same content on one line."""

    @property
    def width(self) -> int:
        """Width in terminal cells."""
        return max((cell_len(line) for line in self.lines), default=0)

    @property
    def height(self) -> int:
        """Number of rows."""
        return len(self.lines)

    def __str__(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines)


Piece = str | Block
"""What the LaTeX reader produces for a piece of a formula."""


def linear(piece: Piece) -> str:
    """The one-line form of ``piece``."""
    return piece.linear if isinstance(piece, Block) else piece


def _pad(text: str, width: int, align: str = "<") -> str:
    gap = max(0, width - cell_len(text))
    if align == ">":
        return " " * gap + text
    if align == "^":  # centred; an odd cell goes right, so digits line up on the right
        return " " * (gap - gap // 2) + text + " " * (gap // 2)
    return text + " " * gap


def hcat(pieces: Sequence[Piece]) -> Piece:
    """Set pieces side by side, aligned on their baselines; plain text stays plain text."""
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if not any(isinstance(p, Block) for p in merged):
        return "".join(p for p in merged if isinstance(p, str))
    blocks = [p if isinstance(p, Block) else Block((tidy(p),), 0, tidy(p)) for p in merged]
    above = max(b.baseline for b in blocks)
    below = max(b.height - b.baseline - 1 for b in blocks)
    rows = ["" for _ in range(above + below + 1)]
    for block in blocks:
        width = block.width
        top = above - block.baseline
        for r in range(len(rows)):
            i = r - top
            rows[r] += _pad(block.lines[i] if 0 <= i < block.height else "", width)
    return Block(tuple(rows), above, tidy("".join(b.linear for b in blocks)))


def stack(lines: Sequence[str], baseline: int, linear_form: str) -> Block:
    """A block from ready lines."""
    return Block(tuple(lines), baseline, linear_form)


_TALL = {
    "(": ("⎛", "⎜", "⎝"),
    ")": ("⎞", "⎟", "⎠"),
    "[": ("⎡", "⎢", "⎣"),
    "]": ("⎤", "⎥", "⎦"),
    "{": ("⎧", "⎪", "⎩"),
    "}": ("⎫", "⎪", "⎭"),
    "|": ("│", "│", "│"),
    "‖": ("‖", "‖", "‖"),
    "⌊": ("⎢", "⎢", "⎣"),
    "⌋": ("⎥", "⎥", "⎦"),
    "⌈": ("⎡", "⎢", "⎢"),
    "⌉": ("⎤", "⎥", "⎥"),
}
_BRACE_MIDDLE = {"{": "⎨", "}": "⎬"}


def tall_delimiter(char: str, height: int) -> list[str]:
    """``char`` drawn over ``height`` rows (itself when one row or not a known delimiter)."""
    if height <= 1 or char not in _TALL:
        return [char] * max(height, 1)
    top, mid, bottom = _TALL[char]
    rows = [top] + [mid] * (height - 2) + [bottom]
    if char in _BRACE_MIDDLE and height >= 3:
        rows[(height - 1) // 2] = _BRACE_MIDDLE[char]
    return rows


def delimited(inner: Piece, left: str, right: str) -> Piece:
    """``inner`` between delimiters, drawn as tall as a block."""
    if not isinstance(inner, Block):
        return f"{left}{inner}{right}"
    h = inner.height
    lefts = tall_delimiter(left, h) if left else [""] * h
    rights = tall_delimiter(right, h) if right else [""] * h
    width = inner.width
    lines = [lefts[i] + _pad(inner.lines[i], width) + rights[i] for i in range(h)]
    return Block(tuple(lines), inner.baseline, tidy(f"{left}{inner.linear}{right}"))


MATRIX_DELIMITERS = {
    "matrix": ("", ""),
    "smallmatrix": ("", ""),
    "array": ("", ""),
    "pmatrix": ("(", ")"),
    "bmatrix": ("[", "]"),
    "Bmatrix": ("{", "}"),
    "vmatrix": ("|", "|"),
    "Vmatrix": ("‖", "‖"),
}
"""Matrix environments and the brackets they are drawn with."""


def matrix(rows: Sequence[Sequence[str]], env: str) -> Block:
    """A matrix with centred columns two cells apart, between the environment's brackets."""
    left, right = MATRIX_DELIMITERS[env]
    columns = max(len(r) for r in rows)
    cells = [[tidy(c).strip() for c in r] + [""] * (columns - len(r)) for r in rows]
    widths = [max(cell_len(r[j]) for r in cells) for j in range(columns)]
    lines = ["  ".join(_pad(r[j], widths[j], "^") for j in range(columns)) for r in cells]
    one_line = "; ".join(", ".join(c for c in r if c) for r in cells)
    inner = Block(tuple(lines), (len(lines) - 1) // 2, one_line)
    block = delimited(inner, left, right)
    assert isinstance(block, Block)
    return block


def cases(rows: Sequence[tuple[str, str]]) -> Block:
    """``{ value, if condition`` rows with the conditions lined up."""
    values = [tidy(v).strip() for v, _ in rows]
    conditions = [tidy(c).strip() for _, c in rows]
    width = max(cell_len(v) for v in values) + 1
    lines = [
        _pad(v + ("," if c else ""), width) + (" " + c if c else "")
        for v, c in zip(values, conditions, strict=True)
    ]
    one_line = "; ".join(f"{v}, {c}" if c else v for v, c in zip(values, conditions, strict=True))
    h = len(lines)
    braces = tall_delimiter("{", h) if h > 1 else ["{"]
    rendered = [f"{braces[i]} {lines[i]}".rstrip() for i in range(h)]
    return Block(tuple(rendered), (h - 1) // 2, "{" + one_line + "}")


def aligned(rows: Sequence[Sequence[str]]) -> Block:
    """Rows split at ``&``: columns alternately right- and left-aligned, as LaTeX's ``aligned``."""
    columns = max(len(r) for r in rows)
    cells = [[tidy(c).strip() for c in r] + [""] * (columns - len(r)) for r in rows]
    widths = [max(cell_len(r[j]) for r in cells) for j in range(columns)]
    lines = []
    for r in cells:
        parts = [_pad(r[j], widths[j], ">" if j % 2 == 0 else "<") for j in range(columns)]
        lines.append(" ".join(p for p in parts if p.strip() or columns > 1).rstrip())
    one_line = "; ".join(" ".join(c for c in r if c) for r in cells)
    return Block(tuple(lines), (len(lines) - 1) // 2, one_line)


def with_limits(operator: str, lower: str, upper: str, one_line: str) -> Block:
    """A big operator (Σ, ∏, ∫, lim) with its limits above and below, centred on it."""
    lower, upper = tidy(lower).strip(), tidy(upper).strip()
    width = max(cell_len(operator), cell_len(lower), cell_len(upper))
    lines = []
    if upper:
        lines.append(_pad(upper, width, "^"))
    baseline = len(lines)
    lines.append(_pad(operator, width, "^"))
    if lower:
        lines.append(_pad(lower, width, "^"))
    return Block(tuple(lines), baseline, one_line)


RELATIONS = ("=", "≈", "≤", "≥", "<", ">", "≠", "≡", "∝", "∼", "⇒", "⇔", "→", "⟹")
"""Relations a long formula is broken before (continuations line up under the first one)."""
_OPERATORS = ("+", "-", "−", "±", "·", "×")
_OPEN, _CLOSE = "([{⟨⌊⌈", ")]}⟩⌋⌉"


def _break_points(line: str) -> list[tuple[int, int, bool]]:
    """(index, bracket depth, is a relation) of each space before an operator, or after a comma."""
    points: list[tuple[int, int, bool]] = []
    depth = 0
    for i, ch in enumerate(line):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == " " and i > 0:
            after = line[i + 1 : i + 3]
            if len(after) == 2 and after[1] == " ":
                if after[0] in RELATIONS:
                    points.append((i, depth, True))
                elif after[0] in _OPERATORS:
                    points.append((i, depth, False))
            elif line[i - 1] in ",;":
                points.append((i, depth, False))
    return points


def break_formula(line: str, width: int) -> list[str]:
    """One formula line as several that fit ``width``, broken before operators outside brackets.

    Continuation lines start with the operator; a relation lines up under the first relation
    (``= …`` under ``=``), other operators two cells further in. Where no operator helps, the line
    breaks at a space, and a formula with no space at all is cut into ``width``-wide pieces.
    """
    if cell_len(line) <= width or width < 8:
        return [line]
    points = _break_points(line)
    if not points:
        spaces = [i for i, ch in enumerate(line) if ch == " " and i > 0]
        if not spaces:
            return [line[i : i + width] for i in range(0, len(line), width)]
        points = [(i, 0, False) for i in spaces]
    depth = min(d for _, d, _ in points)
    by_depth = [[i for i, d, _ in points if d == k] for k in sorted({d for _, d, _ in points})]
    spaces = [i for i, ch in enumerate(line) if ch == " " and i > 0]
    first_relation = next((i for i, d, rel in points if rel and d == depth), None)
    anchor = first_relation + 1 if first_relation is not None and first_relation < width // 2 else 0
    out: list[str] = []
    start, indent = 0, ""
    while cell_len(indent + line[start:]) > width:
        cut = _choose_cut(line, [*by_depth, spaces], start, indent, width)
        if cut is None:
            break  # one word longer than the line: it overflows
        out.append(indent + line[start:cut])
        start = cut + 1
        if anchor:
            indent = " " * (anchor if line[start] in RELATIONS else anchor + 2)
        else:
            indent = "  " if line[start] in RELATIONS else "    "
    out.append(indent + line[start:])
    return out


def _choose_cut(
    line: str, candidates: list[list[int]], start: int, indent: str, width: int
) -> int | None:
    """Where to end the line: at the outermost operator that fills at least half of it; inside
    brackets, or at any space, only when the outer ones would leave the line mostly empty."""
    found: list[int] = []
    for cuts in candidates:
        cut = _last_fitting(line, cuts, start, indent, width)
        if cut is not None:
            if cell_len(indent + line[start:cut]) >= width // 2:
                return cut
            found.append(cut)
    return max(found) if found else None


def _last_fitting(line: str, cuts: list[int], start: int, indent: str, width: int) -> int | None:
    fitting = [i for i in cuts if i > start and cell_len(indent + line[start:i]) <= width]
    return fitting[-1] if fitting else None
