"""The two things a comparison question is about, as a swap group of its own.

"Clip by value vs clip by norm", "the difference between bagging and boosting", "Чем ковариация
отличается от корреляции?": a wrong answer to such a question often says of one side what holds for
the other, in words no fixed list knows. The question names the pair; the word that tells each side
apart ("value" / "norm") becomes a side of :data:`~mltutor.agent.grading.traps.GROUPS`'s question
group: the texts are rewritten to placeholder words before the contradiction checks, which then
treat the pair like L1/L2, and the placeholders are put back in what is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mltutor.agent.grading.contradiction import (
    Contradiction,
    find_contradictions,
    reference_units,
)
from mltutor.agent.grading.contrast import reversed_contrasts
from mltutor.agent.grading.text import GENERIC, Unit, analyse, recall, same_value
from mltutor.agent.grading.traps import QUESTION_SIDES, normalize, term_hits
from mltutor.knowledge.lexical import tokenize

_PHRASE = r"[^\W\d_][\w\-]*(?:\s+[^\W\d_][\w\-]*){0,3}"
_PATTERNS = (
    re.compile(rf"(?P<a>{_PHRASE})\s+(?:vs\.?|versus)\s+(?P<b>{_PHRASE})", re.I),
    re.compile(rf"difference between (?P<a>{_PHRASE}?) and (?P<b>{_PHRASE})", re.I),
    re.compile(rf"compare (?P<a>{_PHRASE}?) (?:with|and|to) (?P<b>{_PHRASE})", re.I),
    re.compile(rf"(?:разниц\w*|различи\w*) между (?P<a>{_PHRASE}?) и (?P<b>{_PHRASE})", re.I),
    re.compile(rf"чем (?P<a>{_PHRASE}?) отлича\w* от (?P<b>{_PHRASE})", re.I),
    re.compile(
        r"(?P<a>\b\w[\w-]*(?:\s+\w[\w-]*)?) or (?P<b>\w[\w-]*(?:\s+\w[\w-]*)?)\s*[?:]", re.I
    ),
    re.compile(
        r"(?P<a>\b\w[\w-]*(?:\s+\w[\w-]*)?) или (?P<b>\w[\w-]*(?:\s+\w[\w-]*)?)\s*[?:]", re.I
    ),
)
_RATHER = re.compile(
    r"\b(?:rather than|instead of|вместо)\s+(?:the\s+|an?\s+)?(?P<b>\w[\w-]*)\s+(?P<head>\w[\w-]*)",
    re.I,
)
_WORD = re.compile(r"[^\W_][\w\-]*")


@dataclass(frozen=True)
class QuestionPair:
    """The stems that tell the two compared things apart, and how the question writes them."""

    a: str
    """Stem of side a ("valu")."""
    b: str
    """Stem of side b ("norm")."""
    a_word: str
    """Side a as the question writes it ("value")."""
    b_word: str
    """Side b as the question writes it ("norm")."""

    def rewrite(self, text: str) -> str:
        """``text`` with every word of stem ``a`` / ``b`` replaced by the group's placeholder."""

        def sub(m: re.Match[str]) -> str:
            stems = tokenize(m.group(0))
            if stems == [self.a]:
                return QUESTION_SIDES[0]
            if stems == [self.b]:
                return QUESTION_SIDES[1]
            return m.group(0)

        return _WORD.sub(sub, text)

    def restore(self, text: str) -> str:
        """The placeholders back as the question's words."""
        return text.replace(QUESTION_SIDES[0], self.a_word).replace(QUESTION_SIDES[1], self.b_word)

    def restore_contradiction(self, c: Contradiction, originals: dict[str, str]) -> Contradiction:
        """``c`` with the answer's own sentence (when ``c`` is about a whole one) and words."""
        sentence = originals.get(c.sentence) or self.restore(c.sentence)
        return replace(
            c, sentence=sentence, reference=self.restore(c.reference), reason=self.restore(c.reason)
        )


def _side(phrase: str, last: bool) -> list[str]:
    words = [w for w in _WORD.findall(phrase) if len(tokenize(w)) == 1]
    return words[-2:] if last else words[:2]


