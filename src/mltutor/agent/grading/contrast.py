"""Contrasts turned around: the reference says "A, not B", the answer says "B rather than A".

References often state a fact as a contrast ("depends only on the lag k, not on t", "test error
levels off rather than rising", "нормальными становятся не данные, а распределение среднего"). An
answer that makes the opposite contrast, asserting what the reference denies *and* denying what it
asserts, contradicts it, whatever else the sentences share. Both crossings are required, so a
sentence that merely mentions both sides never counts.
"""

from __future__ import annotations

import re

from mltutor.agent.grading.findings import Contradiction
from mltutor.agent.grading.text import split_sentences
from mltutor.knowledge.lexical import tokenize

_PHRASE = r"[^,.;:!?()]{1,60}"
# (pattern, which group is asserted, which denied)
_CONTRASTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(rf"(?P<x>{_PHRASE}?)\s*,?\s+(?:rather than|instead of)\s+(?P<y>{_PHRASE})", re.I), "x", "y"),
    (re.compile(rf"(?P<x>{_PHRASE}?),\s+(?:and\s+)?not\s+(?P<y>{_PHRASE})", re.I), "x", "y"),
    (re.compile(rf"\bnot\s+(?P<y>{_PHRASE}?),?\s+but\s+(?P<x>{_PHRASE})", re.I), "x", "y"),
    (re.compile(rf"(?<!\w)не\s+(?P<y>{_PHRASE}?),\s+а\s+(?P<x>{_PHRASE})", re.I), "x", "y"),
    (re.compile(rf"(?P<x>{_PHRASE}?),\s+а\s+не\s+(?P<y>{_PHRASE})", re.I), "x", "y"),
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_][\w-]*")
SIDE_WORDS = 2
"""Content words on each side of the contrast that stand for it (nearest the connective)."""


def _stems(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(text):
        toks = tokenize(word)
        if toks:
            out.append(toks[-1])
        elif len(word) == 1:
            out.append(word.lower())  # "t", "k": symbols the tokenizer drops
    return out


def contrasts(sentence: str) -> list[tuple[set[str], set[str]]]:
    """(asserted, denied) stems of each contrast in ``sentence``."""
    out: list[tuple[set[str], set[str]]] = []
    for pattern, yes, no in _CONTRASTS:
        for m in pattern.finditer(sentence):
            asserted = _stems(m.group(yes))
            denied = _stems(m.group(no))
            # the words nearest the connective: the end of what comes first, the start of the rest
            near_yes = (
                asserted[-SIDE_WORDS:] if m.start(yes) < m.start(no) else asserted[:SIDE_WORDS]
            )
            near_no = denied[:SIDE_WORDS] if m.start(no) > m.start(yes) else denied[-SIDE_WORDS:]
            a, d = set(near_yes), set(near_no)
            if a and d and not a & d:
                out.append((a, d))
    return out


def reversed_contrasts(
    sentences: list[str], ref_texts: list[str], *, skip: set[int]
) -> list[Contradiction]:
    """Answer sentences (not in ``skip``) whose contrast is a reference contrast turned around."""
    refs = [(s, c) for t in ref_texts for s in split_sentences(t) for c in contrasts(s)]
    if not refs:
        return []
    out: list[Contradiction] = []
    for k, sentence in enumerate(sentences):
        if k in skip:
            continue
        for asserted, denied in contrasts(sentence):
            hit = next(
                (s for s, (ra, rd) in refs if asserted & rd and denied & ra),
                None,
            )
            if hit is not None:
                out.append(
                    Contradiction(
                        sentence,
                        hit,
                        "asserts what the reference denies, and the reverse",
                        "negation",
                    )
                )
                break
    return out


__all__ = ["contrasts", "reversed_contrasts"]
