"""The words contradictions hide in: swapped pairs, directions and negations, English and Russian.

One place for these lists: the grader's contradiction check and the tutor's prose verification read
them from here. A *group* is a pair of sides an answer can confuse (L1 vs L2, precision vs recall,
increases vs decreases); every mention of a side becomes the token ``§<group>:<side>`` so that a
sentence can be compared with the reference both as written and with one group's sides swapped.

Patterns are regular expressions over lower-cased text with ``ё`` written as ``е``; a pattern
matches at a word start, and longer patterns are tried first so that "lower bound" is a bound, not a
direction, and "false positive" is an error type, not a sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

GroupKind = Literal["role", "direction"]


@dataclass(frozen=True)
class TermGroup:
    """Two sides an answer can swap; ``a`` and ``b`` are regex alternatives for each side."""

    name: str
    """Short name shown in reasons ("precision/recall")."""
    a: tuple[str, ...]
    """Patterns of the first side."""
    b: tuple[str, ...]
    """Patterns of the second side."""
    kind: GroupKind = "role"
    """role: the sides name different things; direction: opposite directions of one quantity."""


_W = r"\w*"  # rest of a word (suffixes, Russian endings)
QUESTION_SIDES = ("qpaira", "qpairb")
"""Placeholders for the two things a comparison question names (:mod:`.pairs` rewrites them in)."""

GROUPS: tuple[TermGroup, ...] = (
    TermGroup(
        "L1/L2", (r"l1\b", r"ℓ1\b", r"lasso", r"лассо"), (r"l2\b", r"ℓ2\b", r"ridge", r"ридж")
    ),
    TermGroup(
        "precision/recall",
        (r"precision", r"точност" + _W),
        (r"recall", r"sensitivity", r"полнот" + _W, r"чувствительност" + _W),
    ),
    TermGroup("bias/variance", (r"bias\b", r"смещени" + _W), (r"variance", r"дисперси" + _W)),
    TermGroup(
        "type I/type II",
        (r"type[ -]?(?:i|1)\b", r"first kind", r"(?:ошибк\w* )?первого рода"),
        (r"type[ -]?(?:ii|2)\b", r"second kind", r"(?:ошибк\w* )?второго рода"),
    ),
    TermGroup(
        "false positive/false negative",
        (r"false[ -]positive" + _W, r"fpr?\b", r"ложноположительн" + _W, r"ложн\w* срабатывани\w*"),
        (r"false[ -]negative" + _W, r"fnr?\b", r"ложноотрицательн" + _W, r"пропуск" + _W),
    ),
    TermGroup(
        "overfitting/underfitting",
        (r"overfit" + _W, r"переобуч" + _W),
        (r"underfit" + _W, r"недообуч" + _W),
    ),
    TermGroup(
        "forward/reverse",
        (r"forward", r"прям(?:ая|ой|ую|ое|ые|ых|ом)\b"),
        (r"reverse", r"обратн(?:ая|ой|ую|ое|ые|ых|ом)\b"),
    ),
    TermGroup(
        "upper/lower bound",
        (r"upper bound" + _W, r"верхн\w* (?:границ|оценк)" + _W),
        (r"lower bound" + _W, r"нижн\w* (?:границ|оценк)" + _W),
    ),
    TermGroup(
        "increases/decreases",
        (
            r"increas" + _W,
            r"rais" + _W,
            r"ris(?:e|es|ing)\b",
            r"grow" + _W,
            r"higher",
            r"larger",
            r"bigger",
            r"greater",
            r"more\b",
            r"boost(?:s|ed)?\b",  # not "boosting", the ensemble method
            r"увелич" + _W,
            r"раст(?:[её]т|ут)\b",
            r"вырост" + _W,
            r"рост\w*",
            r"выше",
            r"больше",
            r"повыш" + _W,
        ),
        (
            r"decreas" + _W,
            r"lower" + _W,
            r"reduc" + _W,
            r"smaller",
            r"fewer",
            r"less\b",
            r"shrink" + _W,
            r"fall" + _W,
            r"drop(?!out)" + _W,  # not dropout
            r"уменьш" + _W,
            r"ниже",
            r"меньше",
            r"сниж" + _W,
            r"пада" + _W,
            r"пониж" + _W,
        ),
        "direction",
    ),
    TermGroup(
        "small/large",
        (r"small\b", r"tiny", r"маленьк" + _W, r"мал(?:ый|ое|ая|ые|ых|ом)\b"),
        (r"large\b", r"big\b", r"huge", r"больш(?:ой|ое|ая|ие|их|им)\b", r"крупн" + _W),
        "direction",
    ),
    TermGroup(
        "vanishing/exploding",
        (r"vanish" + _W, r"затуха" + _W, r"исчеза" + _W),
        (r"explod" + _W, r"взрыв" + _W),
        "direction",
    ),
    TermGroup("≥/≤", (r"≥", r">=", r"⩾", r">"), (r"≤", r"<=", r"⩽", r"<"), "direction"),
    TermGroup(
        "max/min",
        (r"max" + _W, r"largest", r"peak" + _W, r"максим" + _W, r"наибольш" + _W),
        (r"min\b", r"minim" + _W, r"smallest", r"миним" + _W, r"наименьш" + _W),
        "direction",
    ),
    TermGroup(
        "positive/negative",
        (r"positive", r"положительн" + _W),
        (r"negative", r"отрицательн" + _W),
        "direction",
    ),
    TermGroup("plus/minus", (r"plus\b", r"плюс\b"), (r"minus\b", r"минус\b"), "direction"),
    TermGroup(
        "square/rectangular",
        (r"square\b", r"квадратн" + _W),
        (r"rectangular", r"any(?= matri)", r"прямоугольн" + _W, r"люб\w+(?= матриц)"),
    ),
    TermGroup(
        "first-order/second-order",
        (
            r"first[ -]order",
            r"перв\w* порядка",
            r"linear approximation",
            r"линейн\w* приближени\w*",
        ),
        (
            r"second[ -]order",
            r"втор\w* порядка",
            r"quadratic (?:model|approximation)",
            r"квадратичн\w* (?:модел|приближени)\w*",
        ),
    ),
    TermGroup(
        "parallel/sequential",
        (r"parallel", r"параллельн" + _W, r"independent samples"),
        (r"sequential" + _W, r"последовательн" + _W),
    ),
    TermGroup("convex/concave", (r"convex", r"выпукл" + _W), (r"concave", r"вогнут" + _W)),
    TermGroup("local/global", (r"local" + _W, r"локальн" + _W), (r"global" + _W, r"глобальн" + _W)),
    TermGroup(
        "mode-seeking/mode-covering",
        (r"mode[ -]seeking", r"zero[ -]forcing", r"ищ\w* мод" + _W),
        (r"mode[ -]covering", r"mass[ -]covering", r"покрыва\w* (?:все )?мод" + _W),
    ),
    TermGroup("rows/columns", (r"rows?\b", r"строк" + _W), (r"columns?\b", r"столб" + _W)),
    TermGroup("sparse/dense", (r"sparse" + _W, r"разрежен" + _W), (r"dense" + _W, r"плотн" + _W)),
    TermGroup("active/inactive", (r"active\b", r"активн" + _W), (r"inactive", r"неактивн" + _W)),
    TermGroup(
        "dependent/independent",
        (r"dependent", r"зависим" + _W),
        (r"independent", r"независим" + _W),
    ),
    TermGroup(
        "AR/MA", (r"ar\b", r"авторегресс" + _W), (r"ma\b", r"moving average", r"скользящ" + _W)
    ),
    TermGroup("FWER/FDR", (r"fwer", r"family[ -]wise"), (r"fdr", r"false discovery")),
    TermGroup("ADF/KPSS", (r"adf", r"dickey"), (r"kpss",)),
    TermGroup(
        "stationary/non-stationary",
        (r"stationar" + _W, r"стационарн" + _W),
        (r"non-?stationar" + _W, r"нестационарн" + _W),
    ),
    TermGroup(
        "exact/approximate",
        (r"exact" + _W, r"точн(?:ое|ая|ый|ым|ого|ой|о)\b"),
        (r"approximat" + _W, r"приближ" + _W),
    ),
    TermGroup("before/after", (r"before", r"перед\b", r"до того"), (r"after", r"после")),
    TermGroup(
        "with/without replacement",
        (r"with replacement", r"с возвращени" + _W),
        (r"without replacement", r"без возвращени" + _W),
    ),
    TermGroup("primal/dual", (r"primal",), (r"dual",)),
    TermGroup(
        "generative/discriminative",
        (r"generative", r"генеративн" + _W),
        (r"discriminative", r"дискриминативн" + _W),
    ),
    TermGroup(
        QUESTION_SIDES[0] + "/" + QUESTION_SIDES[1], (QUESTION_SIDES[0],), (QUESTION_SIDES[1],)
    ),
    TermGroup(
        "rejects/keeps",
        (r"reject" + _W, r"отверга" + _W, r"отклоня" + _W),
        (r"accept" + _W, r"fail(?:s)? to reject", r"принима" + _W),
    ),
)
"""Every group the contradiction check knows, English and Russian patterns side by side."""

NEGATIONS: tuple[str, ...] = (
    r"not\b", r"no\b", r"never", r"none\b", r"neither", r"nor\b", r"nothing", r"cannot",
    r"\w+n't\b", r"fail(?:s|ed|ing)? to\b", r"не\b", r"нет\b", r"ни\b", r"никогда", r"ничего", r"нельзя",
)  # fmt: skip
"""Words that flip a statement's polarity. Affixes ("non-zero", "ненулевой", "without") are left
out: paraphrases use them freely ("non-zero" for "not exactly zero")."""

OVERCLAIMS: tuple[str, ...] = (
    r"always", r"never", r"guarantee" + _W, r"automatically", r"всегда", r"никогда",
    r"гарантирован" + _W, r"автоматически",
)  # fmt: skip
"""Absolute words; not contradictions by themselves (reported, not scored)."""


@dataclass(frozen=True)
class TermHit:
    """One mention of a group's side in a text."""

    start: int
    end: int
    group: int
    """Index into :data:`GROUPS`."""
    side: Literal["a", "b"]

    @property
    def token(self) -> str:
        """The token standing for this side in a bag of words."""
        return f"§{self.group}:{self.side}"


