"""Roles said with what the reference says of their counterpart ("the L2 ball has corners").

The swap check compares whole clauses; a candidate who exchanges two roles inside one sentence
keeps most of its words. So, for every role group (L1/L2, bias/variance, the question's own pair...),
the words the reference says near each side are collected, and a sentence whose mention of one side
is surrounded by what the reference only ever says of the other contradicts it.
"""

from __future__ import annotations

import re

from mltutor.agent.grading.findings import Contradiction
from mltutor.agent.grading.text import Unit, analyse, overlap, split_sentences
from mltutor.agent.grading.traps import GROUPS, side_words

ASSOCIATION_MIN = 2
"""Words the reference only says of the other side that a role's mention must carry to count."""
PRONOUN = re.compile(r"^(?:it|its|this|they|their|он|она|оно|его|её|ее|их|это|они)\b", re.I)


WINDOW_BEFORE, WINDOW_AFTER = 3, 5
"""Tokens around a mention of a role that count as said about it."""


def _windows(sequence: tuple[str, ...]) -> list[tuple[int, str, set[str]]]:
    """(group, side, tokens said of the mention) for every role mention: the tokens after it up to
    the group's next mention, and the tokens before the group's first mention (so "the L2 ball
    has corners and the L1 ball is round" keeps corners with L2 and round with L1)."""
    out: list[tuple[int, str, set[str]]] = []
    marks = [
        (i, int(t[1:].split(":")[0]), t[-1])
        for i, t in enumerate(sequence)
        if t.startswith("§") and GROUPS[int(t[1:].split(":")[0])].kind == "role"
    ]
    for i, g, side in marks:
        same_group = [j for j, gg, _ in marks if gg == g and j != i]
        earlier = [j for j in same_group if j < i]
        lo = earlier[-1] + 1 if earlier else max(0, i - WINDOW_BEFORE)
        lo = max(lo, i) if earlier else lo
        hi = min([j for j in same_group if j > i] + [i + WINDOW_AFTER + 1, len(sequence)])
        near = {t for t in sequence[lo:hi] if t != sequence[i] and not t.startswith(f"§{g}:")}
        out.append((g, side, near))
    return out


def associations(texts: list[str]) -> dict[tuple[int, str], set[str]]:
    """For each (role group, side), the tokens the reference texts say of that side.

    A sentence that names no role and opens with a pronoun ("Its constraint region is a diamond")
    speaks of the role the previous sentence ended on."""
    out: dict[tuple[int, str], set[str]] = {}
    for text in texts:
        last: dict[int, str] = {}
        for sentence in split_sentences(text):
            unit = analyse(sentence)
            windows = _windows(unit.sequence)
            for g, side, near in windows:
                out.setdefault((g, side), set()).update(near)
            named = {g: side for g, side, _ in windows}
            if PRONOUN.match(sentence.strip()):
                plain = {t for t in unit.tokens if not t.startswith("§")} | {
                    t
                    for t in unit.tokens
                    if t.startswith("§") and int(t[1:].split(":")[0]) not in last
                }
                for g, side in last.items():
                    if g not in named:
                        out.setdefault((g, side), set()).update(plain)
                last = {**last, **named}
            else:
                last = named
    return out


def association(
    sentence: Unit,
    assoc: dict[tuple[int, str], set[str]],
    common: frozenset[str],
    refs: list[Unit],
) -> Contradiction | None:
    """Roles said with what the reference only ever says about their counterpart.

    Each token near a mention that the reference says only of the other side counts (a swap-group
    token twice), each it says only of this side counts against; words of the question count for
    nothing. One side alone needs :data:`ASSOCIATION_MIN`; a sentence naming both sides needs each
    side's mentions to lean the other way (a full exchange)."""
    per: dict[int, dict[str, int]] = {}
    for g, side, near in _windows(sentence.sequence):
        other = "b" if side == "a" else "a"
        mine, theirs = assoc.get((g, side), set()), assoc.get((g, other), set())
        if not mine or not theirs:
            continue  # the reference does not describe both sides
        # what a mention is said not to do is no association ("type II is failing to reject")
        near = {
            t for t in near if (t.startswith("§") or t not in common) and t not in sentence.negated
        }
        lean = sum(2 if t.startswith("§") else 1 for t in near if t in theirs and t not in mine)
        lean -= sum(2 if t.startswith("§") else 1 for t in near if t in mine and t not in theirs)
        sides = per.setdefault(g, {})
        sides[side] = sides.get(side, 0) + lean
    for g, sides in sorted(per.items()):
        if len(sides) == 2:
            ok = min(sides.values()) >= 1 and sum(sides.values()) >= ASSOCIATION_MIN
        else:
            ok = next(iter(sides.values())) >= ASSOCIATION_MIN
        if not ok:
            continue
        side = max(sides, key=lambda k: sides[k])
        other = "b" if side == "a" else "a"
        said, meant = side_words(g, side), side_words(g, other)
        evidence = next(
            (
                r.text
                for r in sorted(refs, key=lambda r: -overlap(sentence.tokens, r.tokens))
                if f"§{g}:{other}" in r.tokens and f"§{g}:{side}" not in r.tokens
            ),
            f"the reference says this of {meant}, not {said}",
        )
        return Contradiction(
            sentence.text, evidence, f"says of {said} what the reference says of {meant}", "swap"
        )
    return None


__all__ = ["ASSOCIATION_MIN", "PRONOUN", "association", "associations"]
