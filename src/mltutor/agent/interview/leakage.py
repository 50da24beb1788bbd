"""No leakage: what is shown while a question is open must not give away its rubric verbatim.

:class:`LeakGuard` holds an open question's secrets (its key points and reference answer) and
tells whether a text about to be shown (a hint, a follow-up, a retrieved passage) repeats them:

- a key point of three or more words that appears whole, word for word (case and punctuation
  aside), leaks;
- so does any run of :data:`SHINGLE` consecutive words (symbols count as words, so formulas are
  covered) shared with a key point or the reference, unless the question itself contains that run
  (a follow-up may quote the question).

It is a guard, not a paraphrase detector: a hint is built to nudge (see
:mod:`mltutor.agent.interview.followups`), and anything that fails the guard is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SHINGLE = 5
"""Consecutive words shared with a secret that count as verbatim."""
WHOLE_MIN = 3
"""A key point this many words long or longer leaks when it appears whole."""

_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*|[^\s\w]", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-case words (``out-of-sample`` is one) and single symbols (``ё`` read as ``е``)."""
    return [t for t in _TOKEN.findall(text.lower().replace("ё", "е")) if t not in ",.;:!?\"'«»()"]


def _shingles(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return n > 0 and any(
        tuple(haystack[i : i + n]) == tuple(needle) for i in range(len(haystack) - n + 1)
    )


class LeakGuard:
    """The secrets of one open question and a test for texts that would reveal them."""

    def __init__(self, question: str, key_points: Iterable[str], reference: str = "") -> None:
        self._question = tokens(question)
        allowed = _shingles(self._question, SHINGLE)
        self._points = [tokens(p) for p in key_points]
        self._secret: set[tuple[str, ...]] = set()
        for words in [*self._points, tokens(reference)]:
            self._secret |= _shingles(words, SHINGLE) - allowed

    def leak(self, text: str) -> str | None:
        """The verbatim fragment ``text`` shares with the secrets, or None if it shares none."""
        words = tokens(text)
        for point in self._points:
            if (
                len(point) >= WHOLE_MIN
                and _contains(words, point)
                and not _contains(self._question, point)
            ):
                return " ".join(point)
        for shingle in _shingles(words, SHINGLE):
            if shingle in self._secret:
                return " ".join(shingle)
        return None

    def leaks(self, text: str) -> bool:
        """Whether ``text`` reveals a key point or the reference verbatim."""
        return self.leak(text) is not None
