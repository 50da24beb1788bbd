"""Reading an answer: sentences, clauses, bags of stems with swap-group tokens, numbers, formulas.

Everything here is cheap string work (no SymPy, no model); the grader's coverage, contradiction and
math checks all start from :func:`analyse`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from mltutor.agent.grading.traps import TermHit, negation_spans, normalize, term_hits
from mltutor.knowledge.lexical import tokenize

_ABBREV = re.compile(
    r"(?:\b(?:e\.g|i\.e|vs|etc|approx|cf|resp|т\.е|т\.к|т\.д|т\.п|напр|см)\.)$", re.I
)
_SENT_END = re.compile(
    r"(?<=[.!?;])\s+(?=\S)|\n+\s*(?:[-*•]\s+|\d+[.)]\s+)?|\s+[-*•]\s+(?=[A-ZА-ЯЁ])"
)
_CLAUSE = re.compile(
    r"\s*;\s*|:\s+|\s+[—–]\s+|\s+-\s+|"
    r",?\s+(?:while|whereas|but|so that|so|because|which means|hence|therefore|thus)\b\s*|"
    r",\s+(?:and|which|where)\b\s*|"
    r",?\s+(?:а|но|поэтому|потому что|так как|тогда как|то есть|значит|следовательно)\b\s*|"
    r",\s+(?:и|что|где|который|которая|которые)\b\s*",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.^_])(?P<sign>[-−])?(?P<int>\d+)(?:(?P<sep>[.,])(?P<frac>\d+))?"
    r"(?:[eE](?P<exp>[-−+]?\d+))?(?P<pct>\s?%)?(?:/(?P<den>\d+)(?!\d|\.\d))?(?![\w^])"
)


_ASIDE = re.compile(r"\s*\((?=[^()]*[^\W\d_]{3})[^()=<>+*/^|≤≥]*\)")


def strip_asides(text: str) -> str:
    """Drop parenthetical words ("a unit root (non-stationary)"): an aside restates, it does not
    assert; brackets holding math (``TP/(TP + FN)``, ``(g_i = 0)``) stay."""
    return _ASIDE.sub("", text)


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of ``text``; abbreviations (e.g., т.е.) do not end a sentence."""
    out: list[str] = []
    pos = 0
    pending = ""
    for m in _SENT_END.finditer(text):
        piece = text[pos : m.start()]
        pos = m.end()
        if _ABBREV.search(piece.rstrip()) and not m.group(0).count("\n"):
            pending += piece + " "
            continue
        piece = (pending + piece).strip()
        pending = ""
        if piece:
            out.append(piece)
    tail = (pending + text[pos:]).strip()
    if tail:
        out.append(tail)
    return out


def split_clauses(sentence: str) -> list[str]:
    """Clauses of a sentence (split at ; : dashes and clause conjunctions); tiny pieces merge."""
    parts = [p.strip() for p in _CLAUSE.split(sentence) if p and p.strip()]
    out: list[str] = []
    for p in parts:
        if out and len(tokenize(p)) < 2:
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    if len(out) > 1 and len(tokenize(out[0])) < 2:
        out[1] = f"{out[0]} {out[1]}"
        out.pop(0)
    return out


def _top_level_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0 and text[i + 1 : i + 2] == " ":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_RELATIVE = re.compile(r",\s+(?:which|who|где|котор\w+)\s+(?P<rest>.{1,24})", re.IGNORECASE)


def _relative_starts(sentence: str) -> list[str]:
    return [m.group("rest") for m in _RELATIVE.finditer(sentence)]