def normalize(text: str) -> str:
    """Lower case, ``ё`` as ``е``, Unicode minus and quotes as ASCII: what the patterns expect."""
    return (
        text.lower()
        .replace("ё", "е")
        .replace("−", "-")
        .replace("’", "'")
        .replace("‐", "-")
        .replace("‑", "-")
    )


@lru_cache(maxsize=1)
def _terms_re() -> tuple[re.Pattern[str], list[tuple[int, Literal["a", "b"]]]]:
    """One alternation of every pattern, longest first; the list maps group names to sides."""
    entries: list[tuple[str, int, Literal["a", "b"]]] = []
    for gi, group in enumerate(GROUPS):
        entries += [(p, gi, "a") for p in group.a]
        entries += [(p, gi, "b") for p in group.b]
    entries.sort(key=lambda e: len(e[0].replace(_W, "")), reverse=True)
    # Word patterns are bucketed by their first letter behind one word-start check, so that at each
    # position only the few patterns that can match are tried (one flat alternation of ~200
    # patterns made reading a sentence cost milliseconds).
    buckets: dict[str, list[str]] = {}
    symbols: list[str] = []
    for i, (pattern, _, _) in enumerate(entries):
        named = f"(?P<t{i}>{pattern})"
        first = pattern[0]
        if first.isalnum():
            buckets.setdefault(first, []).append(named)
        elif first == "\\":
            buckets.setdefault("", []).append(named)
        else:
            symbols.append(named)
    words = "|".join(
        f"(?={re.escape(ch)})(?:{'|'.join(alts)})" if ch else f"(?:{'|'.join(alts)})"
        for ch, alts in buckets.items()
    )
    regex = rf"(?<![^\W_])(?=[^\W_])(?:{words})"
    if symbols:
        regex += "|" + "|".join(symbols)
    return re.compile(regex), [(gi, side) for _, gi, side in entries]


