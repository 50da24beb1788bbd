"""From per-key-point evidence to a 0-10 score and a band: the documented weights.

Per key point, coverage in [0, 1]:

- deterministic mode: the deterministic coverage (embedding + wording + formulas);
- judge mode: 1 for "covered", 0 for "missing" (the judge's verdict alone);
- combined: ``JUDGE_WEIGHT * judge + (1 - JUDGE_WEIGHT) * deterministic``.

A key point that is contradicted (by the deterministic checks, a wrong formula, or the judge with a
quote the deterministic layer does not clearly cover) scores 0. The raw score is 10 x the mean
coverage. An answer with any contradiction or wrong formula is *wrong*: an interviewer weighs a
confident false claim on the core of the question more than an omission, so its score is scaled
into the wrong band (``WRONG_SCALE``) and lowered further for each extra false statement. Bands:
good from ``GOOD_AT``, partial from ``PARTIAL_AT``, else wrong.

Deterministic mode is a pure function of the texts: the same answer always gets the same score.
"""

from __future__ import annotations

from mltutor.agent.grading.records import Band

JUDGE_WEIGHT = 0.5
"""Share of the judge's verdict in a key point's coverage in combined mode."""
WRONG_SCALE = 0.15
"""A contradicted answer keeps this share of its raw score (so it stays below the partial band)."""
EXTRA_FALSE_PENALTY = 0.2
"""Points taken off for each false statement beyond the first."""
GOOD_AT = 6.5
"""Lowest score of the good band."""
PARTIAL_AT = 3.5
"""Lowest score of the partial band."""
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


def score_of(coverages: list[float], false_statements: int) -> float:
    """The 0-10 score from the key points' coverage and the number of false statements."""
    if not coverages:
        return 0.0
    raw = 10.0 * sum(coverages) / len(coverages)
    if false_statements:
        raw = raw * WRONG_SCALE - EXTRA_FALSE_PENALTY * (false_statements - 1)
    return round(max(0.0, min(10.0, raw)), 2)


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
    "WRONG_SCALE",
    "band_of",
    "judge_value",
    "point_coverage",
    "score_of",
]
