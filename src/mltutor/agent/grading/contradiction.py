"""Contradiction, not only overlap: does a sentence say the opposite of the reference?

A wrong answer reuses the right vocabulary ("L2 gives sparse weights"), so overlap alone scores it as
covered. Each answer clause is aligned with the reference clauses it shares words with, and checked
for the usual traps:

- **swapped terms**: with one swap group's sides exchanged (L1<->L2, increases<->decreases, ...)
  the clause matches a reference clause clearly better than as written;
- **negation**: it matches a reference clause closely but with the opposite polarity;
- **wrong number**: it matches a reference clause that states a number, and states another one
  that the reference never mentions;
- **misconception**: it restates a false belief listed in the notes' "Common misconceptions".

Everything is lexical (stems + swap-group tokens), so it is deterministic and fast; the thresholds
were tuned on the ``tune`` split of ``evals/data/grading.jsonl`` only.
"""

from __future__ import annotations

import re
from collections import Counter

from mltutor.agent.grading.associations import PRONOUN, association, associations
from mltutor.agent.grading.findings import Contradiction, Kind
from mltutor.agent.grading.text import (
    Unit,
    analyse,
    fragments,
    number_contexts,
    overlap,
    recall,
    same_value,
    split_clauses,
    split_sentences,
    strip_asides,
)
from mltutor.agent.grading.traps import GROUPS, side_words

SWAP_MIN = 0.6
"""A swapped clause must match a reference clause at least this well (set cosine)."""
SWAP_GAIN = 0.15
"""... and this much better than the clause as written matches any reference clause."""
NEGATION_MIN = 0.7
"""A clause and a reference clause of opposite polarity must match this well to contradict."""
NEGATION_SHARED = 3
"""... and share this many words."""
NUMBER_MIN = 0.45
"""A clause must match a reference clause this well for a different number there to count."""
MISCONCEPTION_MIN = 0.6
"""A clause must match a listed misconception this well (and better than its correction)."""
BELIEF_RECALL = 0.75
"""... and contain this share of the belief's own words."""
MIN_SHARED = 2
"""Shared tokens (besides the swapped group) that anchor an alignment."""


def reference_units(texts: list[str]) -> list[Unit]:
    """Fragments, clauses and whole sentences of the reference texts, read once per rubric."""
    out: list[Unit] = []
    seen: set[str] = set()
    for text in texts:
        subject = ""
        for sentence in split_sentences(text):
            if subject and PRONOUN.match(sentence.strip()):
                sentence = f"{subject} {sentence}"  # "it is largest at 0" of what came before
            subject = " ".join(sentence.split()[:3])
            whole = analyse(sentence).negations
            for piece in (*fragments(sentence), *split_clauses(sentence), sentence):
                if piece not in seen:
                    seen.add(piece)
                    unit = analyse(piece)
                    if unit.negations < whole:
                        unit.outer_negation = sentence[: max(0, sentence.find(piece))]
                    out.append(unit)
    return out


def _shared_plain(a: Counter[str], b: Counter[str]) -> int:
    return sum(1 for t in set(a) & set(b) if not t.startswith("§"))


def _shared_besides(a: Counter[str], b: Counter[str], group: int) -> int:
    """Shared tokens other than the swapped group's: words, and other groups' sides ("bagging
    *reduces* bias" against "bagging *reduces* variance" agree on the direction)."""
    return sum(1 for t in set(a) & set(b) if not t.startswith(f"§{group}:"))


def _compatible(roles: dict[int, set[str]], ref: Unit, skip: int, *, strict: bool = False) -> bool:
    """The reference unit names the same sides of the other role groups (``strict``: all of them;
    otherwise it may leave a group out)."""
    theirs = _role_sides(ref, skip)
    return all(theirs.get(k, set() if strict else v) == v for k, v in roles.items())


def _role_sides(unit: Unit, skip: int) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for h in unit.hits:
        if h.group != skip and GROUPS[h.group].kind == "role":
            out.setdefault(h.group, set()).add(h.side)
    return out