def _rather(question: str) -> tuple[str, str] | None:
    """ "the harmonic mean ... rather than the arithmetic mean": the words before the repeated head."""
    m = _RATHER.search(question)
    if m is None:
        return None
    head = m.group("head").lower()
    before = _WORD.findall(question[: m.start()])
    for k in range(len(before) - 1, 0, -1):
        if before[k].lower() == head and len(tokenize(before[k - 1])) == 1:
            return before[k - 1], m.group("b")
    return None


def question_pair(question: str) -> QuestionPair | None:
    """The pair a comparison question names, or None (no comparison, or one a fixed group knows)."""
    found = _rather(question)
    if found is not None:
        return _pair(*found)
    for pattern in _PATTERNS:
        m = pattern.search(question)
        if m is None:
            continue
        a_words, b_words = _side(m.group("a"), last=True), _side(m.group("b"), last=False)
        a_stems = {tokenize(w)[0]: w for w in a_words}
        b_stems = {tokenize(w)[0]: w for w in b_words}
        only_a = [s for s in a_stems if s not in b_stems and s not in GENERIC and len(s) > 1]
        only_b = [s for s in b_stems if s not in a_stems and s not in GENERIC and len(s) > 1]
        if not only_a or not only_b:
            continue
        last = pattern.pattern.endswith("[?:]")  # "X or Y?": the head words are last
        return _pair(a_stems[only_a[-1]], b_stems[only_b[-1] if last else only_b[0]])
    return None


def _pair(a_word: str, b_word: str) -> QuestionPair | None:
    a, b = tokenize(a_word), tokenize(b_word)
    if len(a) != 1 or len(b) != 1 or a == b or a[0] in GENERIC or b[0] in GENERIC:
        return None
    if term_hits(normalize(a_word)) or term_hits(normalize(b_word)):
        return None  # L1/L2, ADF/KPSS...: a fixed group reads them already
    return QuestionPair(a[0], b[0], a_word.lower(), b_word.lower())


def contradictions_of(
    question: str,
    sentences: list[str],
    ref_texts: list[str],
    misconceptions: list[tuple[str, str]],
    *,
    allowed_numbers: list[tuple[float, ...]],
    numbers: bool,
) -> list[Contradiction]:
    """:func:`~mltutor.agent.grading.contradiction.find_contradictions` over the answer's
    sentences, with the question's pair (if it names one) read as a swap group, then
    :func:`~mltutor.agent.grading.contrast.reversed_contrasts` over the sentences left."""
    pair = question_pair(question)
    rw = pair.rewrite if pair is not None else _same
    written = [rw(s) for s in sentences]
    texts = [rw(t) for t in ref_texts]
    found = find_contradictions(
        written,
        reference_units(texts),
        allowed_numbers=allowed_numbers,
        misconceptions=[(analyse(rw(b)), analyse(rw(c))) for b, c in misconceptions],
        numbers=numbers,
        question=rw(question),
        reference_texts=texts,
    )
    if pair is not None:
        originals = dict(zip(written, sentences, strict=True))
        found = [pair.restore_contradiction(c, originals) for c in found]
    flagged = {k for k, s in enumerate(sentences) for c in found if c.sentence in s}
    found += reversed_contrasts(sentences, ref_texts, skip=flagged)
    units = reference_units(ref_texts)
    return [c for c in found if not _stated(c.sentence, units)]


STATED = 0.9
"""Share of a flagged sentence's tokens (words and swap-group sides) that one reference unit of
the same polarity (and with the same numbers) must hold for the sentence to count as stated by the
reference, not denied."""


def _stated(sentence: str, refs: list[Unit]) -> bool:
    """The reference says this sentence as written: it cannot contradict the reference."""
    unit = analyse(sentence)
    if len(unit.tokens) < 3:
        return False
    polarity = min(unit.negations, 1)
    return any(
        not r.outer_negation
        and min(r.negations, 1) == polarity
        and recall(unit.tokens, r.tokens) >= STATED
        and all(any(same_value(x, y) for x in n for m in r.nums for y in m) for n in unit.nums)
        for r in refs
    )


def _same(text: str) -> str:
    return text


__all__ = ["QuestionPair", "contradictions_of", "question_pair"]
