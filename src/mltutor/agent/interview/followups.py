"""Probing: hints (a key point turned into a nudge) and follow-ups aimed at the weakest key point.

**Hints** cost :data:`HINT_COST` points each and are built without a model, instantly: the key point
not yet hinted is reduced to one or two cue words that the question does not already use, put in a
nudge ("think about …"). A key point with a formula gets "can you write it down?". A hint never
repeats a key point verbatim (:class:`~mltutor.agent.interview.leakage.LeakGuard`).

**Follow-ups** (:func:`plan_follow_ups`, :func:`choose_follow_up`): after a graded answer, zero to
:data:`MAX_FOLLOW_UPS`:

- none when every key point is covered, or when the answer scored below :data:`NO_PROBE_BELOW`
  (probing a blank gets nothing; the question closes and the reference is shown);
- the first aims at the weakest key point: contradicted ones first, then missing ones by how little
  of them was said;
- a second (at the next weakest) only when the answer was below the "good" band and the first
  follow-up got at least a partial answer.

Each follow-up aims at its target key point, chosen in this order:

1. the bank's ``follow_ups``: the unused one closest in meaning to the target point, if it is on
   target (cosine at least :data:`ON_TARGET`);
2. with a model: one generated from the target point (one short call, checked: a single question,
   in the interview's language, not giving the point away);
3. the closest bank follow-up if it is at least loosely related (:data:`RELATED`);
4. a probe built from the point's cue words, as an interviewer would ask ("Can you say more about
   'cross-validation' here?").

A follow-up is graded like any answer. A generated one or a probe is graded against its target key
point (the question's other key points and reference are the facts that catch a false statement),
so its score says whether the candidate now shows the point the first answer missed, and a point
shown there is marked recovered. A bank follow-up may ask about something else (a related question
of the same topic), so it is graded against the rubric the grader finds for it, as ``mltutor grade``
would (a bank question or the notes), falling back to the target point when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mltutor.agent.errors import GradingError
from mltutor.agent.grading.records import Rubric
from mltutor.agent.interview.leakage import LeakGuard

HINT_COST = 1.5
"""Points taken off the question's score for each hint."""
MAX_FOLLOW_UPS = 2
"""At most this many follow-ups per question."""
NO_PROBE_BELOW = 2.0
"""No follow-up after an answer scoring below this."""
SECOND_BELOW = 7.0
"""A second follow-up only when the answer scored below this (the grader's "good" band)."""
SECOND_NEEDS = 4.0
"""... and the first follow-up scored at least this."""
ON_TARGET = 0.35
"""Cosine between a bank follow-up and the target key point from which it counts as aimed at it
(measured over the bank: the median of each key point's best follow-up is 0.20, the 75th
percentile 0.29, the 90th 0.40)."""
RELATED = 0.25
"""Below this a bank follow-up is about something else: without a model a probe is asked instead."""
MAX_FOLLOW_UP_WORDS = 40
"""A generated follow-up longer than this is rejected."""

Embed = Callable[[Sequence[str]], Any]