CONTAINED = 0.85
"""Weight of containment (share of the clause's words in a longer reference unit) in a match."""


def _swap_match(tokens: Counter[str], ref: Counter[str]) -> float:
    """How well a (swapped) clause matches a reference unit: cosine, or, for a clause of three or
    more words that a longer reference unit contains, the contained share (discounted)."""
    score = overlap(tokens, ref)
    if len(tokens) >= 3:
        score = max(score, CONTAINED * recall(tokens, ref))
    return score


_EITHER = re.compile(r"\b(?:either|whether|либо|то ли)\b", re.I)
_MODAL = re.compile(r"\b(?:can|may|might|could|sometimes|можно|может|могут|бывает|иногда)\b", re.I)


def _swap(unit: Unit, refs: list[Unit]) -> list[tuple[int, str, Contradiction]]:
    """(group, side said, contradiction) for each group whose sides the unit seems to swap."""
    out: list[tuple[int, str, Contradiction]] = []
    for g in sorted({h.group for h in unit.hits}):
        a, b = f"§{g}:a", f"§{g}:b"
        if unit.tokens.get(a, 0) == unit.tokens.get(b, 0):
            continue  # both sides (or neither) named: swapping changes nothing
        mine = a if unit.tokens.get(a, 0) > unit.tokens.get(b, 0) else b
        other = b if mine == a else a
        # support for the clause as written: reference units naming the same side only
        swapped = unit.swapped(g)
        roles = _role_sides(unit, g)
        base = max(
            (
                overlap(unit.tokens, r.tokens)
                for r in refs
                if mine in r.tokens and other not in r.tokens and _compatible(roles, r, g)
            ),
            default=0.0,
        )
        for r in refs:
            if other not in r.tokens or mine in r.tokens:
                continue  # the reference unit must name only the other side
            if GROUPS[g].kind == "direction" and _MODAL.search(r.text):
                continue  # "eigenvalues can be negative" does not deny "both are positive"
            score = _swap_match(swapped, r.tokens)
            if score < SWAP_MIN or score - base < SWAP_GAIN:
                continue
            if _shared_besides(swapped, r.tokens, g) < MIN_SHARED or not _shared_plain(
                swapped, r.tokens
            ):
                continue
            if not _same_neighbours(unit.sequence, mine, r.sequence, other):
                continue  # the reference's "large learning rate" is not the answer's "small slope"
            common = set(swapped) & set(r.tokens)
            if any((t in unit.negated) != (t in r.negated) for t in common):
                continue  # swapped and negated: says the same thing ("inactive ... no force")
            if not _compatible(roles, r, g):
                continue  # about another subject (ADF vs KPSS): not comparable
            said, meant = mine[-1], other[-1]
            what = GROUPS[g]
            reason = (
                f"says {side_words(g, said)} where the reference says {side_words(g, meant)}"
                if what.kind == "role"
                else f"wrong direction ({side_words(g, said)} instead of {side_words(g, meant)})"
            )
            out.append((g, said, Contradiction(unit.text, r.text, reason, "swap")))
            break
    return out


NEIGHBOURS = 3
"""Tokens either side of a swapped term that must share a word with those of the term it is
swapped for: a swap is about the same thing only if the words around it agree."""


def _neighbours(sequence: tuple[str, ...], token: str) -> set[str]:
    """Tokens within :data:`NEIGHBOURS` of each mention of ``token`` (not its group's tokens)."""
    group = token.rsplit(":", 1)[0] + ":"
    out: set[str] = set()
    for i, t in enumerate(sequence):
        if t == token:
            near = sequence[max(0, i - NEIGHBOURS) : i] + sequence[i + 1 : i + 1 + NEIGHBOURS]
            out.update(n for n in near if not n.startswith(group))
    return out


def _same_neighbours(mine: tuple[str, ...], side: str, theirs: tuple[str, ...], other: str) -> bool:
    return bool(_neighbours(mine, side) & _neighbours(theirs, other))


