"""The judge layer: one reference-guided model call per answer, JSON out, at temperature 0.

The judge sees the question, the reference answer and the numbered key points, and the answer, and
says for each key point whether the answer states it, leaves it out or contradicts it. It is never
asked to solve the question (reference-guided), and what it sees is capped:

- the answer is cut at :data:`ANSWER_CHARS` and sentences that only restate the question are dropped
  before it is sent (verbosity bias: a long answer that restates the question must not look complete);
- the verdicts are per key point, never a holistic score, and the score is computed from them
  (a judge cannot reward length or confidence directly);
- the key points keep the rubric's order in every call (no ordering effects between answers), and the
  judge's "contradicted" counts only with a quote from the answer, and is weighed with the
  deterministic layer's evidence (a judge that makes the answer's mistake is outvoted).

A reply that is not valid JSON for the rubric, or a provider failure, raises :class:`JudgeFailed`; the
grader then grades deterministically and says so.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mltutor.agent.grading.records import Rubric

ANSWER_CHARS = 1500
"""Longest answer text the judge sees."""
REFERENCE_CHARS = 1200
"""Longest reference text the judge sees."""
MAX_TOKENS_PER_POINT = 70
"""Reply budget per key point (verdict + a short quote)."""

SYSTEM = (
    "You grade a candidate's answer in a machine-learning interview against a reference. "
    "Judge ONLY by the reference answer and the key points: do not solve the question yourself and "
    "do not use other knowledge. For each key point decide:\n"
    '- "covered": the answer states it (other words are fine);\n'
    '- "missing": the answer does not state it (vague mentions and restating the question do not '
    "count);\n"
    '- "contradicted": the answer states something that conflicts with it (swapped terms, wrong '
    "direction, wrong formula or number).\n"
    'For "covered" and "contradicted" quote the answer\'s words (at most 15 words). Length, '
    "confidence and style do not matter. Reply with JSON only."
)
SYSTEM_RU_NOTE = " The answer and key points may be in Russian; reply in the same JSON format."

Verdict = Literal["covered", "missing", "contradicted"]


class JudgeFailed(Exception):
    """The judge gave no usable verdicts; ``reason`` says why, for the grade's notes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JudgeVerdict(BaseModel):
    """The judge's verdict on one key point."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")

    verdict: Verdict
    """covered, missing or contradicted."""
    quote: str = ""
    """The answer's words it rests on."""


class JudgeReply(BaseModel):
    """The judge's whole reply."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore")

    verdicts: list[JudgeVerdict]
    """One per key point, in the rubric's order."""
    false_statements: list[str] = Field(default_factory=list)
    """Statements of the answer the judge found false against the reference."""


def reply_schema(n_points: int) -> dict[str, Any]:
    """The JSON schema the judge's reply must follow (exactly ``n_points`` verdicts)."""
    return {
        "type": "object",
        "properties": {
            "verdicts": {
                "type": "array",
                "minItems": n_points,
                "maxItems": n_points,
                "items": {
                    "type": "object",
                    "properties": {
                        "verdict": {
                            "type": "string",
                            "enum": ["covered", "missing", "contradicted"],
                        },
                        "quote": {"type": "string", "maxLength": 160},
                    },
                    "required": ["verdict", "quote"],
                },
            },
            "false_statements": {
                "type": "array",
                "maxItems": 3,
                "items": {"type": "string", "maxLength": 200},
            },
        },
        "required": ["verdicts", "false_statements"],
    }