def fragments(sentence: str) -> list[str]:
    """Clauses split further at top-level commas; every piece after the first gets the clause's
    subject (its first two words) in front: "t-SNE is slow, has no transform" gives "t-SNE is slow"
    and "t-SNE is has no transform". A relative clause ("..., which mainly reduces bias") gets the
    sentence's subject: "Bagging averages them, which reduces bias" gives "Bagging averages
    reduces bias"."""
    out: list[str] = []
    starts = _relative_starts(sentence)
    head = " ".join(sentence.split()[:2])
    for k, clause in enumerate(split_clauses(sentence)):
        if k and any(s.startswith(clause[: len(s)]) or clause.startswith(s) for s in starts):
            clause = f"{head} {clause}"
        pieces = _top_level_commas(clause)
        if len(pieces) == 1:
            out.append(clause)
            continue
        subject = " ".join(pieces[0].split()[:2])
        for k, piece in enumerate(pieces):
            if k:
                piece = f"{subject} {piece}"
            if len(tokenize(piece)) >= 2:
                out.append(piece)
    return out


_ENUMERATOR = re.compile(r"^\s*(?:\(\d{1,2}\)|\d{1,2}[.)](?=\s))")


_SCALE_WORD = re.compile(
    r"\s*(?:[KMBT]\b|thousand|million|billion|trillion|тыс|млн|млрд|трлн)", re.IGNORECASE
)
_RANGE = re.compile(r"\s*[-–]\s*\d")


def number_values(text: str) -> list[tuple[float, ...]]:
    """Numbers written in ``text``, each as its readings: ``37%`` is (0.37, 37), ``1/4`` is (0.25,),
    ``0,25`` is (0.25,), ``1e-6`` is (1e-06,). A comma followed by exactly three digits after a
    non-zero integer is a thousands separator; list enumerators ("(4)", "2.") are not numbers."""
    return [readings for readings, _ in number_contexts(text)]


def number_contexts(text: str) -> list[tuple[tuple[float, ...], str]]:
    """Each number's readings with the words just before it (what the number is said of).

    Numbers with a scale word ("140 billion", "7B") or in a range ("5-20") keep their readings but
    get an empty context: they are not compared with the reference's numbers."""
    out: list[tuple[tuple[float, ...], str]] = []
    text = _ENUMERATOR.sub(" ", text)
    for m in _NUMBER.finditer(text):
        whole, frac, sep = m.group("int"), m.group("frac"), m.group("sep")
        if sep == "," and frac is not None and len(frac) == 3 and not whole.startswith("0"):
            value = float(whole + frac)
        elif frac is not None:
            value = float(f"{whole}.{frac}")
        else:
            value = float(whole)
        if m.group("exp"):
            try:
                value *= 10.0 ** int(m.group("exp").replace("−", "-"))
            except OverflowError:
                continue
        if m.group("den"):
            den = float(m.group("den"))
            if den == 0:
                continue
            value /= den
        if m.group("sign"):
            value = -value
        if not math.isfinite(value):
            continue
        readings = (value / 100.0, value) if m.group("pct") else (value,)
        after = text[m.end() : m.end() + 12]
        context = ""
        if not (_SCALE_WORD.match(after) or _RANGE.match(after) or text[: m.start()].endswith("-")):
            before = re.split(r"[.;!?](?:\s|$)", text[: m.start()])[-1]
            words = re.findall(r"[^\W\d_]{2,}", before)  # the words, not the numbers of a list
            context = " ".join(words[-6:])
        out.append((readings, context))
    return out


def numbers(text: str) -> list[float]:
    """Every reading of every number in ``text`` (see :func:`number_values`), flat."""
    return [v for readings in number_values(text) for v in readings]


def same_value(a: float, b: float) -> bool:
    """Two written numbers agree up to rounding to two significant digits (0.368 vs 0.37)."""
    if a == b:
        return True
    if a == 0 or b == 0:
        return abs(a - b) < 1e-9
    return abs(a - b) <= 0.051 * max(abs(a), abs(b)) and (a > 0) == (b > 0)


