"""From per-key-point evidence to a 0-10 score and a band: the documented weights.

Per key point, coverage in [0, 1]:

- deterministic mode: the deterministic coverage (embedding + wording + formulas);
- judge mode: 1 for "covered", 0 for "missing" (the judge's verdict alone);
- combined: ``JUDGE_WEIGHT * judge + (1 - JUDGE_WEIGHT) * deterministic``.

A key point that is contradicted (by the deterministic checks, a wrong formula, or the judge with a
quote from the answer that the deterministic layer does not clearly cover) scores 0. The raw score
is 10 x the mean coverage; the shown score maps it piecewise linearly so that the band thresholds
fall at 4 and 7 (``RAW_PARTIAL`` -> 4, ``RAW_GOOD`` -> 7, tuned on the ``tune`` split). An answer
with any contradiction or wrong formula is *wrong*: an interviewer weighs a confident false claim
on the core of the question more than an omission, so its score is its coverage scaled into
[0, ``WRONG_CEILING``], lowered for each further false statement.

Deterministic mode is a pure function of the texts: the same answer always gets the same score.
"""

from __future__ import annotations

from mltutor.agent.grading.records import Band

JUDGE_WEIGHT = 0.25
"""Share of the judge's verdict in a key point's coverage in combined mode (tune split, embedded
judge: 0.25 ordered as well as 0.1 and better than 0.5/0.75 on bands; see bench/results)."""
WRONG_CEILING = 2.0
"""A contradicted answer scores at most this (its coverage scaled into [0, 2]): below any answer
that states something and nothing false."""
EXTRA_FALSE_PENALTY = 0.3
"""Points taken off for each false statement beyond the first."""
GOOD_AT = 7.0
"""Lowest shown score of the good band."""
PARTIAL_AT = 4.0
"""Lowest shown score of the partial band."""
RAW_GOOD = 6.0
"""Raw coverage score (10 x mean coverage) shown as ``GOOD_AT``; tuned on the ``tune`` split."""
RAW_PARTIAL = 0.8
"""Raw coverage score shown as ``PARTIAL_AT``: partial answers state little, but what they state
is right (tune split: partial answers' raw scores start at about 1)."""
RAW_ANCHORS: dict[str, tuple[float, float]] = {
    "deterministic": (RAW_PARTIAL, RAW_GOOD),
    "judge": (RAW_PARTIAL, RAW_GOOD),
    "combined": (RAW_PARTIAL, RAW_GOOD),
}
"""(partial, good) raw anchors per mode: a judge credits more generously than the embedder."""
UNQUOTED = 0.5
"""Judge coverage of a "covered" verdict whose quote is not found in the answer (a small judge
often quotes the key point itself)."""
COVERAGE_SCALE = 1.15
"""Coverage is stretched by this factor (capped at 1): a point stated in other words rarely reaches
a raw coverage of 1, and a complete answer should be able to reach 10."""


def judge_value(verdict: str | None) -> float | None:
    """A judge verdict as coverage (contradicted is handled separately, as 0)."""
    if verdict is None:
        return None
    return 1.0 if verdict == "covered" else 0.0


def point_coverage(deterministic: float, judge: float | None, mode: str) -> float:
    """One key point's coverage in [0, 1] for the grading mode."""
    det = min(1.0, deterministic * COVERAGE_SCALE)
    if judge is None or mode == "deterministic":
        return det
    if mode == "judge":
        return judge
    return JUDGE_WEIGHT * judge + (1.0 - JUDGE_WEIGHT) * det


def _calibrated(raw: float, mode: str = "deterministic") -> float:
    """Raw coverage score (0-10) to the shown score: piecewise linear through the band anchors."""
    low, high = RAW_ANCHORS.get(mode, (RAW_PARTIAL, RAW_GOOD))
    if raw < low:
        return PARTIAL_AT * raw / low
    if raw < high:
        return PARTIAL_AT + (GOOD_AT - PARTIAL_AT) * (raw - low) / (high - low)
    return GOOD_AT + (10.0 - GOOD_AT) * (raw - high) / (10.0 - high)


def score_of(coverages: list[float], false_statements: int, mode: str = "deterministic") -> float:
    """The 0-10 score from the key points' coverage and the number of false statements."""
    if not coverages:
        return 0.0
    raw = 10.0 * sum(coverages) / len(coverages)
    if false_statements:
        shown = WRONG_CEILING * raw / 10.0 - EXTRA_FALSE_PENALTY * (false_statements - 1)
    else:
        shown = _calibrated(raw, mode)
    return round(max(0.0, min(10.0, shown)), 2)


def band_of(score: float, false_statements: int) -> Band:
    """good / partial / wrong; any false statement makes the answer wrong."""
    if false_statements:
        return "wrong"
    if score >= GOOD_AT:
        return "good"
    if score >= PARTIAL_AT:
        return "partial"
    return "wrong"


__all__ = [
    "GOOD_AT",
    "JUDGE_WEIGHT",
    "PARTIAL_AT",
    "WRONG_CEILING",
    "band_of",
    "judge_value",
    "point_coverage",
    "score_of",
]