_STOP = frozenset(
    "a an the of to in on for and or but else if with without by at as is are be been being it its this "
    "that these those than then so such not no do does did can could would should will which what "
    "when where why how from into over under more most less least very each both all any some your "
    "you we our they their there here also only just same other another between about if "
    "и в во не на с со по к ко о об от до за из у же ли или а но что как это так для при без над "
    "под про через если то его её их она они оно все всё ещё уже более менее больше меньше очень "
    "же бы".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_MATHY = re.compile(r"[=≈≤≥^√∑Σ∏∂∫]|\b[a-zA-Zα-ωσ]\([a-zα-ω]")


@dataclass(frozen=True)
class FollowUp:
    """A follow-up chosen for an open question."""

    text: str
    """The question to ask."""
    source: Literal["bank", "generated", "probe"]
    """Where it came from (see the module docs)."""
    target: str
    """The weak key point it aims at."""
    target_index: int
    """That key point's index in the rubric."""


def _stem(word: str) -> str:
    return word.lower().replace("ё", "е")[:5]


def cue_words(point: str, question: str, limit: int = 2) -> list[str]:
    """Up to ``limit`` telling words of ``point`` that ``question`` does not use (longest first)."""
    asked = {_stem(w) for w in _WORD.findall(question)}
    seen: set[str] = set()
    words: list[str] = []
    for w in _WORD.findall(point):
        low = w.lower()
        if low in _STOP or _stem(w) in asked or _stem(w) in seen:
            continue
        letters = sum(ch.isalpha() for ch in w)
        if letters == 0 or (len(w) < 3 and not any(ch.isdigit() for ch in w)):
            continue  # a bare number would give the answer away; "L1" is a fine cue
        seen.add(_stem(w))
        words.append(w)
    ranked = sorted(words, key=lambda w: (-len(w), words.index(w)))[:limit]
    return [w for w in words if w in ranked]  # in the point's own order


def hint_for(point: str, question: str, lang: str, guard: LeakGuard | None = None) -> str:
    """A nudge towards ``point`` that does not state it."""
    cues = cue_words(point, question)
    formula = bool(_MATHY.search(point))
    ru = lang == "ru"
    if cues:
        joined = (" и " if ru else " and ").join(f"«{c}»" if ru else f"'{c}'" for c in cues)
        text = f"Подсказка: подумайте о {joined}." if ru else f"Hint: think about {joined}."
    else:
        text = (
            "Подсказка: какой факт здесь главный? Начните с определения."
            if ru
            else "Hint: what is the key fact here? Start from the definition."
        )
    if formula:
        text += " Можете записать это формулой?" if ru else " Can you write it down as a formula?"
    if guard is not None and guard.leaks(text):  # a one-word point could match a shingle: be safe
        text = (
            "Подсказка: начните с определения и запишите формулу."
            if ru
            else "Hint: start from the definition and write the formula down."
        )
    return text


def weak_points(grade: dict[str, Any]) -> list[int]:
    """Indices of the key points not covered by a graded answer, weakest first."""
    order = {"contradicted": 0, "missing": 1}
    points = grade.get("key_points", [])
    weak = [
        (order[k.get("verdict", "")], float(k.get("score", 0.0) or 0.0), i)
        for i, k in enumerate(points)
        if k.get("verdict") in order
    ]
    return [i for _, _, i in sorted(weak)]


def plan_follow_ups(score: float, weak: Sequence[int], limit: int = MAX_FOLLOW_UPS) -> int:
    """How many follow-ups an answer may get now (the second one also needs the first's score)."""
    if not weak or score < NO_PROBE_BELOW or limit <= 0:
        return 0
    return min(limit, 2 if (score < SECOND_BELOW and len(weak) > 1) else 1)


def _cosines(embed: Embed | None, target: str, texts: Sequence[str]) -> list[float]:
    if embed is None or not texts:
        return [0.0] * len(texts)
    try:
        vectors = np.asarray(embed([target, *texts]), dtype=np.float32)
    except Exception:  # an embedder failure must not stop the interview
        return [0.0] * len(texts)
    norms = np.linalg.norm(vectors, axis=1) + 1e-9
    unit = vectors / norms[:, None]
    return [float(x) for x in unit[1:] @ unit[0]]


def choose_follow_up(
    *,
    question: str,
    bank: Sequence[str],
    used: set[str],
    target: str,
    target_index: int,
    lang: str,
    guard: LeakGuard,
    embed: Embed | None = None,
    model: Any | None = None,
) -> FollowUp | None:
    """The follow-up to ask about ``target`` (see the module docs), or None if there is none."""
    candidates = [b for b in bank if b not in used and not guard.leaks(b)]
    sims = _cosines(embed, target, candidates)
    best = max(range(len(candidates)), key=lambda i: sims[i], default=None)
    closest = sims[best] if best is not None else -1.0
    if best is not None and closest >= ON_TARGET:
        return FollowUp(candidates[best], "bank", target, target_index)
    if model is not None:
        text = generate_follow_up(model, question, target, lang, guard)
        if text is not None and text not in used:
            return FollowUp(text, "generated", target, target_index)
    if best is not None and closest >= RELATED:
        return FollowUp(candidates[best], "bank", target, target_index)
    text = probe_for(target, question, lang, guard)
    if text is not None and text not in used:
        return FollowUp(text, "probe", target, target_index)
    return None


def probe_for(point: str, question: str, lang: str, guard: LeakGuard) -> str | None:
    """A follow-up asking the candidate to say more about the point's cue words, or None."""
    cues = cue_words(point, question)
    if not cues:
        return None
    ru = lang == "ru"
    joined = (" и " if ru else " and ").join(f"«{c}»" if ru else f"'{c}'" for c in cues)
    text = (
        f"Можете подробнее рассказать, при чём здесь {joined}?"
        if ru
        else f"Can you say more about {joined} here?"
    )
    return None if guard.leaks(text) else text


PROMPT_SYSTEM = (
    "You are a technical interviewer for machine-learning roles. You ask one short follow-up "
    "question at a time. You never state the answer, never explain, never give hints."
)


def generate_follow_up(
    model: Any, question: str, target: str, lang: str, guard: LeakGuard
) -> str | None:
    """One follow-up question probing ``target`` from the model, or None if it gave no usable one."""
    language = "Russian" if lang == "ru" else "English"
    user = (
        f"Interview question: {question}\n"
        f"The candidate's answer did not show this point (do NOT reveal it): {target}\n"
        f"Write one follow-up question in {language}, at most 25 words, that makes the candidate "
        "show whether they know this point. Output only the question."
    )
    try:
        reply = model.complete(
            [{"role": "system", "content": PROMPT_SYSTEM}, {"role": "user", "content": user}],
            temperature=0.2,
            max_tokens=80,
        )
    except Exception:  # a dead or slow endpoint: fall back to the bank
        return None
    return clean_follow_up(str(getattr(reply, "content", "") or ""), lang, guard)


def clean_follow_up(text: str, lang: str, guard: LeakGuard) -> str | None:
    """The model's follow-up reduced to one question, or None when it is not one."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    line = next((ln for ln in lines if "?" in ln), lines[0])
    line = re.sub(
        r"^(?:follow[- ]?up( question)?|question|вопрос)\s*[:：]\s*", "", line, flags=re.I
    )
    line = line.strip().strip("\"'«»“”*").strip()
    if "?" in line:
        line = line[: line.rindex("?") + 1]
    words = _WORD.findall(line)
    cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in line)
    if not line.endswith("?") or not 3 <= len(words) <= MAX_FOLLOW_UP_WORDS:
        return None
    if (lang == "ru") != cyrillic or guard.leaks(line):
        return None
    return line


def follow_up_rubric(grader: Any, rubric: Rubric, pending: FollowUp, lang: str) -> Rubric:
    """What a follow-up is graded against (see the module docs)."""
    target = Rubric(
        question=pending.text,
        question_id=rubric.question_id,
        topic=rubric.topic,
        source="bank",
        key_points=[pending.target],
        reference=rubric.reference,
        language=rubric.language,
        match_score=1.0,
        facts=[*(p for p in rubric.key_points if p != pending.target), *rubric.facts],
        misconceptions=rubric.misconceptions,
    )
    if pending.source != "bank":
        return target
    try:
        found: Rubric = grader.rubric_for(pending.text, language=lang)
    except GradingError:
        return target
    return target if found.question_id == rubric.question_id else found