@dataclass
class Unit:
    """A sentence, clause or fragment, read for comparison."""

    text: str
    """As written."""
    tokens: Counter[str] = field(default_factory=Counter)
    """Stems of content words and ``§group:side`` tokens for swap-group mentions."""
    hits: list[TermHit] = field(default_factory=list)
    """Swap-group mentions, in order."""
    negated: frozenset[str] = frozenset()
    """Tokens in the scope of a negation ("no transform" negates ``transform``)."""
    negations: int = 0
    """Number of negation words (its parity is the unit's polarity)."""
    nums: list[tuple[float, ...]] = field(default_factory=list)
    """Numbers written in it, each with its readings."""
    sequence: tuple[str, ...] = ()
    """Its tokens in reading order (stems and ``§group:side`` tokens)."""
    outer_negation: str = ""
    """For a piece of a reference sentence with a negation outside the piece ("it does not say
    that the data become normal" gives "the data become normal"): the sentence's text before the
    piece. Its own polarity is not what the reference asserts."""

    @property
    def plain(self) -> Counter[str]:
        """Tokens without the swap-group tokens."""
        return Counter({t: n for t, n in self.tokens.items() if not t.startswith("§")})

    def swapped(self, group: int) -> Counter[str]:
        """Tokens with the two sides of ``group`` exchanged."""
        a, b = f"§{group}:a", f"§{group}:b"
        out = Counter(self.tokens)
        out[a], out[b] = self.tokens.get(b, 0), self.tokens.get(a, 0)
        return +out


_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
STEM_ALIASES = {"matric": "matrix", "indic": "index", "vertic": "vertex"}
"""Irregular plurals the stemmer leaves apart."""
GENERIC = frozenset(
    "say said one last first either give get make take thus way thing case also may must need "
    "like well exact go goe come becom keep put call seem котор такж очен дает явля знач поэт "
    "прост тот той такой всег получ нужн можн почт слишк вс об".split()
)
"""Stems of words that say nothing about the subject; an alignment must not rest on them."""
_SCOPE = 1  # content tokens after a negation that it negates
_SCOPE_END = re.compile(r"[,.:;()—–]")
_BACKWARD = ("нет",)  # "переполнения нет": negates the word before
_PARTICLES = ("no", "нет")  # "No, ..." / "Нет, ..." opening a sentence answers, not negates


@lru_cache(maxsize=8192)
def _analyse_cached(
    text: str,
) -> tuple[tuple[tuple[str, int], ...], tuple[TermHit, ...], frozenset[str], int, tuple[str, ...]]:
    low = normalize(text)
    hits = term_hits(low)
    negs = negation_spans(low)
    taken = [(h.start, h.end) for h in hits] + negs
    stream: list[tuple[int, str]] = [(h.start, h.token) for h in hits]
    for m in _WORD.finditer(low):
        if any(s <= m.start() < e for s, e in taken):
            continue
        toks = tokenize(m.group(0))
        if "-" in m.group(0) and len(toks) > 1:
            toks = toks[-1:]  # "test-time" is one term (its joined stem), not three
        toks = [STEM_ALIASES.get(t, t) for t in toks]
        stream.extend((m.start(), t) for t in toks if not t.isdigit() and t not in GENERIC)
    stream.sort()
    lead = len(low) - len(low.lstrip())
    negated: set[str] = set()
    for s, e in negs:
        word = low[s:e].strip()
        after_char = low[e : e + 1] or " "
        if s == lead and word in _PARTICLES and after_char in " ,.:;—–-":
            continue  # "No, ..." answering the question
        stop = _SCOPE_END.search(low, e)
        end = stop.start() if stop else len(low)
        begin = max((m.end() for m in _SCOPE_END.finditer(low, 0, s)), default=0)
        before = [t for p, t in stream if begin <= p < s]
        if word in _BACKWARD and before:
            negated.update(before[-1:])
        else:
            negated.update([t for p, t in stream if e <= p < end][:_SCOPE])
    tokens = Counter(t for _, t in stream)
    polar = sum(1 for s, e in negs if not (s == lead and low[s:e].strip() in _PARTICLES))
    return (
        tuple(tokens.items()),
        tuple(hits),
        frozenset(negated),
        polar,
        tuple(t for _, t in stream),
    )


