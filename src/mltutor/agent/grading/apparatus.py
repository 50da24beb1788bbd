"""The tutor's own apparatus, taken out of an answer before it is graded.

An answer written by the tutor (``agent/tutor/answer.py``) carries marks that are not claims:

- citation markers ``[1]``, ``[2]`` after a sentence (not an index such as ``a[1]``, and not a
  bracket holding ``0`` or a list such as ``[0, 1]``);
- the ``†`` that marks a sentence the notes neither support nor contradict, and the footnote line
  explaining it;
- a trailing ``Source: [1] ...`` / ``Sources: ...`` line (``Источник(и): ...`` in Russian);
- the italic line saying what was removed ``*(... from this answer.)*`` and the heading of the
  tools block (``**Computed by mltutor's tools:**``; the computed values under it stay: they are
  statements of the answer).

None of these may change a grade: a source line would add words of a note's title, a footnote would
add a sentence that restates nothing.
"""

from __future__ import annotations

import re

_SOURCE_LINE = re.compile(
    r"^\s*[*_]*\s*(?:sources?|references?|источник(?:и)?|ссылк[аи])\s*[*_]*\s*:.*$",
    re.IGNORECASE | re.MULTILINE,
)
_FOOTNOTE_LINE = re.compile(r"^\s*[*_]*\s*†.*$", re.MULTILINE)
_REMOVED_LINE = re.compile(
    r"^\s*[*_]+\((?:[^()]|\([^()]*\))*(?:from this answer|из этого ответа)\.?\)[*_]+\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_TOOLS_HEADING = re.compile(
    r"^\s*\*\*(?:computed by mltutor's tools|посчитано инструментами mltutor):?\*\*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_CITATION = re.compile(
    r"(?:(?<=\S)[ \t]+|(?<=[.,;:!?)]))(?:\[[1-9]\d?\])(?:[ \t]*\[[1-9]\d?\])*(?![ \t]*[=(\[])"
)
_DAGGER = re.compile(r"\s*†")


def strip_apparatus(text: str) -> tuple[str, list[str]]:
    """``text`` without the tutor's apparatus, and what was taken out (in words, for a note)."""
    removed: list[str] = []
    for rx, what in (
        (_SOURCE_LINE, "source line"),
        (_FOOTNOTE_LINE, "footnote"),
        (_REMOVED_LINE, "removal note"),
        (_TOOLS_HEADING, "tools heading"),
    ):
        text, n = rx.subn("", text)
        if n:
            removed.append(what)
    text, n = _CITATION.subn("", text)
    if n:
        removed.append("citation markers")
    text, n = _DAGGER.subn("", text)
    if n:
        removed.append("unsupported-sentence marks")
    if removed:
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, removed


__all__ = ["strip_apparatus"]