def _cap(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def judge_messages(rubric: Rubric, answer: str) -> list[dict[str, Any]]:
    """The chat messages of one judge call."""
    points = "\n".join(f"{i}. {p}" for i, p in enumerate(rubric.key_points, 1))
    system = SYSTEM + (SYSTEM_RU_NOTE if rubric.language == "ru" else "")
    user = (
        f"Question: {_cap(rubric.question, 400)}\n\n"
        f"Reference answer: {_cap(rubric.reference, REFERENCE_CHARS)}\n\n"
        f"Key points:\n{points}\n\n"
        f"Candidate's answer:\n<answer>\n{_cap(answer, ANSWER_CHARS) or '(empty)'}\n</answer>\n\n"
        f"Give exactly {len(rubric.key_points)} verdicts, in the order of the key points."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_reply(content: str, n_points: int) -> JudgeReply:
    """The judge's reply as verdicts; :class:`JudgeFailed` when it is not usable."""
    text = content.strip()
    fenced = re.search(r"\{.*\}", text, re.S)
    if fenced is None:
        raise JudgeFailed("the judge's reply was not JSON")
    try:
        data = json.loads(fenced.group(0))
        reply = JudgeReply.model_validate(data)
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise JudgeFailed(
            f"the judge's reply was not valid JSON for the rubric ({type(exc).__name__})"
        ) from None
    if len(reply.verdicts) != n_points:
        raise JudgeFailed(
            f"the judge gave {len(reply.verdicts)} verdicts for {n_points} key points"
        )
    return reply


def _is_embedded(model: Any) -> bool:
    config = getattr(model, "config", None)
    return bool(getattr(config, "embedded", False))


def run_judge(model: Any, rubric: Rubric, answer: str) -> JudgeReply:
    """One judge call; :class:`JudgeFailed` on provider errors and unusable replies."""
    from mltutor.agent.errors import AgentError
    from mltutor.agent.llm import json_response_format

    n = len(rubric.key_points)
    fmt = json_response_format(reply_schema(n), embedded=_is_embedded(model), name="grade")
    try:
        completion = model.complete(
            judge_messages(rubric, answer),
            response_format=fmt,
            temperature=0.0,
            max_tokens=150 + MAX_TOKENS_PER_POINT * n,
        )
    except AgentError as exc:
        raise JudgeFailed(f"the judge model failed ({exc.message})") from None
    except Exception as exc:  # a fake or a provider bug: never fail the grade on the judge
        raise JudgeFailed(f"the judge model failed ({type(exc).__name__}: {exc})") from None
    return parse_reply(completion.content or "", n)


DRAFT_SYSTEM = (
    "You write grading rubrics for machine-learning interview questions. From the notes given, list "
    "the 3 to 6 key points a good answer to the question must state: short, checkable statements "
    "taken from the notes (a formula, a fact, a reason). Use only the notes. Reply with JSON only."
)


def draft_key_points(model: Any, question: str, sections: list[str], language: str) -> list[str]:
    """3-6 key points drafted by the model from the note sections; :class:`JudgeFailed` if unusable."""
    from mltutor.agent.errors import AgentError
    from mltutor.agent.llm import json_response_format

    schema = {
        "type": "object",
        "properties": {
            "key_points": {
                "type": "array",
                "minItems": 3,
                "maxItems": 6,
                "items": {"type": "string", "maxLength": 200},
            }
        },
        "required": ["key_points"],
    }
    lang = "Russian" if language == "ru" else "English"
    notes = _cap("\n\n".join(sections), 2000)
    messages = [
        {"role": "system", "content": DRAFT_SYSTEM},
        {
            "role": "user",
            "content": f"Question: {_cap(question, 400)}\n\nNotes:\n{notes}\n\n"
            f"Write the key points in {lang}.",
        },
    ]
    try:
        completion = model.complete(
            messages,
            response_format=json_response_format(
                schema, embedded=_is_embedded(model), name="rubric"
            ),
            temperature=0.0,
            max_tokens=500,
        )
    except AgentError as exc:
        raise JudgeFailed(f"the judge model failed ({exc.message})") from None
    except Exception as exc:
        raise JudgeFailed(f"the judge model failed ({type(exc).__name__}: {exc})") from None
    match = re.search(r"\{.*\}", completion.content or "", re.S)
    try:
        data = json.loads(match.group(0)) if match else None
        points = [str(p).strip() for p in data["key_points"] if str(p).strip()]  # type: ignore[index]
    except (json.JSONDecodeError, TypeError, KeyError):
        raise JudgeFailed("the model's key points were not valid JSON") from None
    if not 3 <= len(points) <= 6:
        raise JudgeFailed(f"the model drafted {len(points)} key points (3-6 wanted)")
    return points


__all__ = [
    "ANSWER_CHARS",
    "JudgeFailed",
    "JudgeReply",
    "JudgeVerdict",
    "draft_key_points",
    "judge_messages",
    "parse_reply",
    "reply_schema",
    "run_judge",
]