def _supported_as_written(units: list[Unit], refs: list[Unit], g: int, side: str) -> bool:
    """Some piece naming only ``side`` of group ``g`` matches a reference unit that names it too."""
    mine, other = f"§{g}:{side}", f"§{g}:{'b' if side == 'a' else 'a'}"
    for unit in units:
        if unit.tokens.get(mine, 0) <= unit.tokens.get(other, 0):
            continue
        roles = _role_sides(unit, g)
        for r in refs:
            if (
                mine in r.tokens
                and other not in r.tokens
                and overlap(unit.tokens, r.tokens) >= SWAP_MIN
                and _compatible(roles, r, g, strict=True)
            ):
                return True
    return False


_DENIED = re.compile(r"(?:\bnot|n't|\bне)\s+\w+(?:\s+\w+)?\s*,?\s+(?:that|что)\s*$", re.IGNORECASE)
"""What comes before a piece that a negated verb denies: "It does not say that", "не говорит, что"."""


def _negation(unit: Unit, refs: list[Unit]) -> Contradiction | None:
    polarity = min(unit.negations, 1)
    best_same = 0.0
    best_other: tuple[float, Unit | None] = (0.0, None)
    for r in refs:
        score = overlap(unit.tokens, r.tokens)
        if score < NEGATION_MIN or _shared_plain(unit.tokens, r.tokens) < NEGATION_SHARED:
            continue
        denied = _DENIED.search(r.outer_negation)
        if r.outer_negation and not denied:
            continue  # a negation elsewhere in the sentence: the piece's polarity is unknown
        # "does not say that X": the piece "X" is denied, whatever its own words
        theirs = min(r.negations, 1) ^ int(bool(denied))
        if theirs == polarity:
            best_same = max(best_same, score)
            continue
        # the negation must bear on what both say: a negated word of one is a word of the other
        shared = set(unit.tokens) & set(r.tokens)
        if not denied and not (shared & (unit.negated | r.negated)):
            continue
        if score > best_other[0]:
            best_other = (score, r)
    score, found = best_other
    if found is None or best_same >= score:
        return None  # another reference unit says it the answer's way
    said = "denies" if polarity else "asserts"
    return Contradiction(
        unit.text, found.text, f"{said} what the reference says the opposite of", "negation"
    )


def _matches(n: tuple[float, ...], pool: list[tuple[float, ...]]) -> bool:
    return any(same_value(x, y) for m in pool for x in n for y in m)


def _number(unit: Unit, refs: list[Unit], allowed: list[tuple[float, ...]]) -> Contradiction | None:
    """A number the reference never states, said of what the reference gives another number for.

    The number's own context (the words just before it) must share a word with the context of the
    reference's number: "the maximum is 0.5" against "the maximum is 0.25", not an example's
    "n = 400" against a quantile's "0.975"."""
    trivial = (0.0, 1.0)  # the 0s and 1s of formulas ("1 − σ", "[0, 1]") are not claims
    mine = [
        (n, set(analyse(ctx).tokens))
        for n, ctx in number_contexts(unit.text)
        if ctx and not _matches(n, allowed) and abs(n[0]) not in trivial
    ]
    if not mine:
        return None
    for r in sorted(refs, key=lambda r: -overlap(unit.tokens, r.tokens)):
        if overlap(unit.tokens, r.tokens) < NUMBER_MIN:
            break
        if len(set(unit.tokens) & set(r.tokens)) < (1 if len(mine) >= 2 else MIN_SHARED):
            continue
        theirs = [
            (m, set(analyse(ctx).tokens))
            for m, ctx in number_contexts(r.text)
            if ctx and abs(m[0]) not in trivial and not _matches(m, unit.nums)
        ]
        for n, near in mine:
            for m, their_near in theirs:
                if near & their_near:
                    return Contradiction(
                        unit.text,
                        r.text,
                        f"states {n[0]:g} where the reference has {m[0]:g}",
                        "number",
                    )
    return None