def term_hits(text: str) -> list[TermHit]:
    """Every mention of a group's side in ``text`` (already :func:`normalize`-d), in order."""
    rx, sides = _terms_re()
    out: list[TermHit] = []
    for m in rx.finditer(text):
        name = m.lastgroup
        if name is None:
            continue
        gi, side = sides[int(name[1:])]
        out.append(TermHit(m.start(), m.end(), gi, side))
    return out


@lru_cache(maxsize=1)
def _negation_re() -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(NEGATIONS) + ")")


def negation_spans(text: str) -> list[tuple[int, int]]:
    """Spans of negation words in ``text`` (already normalized)."""
    return [m.span() for m in _negation_re().finditer(text)]


def group_name(index: int) -> str:
    """The display name of group ``index``."""
    return GROUPS[index].name


def side_words(index: int, side: str) -> str:
    """The first side's name of a group for reasons: ``precision`` of ``precision/recall``."""
    names = GROUPS[index].name.split("/")
    return names[0] if side == "a" else names[-1]


__all__ = [
    "GROUPS",
    "NEGATIONS",
    "OVERCLAIMS",
    "QUESTION_SIDES",
    "TermGroup",
    "TermHit",
    "group_name",
    "negation_spans",
    "normalize",
    "side_words",
    "term_hits",
]