def analyse(text: str) -> Unit:
    """Read one sentence, clause or fragment."""
    items, hits, negated, polar, sequence = _analyse_cached(text)
    return Unit(
        text=text,
        tokens=Counter(dict(items)),
        hits=list(hits),
        negated=negated,
        negations=polar,
        sequence=sequence,
        nums=number_values(text),
    )


def overlap(a: Counter[str], b: Counter[str]) -> float:
    """Cosine of two bags of tokens (set-based: each distinct token counts once), in [0, 1]."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / math.sqrt(len(sa) * len(sb))


def recall(point: Counter[str], text: Counter[str]) -> float:
    """Share of the distinct tokens of ``point`` that ``text`` contains."""
    sp = set(point)
    if not sp:
        return 0.0
    return len(sp & set(text)) / len(sp)


# -- formulas written inline in prose ------------------------------------------------------------

_PIECE = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)?|\s+|.", re.UNICODE)
_GLUE = frozenset({"is", "at", "of", "so", "if", "as", "in", "on", "to", "by", "or", "an", "a",
                   "and", "the", "for", "we", "it", "be", "then", "with"})  # fmt: skip
_RELATION = ("=", "≈")


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    # imported here: the parser package loads SymPy, which an answer without formulas never needs
    from mltutor.tools.parsing.vocabulary import MATH_WORDS, STOP_WORDS

    return frozenset(MATH_WORDS), frozenset(STOP_WORDS)


_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ᵀ"


def _mathy_word(word: str) -> bool:
    word = word.strip(_SUPERSCRIPTS) or word
    low = word.lower()
    math_words, stop_words = _vocabulary()
    if low in math_words or any("\u0370" <= ch <= "\u03ff" for ch in word):
        return True
    if any("\u0400" <= ch <= "\u04ff" for ch in word):
        return False
    return len(word) <= 3 and low not in _GLUE and low not in stop_words


def _is_stop(piece: str, depth: int) -> bool:
    if piece[0].isalpha():
        return not _mathy_word(piece)
    if piece in {"⇒", "→", "⟹", "⇔", "←"}:
        return True  # an implication ends the formula: "... = 1 ⇒ λ = −1" is two claims
    return depth == 0 and piece in {",", ":", ";", "—", "–", "?", "!", "«", "»", '"', "“", "”"}


def inline_formulas(text: str) -> list[str]:
    """Equalities (``=``, ``≈``) written inline in prose, each with as much math around it as reads
    as math: ``so P(+) = 0.0099 + 0.0005 = 0.0104.`` gives ``P(+) = 0.0099 + 0.0005 = 0.0104``."""
    pieces = [m.group(0) for m in _PIECE.finditer(text)]
    out: list[str] = []
    i = 0
    while i < len(pieces):
        if pieces[i] not in _RELATION:
            i += 1
            continue
        # walk left
        lo, depth = i, 0
        j = i - 1
        while j >= 0:
            p = pieces[j]
            if p.isspace():
                j -= 1
                continue
            if p in ")]}":
                depth += 1
            elif p in "([{":
                if depth == 0:
                    break
                depth -= 1
            elif (p == "." and j + 1 < len(pieces) and pieces[j + 1].isspace()) or _is_stop(
                p, depth
            ):
                break
            lo = j
            j -= 1
        # walk right, through further relations (a chain)
        hi, depth = i, 0
        j = i + 1
        while j < len(pieces):
            p = pieces[j]
            if p.isspace():
                j += 1
                continue
            if p in "([{":
                depth += 1
            elif p in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif (p == "." and (j + 1 >= len(pieces) or pieces[j + 1].isspace())) or _is_stop(
                p, depth
            ):
                break
            hi = j
            j += 1
        claim = "".join(pieces[lo : hi + 1]).strip().rstrip(".,;:")
        if lo < i < hi and len(claim) <= 240:
            out.append(claim)
        i = max(hi + 1, i + 1)
    return out


__all__ = [
    "Unit",
    "analyse",
    "inline_formulas",
    "numbers",
    "overlap",
    "recall",
    "same_value",
    "split_clauses",
    "split_sentences",
]