def _misconception(unit: Unit, beliefs: list[tuple[Unit, Unit]]) -> Contradiction | None:
    for belief, correction in beliefs:
        score = overlap(unit.tokens, belief.tokens)
        if score < MISCONCEPTION_MIN or _shared_plain(unit.tokens, belief.tokens) < 3:
            continue
        if recall(belief.tokens, unit.tokens) < BELIEF_RECALL:
            continue  # a short fragment inside a longer belief is not the belief
        if recall(unit.tokens, belief.tokens) < BELIEF_RECALL:
            continue  # ... nor a longer statement that adds what the belief lacks ("plus KL")
        common = set(unit.tokens) & set(belief.tokens)
        if any((t in unit.negated) != (t in belief.negated) for t in common):
            continue  # the answer denies the misconception
        if min(unit.negations, 1) != min(belief.negations, 1):
            continue  # "a model can't look good by ..." does not restate "... means a good model"
        if overlap(unit.tokens, correction.tokens) >= score:
            continue
        return Contradiction(
            unit.text,
            correction.text,
            f"repeats a known misconception: {belief.text}",
            "misconception",
        )
    return None


def find_contradictions(
    sentences: list[str],
    refs: list[Unit],
    *,
    allowed_numbers: list[tuple[float, ...]] | None = None,
    misconceptions: list[tuple[Unit, Unit]] | None = None,
    numbers: bool = True,
    question: str = "",
    reference_texts: list[str] | None = None,
) -> list[Contradiction]:
    """At most one contradiction per answer sentence, found in its fragments or clauses.

    A sentence that names both sides of a swap group ("precision is ..., recall is ...") counts as
    swapping them only if pieces of both sides are swapped: one side alone is a clause split that
    lost its context, not an exchange."""
    out: list[Contradiction] = []
    allowed = list(allowed_numbers or [])
    beliefs = list(misconceptions or [])
    fine = [r for r in refs if len(split_clauses(r.text)) == 1]
    assoc = associations(reference_texts if reference_texts is not None else [r.text for r in refs])
    common = frozenset(analyse(question).tokens) if question else frozenset()
    for sentence in sentences:
        pieces = list(dict.fromkeys([*fragments(sentence), *split_clauses(sentence)]))
        whole = analyse(sentence)
        units = [analyse(p) for p in pieces]
        swaps: dict[int, dict[str, Contradiction]] = {}
        for piece in pieces:
            for g, side, c in _swap(analyse(strip_asides(piece)), refs):
                swaps.setdefault(g, {}).setdefault(side, c)
        found: Contradiction | None = None
        for g, sides in sorted(swaps.items()):
            both = whole.tokens.get(f"§{g}:a", 0) > 0 and whole.tokens.get(f"§{g}:b", 0) > 0
            if both and len(sides) == 1:
                other = "b" if next(iter(sides)) == "a" else "a"
                if _EITHER.search(sentence) or _supported_as_written(units, refs, g, other):
                    continue  # "either active ... or inactive", or the other side is right as said
            found = next(iter(sides.values()))
            break
        if found is None and not _EITHER.search(sentence):
            found = association(analyse(strip_asides(sentence)), assoc, common, refs)
            for piece in split_clauses(sentence) if found is None and len(pieces) > 1 else []:
                found = found or association(analyse(strip_asides(piece)), assoc, common, refs)
        if found is None and numbers and len(units) > 1:
            found = _number(whole, refs, allowed)  # a label and its list of numbers split apart
        for unit in [analyse(strip_asides(p)) for p in pieces] if found is None else []:
            found = (
                _negation(unit, fine)
                or (_number(unit, refs, allowed) if numbers else None)
                or _misconception(unit, beliefs)
            )
            if found is not None:
                break
        if found is not None:
            out.append(found)
    return out


__all__ = ["Contradiction", "Kind", "associations", "find_contradictions", "reference_units"]
