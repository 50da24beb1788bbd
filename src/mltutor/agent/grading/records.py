"""The grader's typed records: the rubric, per-key-point verdicts, math checks and the grade.

``Grade.to_json`` is the documented shape of ``mltutor grade --json`` (the interviewer's transcript
and the eval harness embed the same dict).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Band = Literal["good", "partial", "wrong"]
PointVerdict = Literal["covered", "missing", "contradicted"]
MathStatus = Literal["ok", "wrong", "unverifiable"]
Mode = Literal["deterministic", "judge", "combined"]
RubricSource = Literal["bank", "notes", "suite"]
Language = Literal["en", "ru"]


class _Record(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")


class Rubric(_Record):
    """What an answer is graded against: key points and a reference, from the bank or the notes."""

    question: str
    """The question as asked."""
    question_id: str | None = None
    """The bank question's id when the rubric comes from the bank, else ``None``."""
    topic: str | None = None
    """Topic slug of the bank question or of the best-matching note."""
    source: RubricSource = "bank"
    """``bank``: a bank question's key points; ``notes``: built from the best-matching note sections;
    ``suite``: key points the caller supplied (an eval suite's own case)."""
    key_points: list[str] = Field(default_factory=list)
    """Short statements a good answer must contain, in ``language``."""
    reference: str = ""
    """The reference answer (bank) or the note text the key points come from (notes)."""
    language: Language = "en"
    """Language of the key points and the reference (the answer's language when available)."""
    match_score: float = 0.0
    """Confidence of the match between the question and the rubric's source, in [0, 1]."""
    facts: list[str] = Field(default_factory=list)
    """Further reference statements (key formulas, related key points) used to catch contradictions
    and wrong formulas; never graded as key points."""
    misconceptions: list[tuple[str, str]] = Field(default_factory=list)
    """(false belief, correction) pairs from the topic's "Common misconceptions" sections."""
    tried: list[str] = Field(default_factory=list)
    """What matching tried, in words (shown when there is no rubric)."""


class KeyPointVerdict(_Record):
    """Whether the answer states one key point."""

    point: str
    """The key point as written in the rubric."""
    verdict: PointVerdict
    """covered: the answer states it; missing: it does not; contradicted: it states the opposite."""
    evidence: str = ""
    """The answer's words that cover or contradict the point (empty when missing)."""
    reason: str = ""
    """Why it was judged contradicted (swapped terms, negation, a wrong number or formula)."""
    score: float = 0.0
    """Coverage in [0, 1] behind the verdict (0 when contradicted)."""


class MathCheck(_Record):
    """One formula of the answer, checked by the derivation checker or against the reference."""

    claim: str
    """The formula as extracted from the answer."""
    status: MathStatus
    """ok: it holds; wrong: it does not; unverifiable: it could not be read or decided."""
    expected: str | None = None
    """For a wrong formula: what it should be, where known."""
    message: str = ""
    """What was checked, or why it failed."""


class GraderInfo(_Record):
    """How the grade was produced."""

    mode: Mode = "deterministic"
    """deterministic: no model; judge: the model's verdicts only; combined: both, weighted."""
    model: str | None = None
    """The judge model's name, when one took part."""
    seconds: float = 0.0
    """Wall-clock time of grading."""
    notes: list[str] = Field(default_factory=list)
    """What the user should know: the answer was cut, the judge failed and was skipped, ..."""


class Grade(_Record):
    """The grade of one answer: a 0-10 score, a band and exactly why."""

    score: float = Field(ge=0.0, le=10.0)
    """Score from 0 (nothing right) to 10 (every key point, nothing false)."""
    band: Band
    """good (>= 7), partial (>= 4) or wrong (below 4, or any contradicted point or wrong formula)."""
    question_id: str | None = None
    """The bank question graded against, if any."""
    rubric_source: RubricSource = "bank"
    """Where the key points came from."""
    key_points: list[KeyPointVerdict] = Field(default_factory=list)
    """One verdict per key point, in rubric order."""
    math: list[MathCheck] = Field(default_factory=list)
    """The answer's formulas and what checking them found."""
    grader: GraderInfo = Field(default_factory=GraderInfo)
    """How the grade was produced."""
    rubric: Rubric
    """The rubric used (not part of ``to_json``'s documented keys; under ``rubric``)."""

    def count(self, verdict: PointVerdict) -> int:
        """How many key points got ``verdict``."""
        return sum(1 for k in self.key_points if k.verdict == verdict)

    def to_json(self, *, with_rubric: bool = False) -> dict[str, Any]:
        """The documented shape of ``mltutor grade --json`` (the rubric under ``rubric`` if asked)."""
        out: dict[str, Any] = {
            "score": round(self.score, 2),
            "band": self.band,
            "question_id": self.question_id,
            "rubric_source": self.rubric_source,
            "key_points": [
                {
                    "point": k.point,
                    "verdict": k.verdict,
                    "evidence": k.evidence,
                    **({"reason": k.reason} if k.reason else {}),
                }
                for k in self.key_points
            ],
            "math": [
                {"claim": m.claim, "status": m.status, "expected": m.expected} for m in self.math
            ],
            "grader": {
                "mode": self.grader.mode,
                "model": self.grader.model,
                "seconds": round(self.grader.seconds, 3),
                "notes": list(self.grader.notes),
            },
        }
        if with_rubric:
            out["rubric"] = {
                "question": self.rubric.question,
                "topic": self.rubric.topic,
                "language": self.rubric.language,
                "key_points": list(self.rubric.key_points),
                "reference": self.rubric.reference,
                "match_score": round(self.rubric.match_score, 3),
            }
        return out


class StatementVerdict(_Record):
    """One sentence of a text compared with the evidence (the tutor's prose verification)."""

    sentence: str
    """The sentence as written."""
    verdict: Literal["supported", "unsupported", "contradicted"]
    """supported: the evidence says it; contradicted: the evidence says otherwise; else unsupported."""
    evidence: str = ""
    """The evidence text that supports or contradicts it."""
    source: int | None = None
    """1-based index of the evidence text (citation number), or ``None``."""
    reason: str = ""
    """Why it was judged contradicted (negation, swapped terms, a wrong number...)."""
