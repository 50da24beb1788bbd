"""Scorers: the numbers a case record carries, per kind.

``qa`` (a :class:`~mltutor.evals.solvers.Solution` to an interview question):

- ``score`` (0-10) and ``good`` (1 when the band is good): the grader, against the bank question's
  rubric (or the case's own key points); ``key_points_covered`` (share), ``contradicted`` (count);
- ``math_claims`` / ``math_failed``: the final answer's formulas run through the same claim checker
  for every solver (so ``raw`` and ``tutor`` are measured alike; it is the checker the tutor's own
  verification uses, so the tutor's failures there are low by construction), and
  ``grader_math_checked`` / ``grader_math_wrong``: the grader's own formula check, a second opinion;
- ``cited`` / ``cited_supported``: sentences carrying a citation ``[n]``, and how many of them the
  cited note actually supports (the grader's statement check against that note's text);
- ``words``, ``seconds``, ``prompt_tokens``, ``completion_tokens``.

``derivation``: ``correct`` (the first wrong step named exactly, or "all correct" when it is) and
``verdict_correct`` (wrong vs correct told apart). ``retrieval``: ``hit1``, ``hit3`` (scored by
:func:`mltutor.evals.retrieval_eval.evaluate`) and ``rr`` (reciprocal rank in the first 10).
``grading``: ``ordering`` (share of the ordered answer pairs scored strictly in order), ``pairs`` and
``pairs_ordered``, ``band_accuracy``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from mltutor.agent.events import Citation
from mltutor.evals.suites import (
    BAND_ORDER,
    AnyCase,
    DerivationCase,
    GradingCase,
    Kind,
    QACase,
    RetrievalCase,
)
from mltutor.tools.limits import ToolLimits

HIT_TEXT_KEPT = 1500
"""Characters of each retrieved note kept in a qa record (for citation support when re-grading)."""


class MetricSpec(BaseModel):
    """How a report aggregates one metric."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    """Name in the report."""
    key: str
    """Metric key of the case records (the numerator for a ratio)."""
    denominator: str | None = None
    """For a pooled ratio (sum of ``key`` over sum of this); None for a mean over cases."""
    label: str = ""
    """What it means, for the report."""
    better: str = "higher"
    """``higher`` or ``lower`` is better; empty when neither is."""
    percent: bool = False
    """A share in [0, 1], shown as a percentage."""


PRIMARY: dict[Kind, str] = {
    "qa": "score",
    "derivation": "correct",
    "retrieval": "hit1",
    "grading": "ordering",
}
"""The metric a comparison (``--vs``) and an ablation rank by."""

METRICS: dict[Kind, list[MetricSpec]] = {
    "qa": [
        MetricSpec(name="score", key="score", label="grader score (0-10)"),
        MetricSpec(percent=True, name="good", key="good", label="share graded good"),
        MetricSpec(
            percent=True,
            name="key points covered",
            key="kp_covered",
            denominator="kp_total",
            label="share of rubric key points covered",
        ),
        MetricSpec(
            name="contradicted",
            key="contradicted",
            label="key points contradicted per answer",
            better="lower",
        ),
        MetricSpec(
            percent=True,
            name="any contradicted",
            key="any_contradicted",
            label="share of answers that contradict a key point",
            better="lower",
        ),
        MetricSpec(
            percent=True,
            name="math failed",
            key="math_failed",
            denominator="math_claims",
            label="share of the answer's formulas that do not hold",
            better="lower",
        ),
        MetricSpec(
            name="math claims", key="math_claims", label="formulas checked per answer", better=""
        ),
        MetricSpec(
            percent=True,
            name="grader math wrong",
            key="grader_math_wrong",
            denominator="grader_math_checked",
            label="share of formulas the grader's own math check finds wrong (a second opinion)",
            better="lower",
        ),
        MetricSpec(
            percent=True,
            name="citation support",
            key="cited_supported",
            denominator="cited",
            label="share of cited sentences the cited note supports",
        ),
        MetricSpec(name="words", key="words", label="answer length (words)", better=""),
        MetricSpec(name="seconds", key="seconds", label="seconds per answer", better="lower"),
        MetricSpec(
            name="first content",
            key="first_content_seconds",
            label="seconds to the first text on screen",
            better="lower",
        ),
        MetricSpec(name="prompt tokens", key="prompt_tokens", label="per answer", better="lower"),
        MetricSpec(
            name="completion tokens", key="completion_tokens", label="per answer", better="lower"
        ),
    ],
    "derivation": [
        MetricSpec(
            percent=True,
            name="first wrong step",
            key="correct",
            label="first wrong step named exactly",
        ),
        MetricSpec(
            percent=True, name="verdict", key="verdict_correct", label="wrong vs correct told apart"
        ),
        MetricSpec(name="seconds", key="seconds", label="seconds per case", better="lower"),
    ],
    "retrieval": [
        MetricSpec(percent=True, name="hit@1", key="hit1", label="right topic first"),
        MetricSpec(percent=True, name="hit@3", key="hit3", label="right topic in the first 3"),
        MetricSpec(name="MRR", key="rr", label="mean reciprocal rank (first 10)"),
        MetricSpec(name="seconds", key="seconds", label="seconds per query", better="lower"),
    ],
    "grading": [
        MetricSpec(
            percent=True,
            name="ordering",
            key="pairs_ordered",
            denominator="pairs",
            label="answer pairs scored strictly in order",
        ),
        MetricSpec(
            percent=True,
            name="band accuracy",
            key="band_accuracy",
            label="answers put in their band",
        ),
        MetricSpec(name="seconds", key="seconds", label="seconds per question", better="lower"),
    ],
}
"""What the reports show per kind, in order."""


class Grader(Protocol):
    """What the harness needs from the grader (:mod:`mltutor.agent.grading`)."""

    def grade(
        self,
        question: str,
        answer: str,
        *,
        question_id: str | None = None,
        rubric: Any = None,
    ) -> Any:
        """A grade with ``score``, ``band``, ``key_points`` (verdicts) and ``to_json()``."""
        ...


# -- qa ------------------------------------------------------------------------------------------

_CITE_RE = re.compile(r"\[(\d{1,2})\]")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_LEADING_CITES_RE = re.compile(r"^(?:\[\d{1,2}\][ \t]*)+")
_WORD_RE = re.compile(r"[^\W\d_]{3,}")
_APPARATUS_RE = re.compile(
    r"^(?:"
    r"[*_]+\(.*\)[*_]+"  # "*(2 statement(s) that contradict the notes ([1]) were removed ...)*"
    r"|[*_]*\s*(?:sources?|источник(?:и)?)\s*[*_]*\s*:.*"  # "Source: [1] label"
    r"|[*_]*\s*†.*"  # the footnote under sentences marked †
    r"|\*\*(?:from our notes|из наших конспектов)\*\*\s*\(\[\d{1,2}\][^\n]*\):?"  # a lead's header
    r"|\*\*(?:computed by mltutor's tools|посчитано инструментами mltutor):?\*\*:?"
    r")$",
    re.IGNORECASE,
)
"""Lines of the tutor's own apparatus (``agent/tutor/answer.py``, ``lead.py``): they carry ``[n]``
but claim nothing about a note, so they are not cited sentences."""


def cited_sentences(answer: str, hits: Sequence[Citation]) -> list[tuple[str, list[int]]]:
    """Sentences of ``answer`` that cite retrieved notes: (sentence without markers, 1-based hits).

    The tutor's apparatus is left out: the "Source: [1] ..." line, a lead's "From our notes ([1]
    ...):" header, the "*(... removed from this answer.)*" note (it names the notes a removed
    statement contradicted) and the † footnote. A marker written after the full stop ("... zero.
    [1]") belongs to the sentence before it.
    """
    pieces: list[str] = []
    for line in answer.splitlines():
        line = line.strip()
        if not line or _APPARATUS_RE.match(line):
            continue
        for raw in _SENTENCE_END_RE.split(line):
            raw = raw.strip()
            lead = _LEADING_CITES_RE.match(raw)
            if lead and pieces:  # "... zero. [1] Next sentence": [1] cites the sentence before
                pieces[-1] += " " + lead.group(0).strip()
                raw = raw[lead.end() :].strip()
            if raw:
                pieces.append(raw)
    out = []
    for piece in pieces:
        sentence = piece.lstrip("-*•>#").strip()
        numbers = sorted({int(n) for n in _CITE_RE.findall(sentence) if 1 <= int(n) <= len(hits)})
        if not numbers:
            continue
        text = re.sub(r"\s+(?=[.,;:!?])", "", _CITE_RE.sub("", sentence).replace("†", "")).strip()
        if len(_WORD_RE.findall(text)) >= 3:
            out.append((text, numbers))
    return out


def _lexically_supported(sentence: str, evidence: str) -> bool:
    """Fallback when no statement checker is available: most content words appear in the note."""
    words = {w.lower() for w in _WORD_RE.findall(sentence)}
    have = {w.lower() for w in _WORD_RE.findall(evidence)}
    return bool(words) and len(words & have) / len(words) >= 0.5


def citation_support(answer: str, hits: Sequence[Citation], checker: Any) -> tuple[int, int]:
    """(cited sentences, of them supported by the cited notes)."""
    pairs = cited_sentences(answer, hits)
    supported = 0
    check = getattr(checker, "check_statements", None)
    for sentence, numbers in pairs:
        evidence = [hits[n - 1].text for n in numbers]
        ok = False
        if check is not None:
            try:
                verdicts = list(check([sentence], evidence))
                ok = bool(verdicts) and getattr(verdicts[0], "verdict", "") == "supported"
            except Exception:  # the statement check is an aid; fall back to words
                ok = any(_lexically_supported(sentence, e) for e in evidence)
        else:
            ok = any(_lexically_supported(sentence, e) for e in evidence)
        supported += ok
    return len(pairs), supported


def math_claims(answer: str, limits: ToolLimits) -> tuple[int, int, list[str]]:
    """(formulas checked, of them wrong, the failures) in a final answer, by the tutor's claim
    checker (no tool results expected: only what the answer itself states)."""
    from mltutor.agent.tutor.claims import verify

    v = verify(answer, [], limits)
    return v.claims_checked, v.claims_failed, list(v.failures)


def qa_rubric(case: QACase) -> Any:
    """The case's own rubric (when it is not a bank question and gives key points), else None."""
    if case.bank_id or not case.key_points:
        return None
    from mltutor.agent.grading.records import Rubric

    return Rubric(
        question=case.question,
        topic=case.topic or None,
        source="suite",
        key_points=list(case.key_points),
        reference=case.reference_answer,
        language=case.language,
        match_score=1.0,
    )


def score_qa(
    case: QACase, solution: Any, grader: Grader, limits: ToolLimits
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Metrics and details of one answered question."""
    grade = grader.grade(
        case.question, solution.answer, question_id=case.bank_id, rubric=qa_rubric(case)
    )
    verdicts = [getattr(k, "verdict", "") for k in grade.key_points]
    statuses = [getattr(m, "status", "") for m in getattr(grade, "math", [])]
    claims, failed, failures = math_claims(solution.answer, limits)
    cited, supported = citation_support(solution.answer, solution.hits, grader)
    metrics: dict[str, float | None] = {
        "score": float(grade.score),
        "good": 1.0 if grade.band == "good" else 0.0,
        "kp_total": float(len(verdicts)),
        "kp_covered": float(verdicts.count("covered")),
        "contradicted": float(verdicts.count("contradicted")),
        "any_contradicted": 1.0 if "contradicted" in verdicts else 0.0,
        "math_claims": float(claims),
        "math_failed": float(failed),
        "grader_math_checked": float(sum(st in ("ok", "wrong") for st in statuses)),
        "grader_math_wrong": float(statuses.count("wrong")),
        "cited": float(cited),
        "cited_supported": float(supported),
        "words": float(len(solution.answer.split())),
        "seconds": solution.seconds,
        "first_content_seconds": getattr(solution, "first_content_seconds", None),
        "prompt_tokens": float(solution.prompt_tokens),
        "completion_tokens": float(solution.completion_tokens),
    }
    to_json = getattr(grade, "to_json", None)
    details = {
        "band": grade.band,
        "grade": to_json() if callable(to_json) else {},
        "math_failures": failures,
        "tokens_estimated": solution.tokens_estimated,
        "tokens_source": solution.tokens_source,
        "model_calls": solution.model_calls,
        "solver": solution.trace,
        # the retrieved notes an answer's [n] refers to, so the answer can be graded again later
        "hits": [
            h.model_copy(update={"text": h.text[:HIT_TEXT_KEPT]}).model_dump()
            for h in solution.hits
        ],
    }
    return metrics, details


# -- derivation, retrieval, grading ----------------------------------------------------------------


def score_derivation(
    case: DerivationCase, solution: Any
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Whether the solver named the right first wrong step (or said "all correct" rightly)."""
    named, expected = solution.first_wrong_step, case.first_wrong_step
    metrics: dict[str, float | None] = {
        "correct": 1.0 if named == expected else 0.0,
        "verdict_correct": 1.0 if (named is None) == (expected is None) else 0.0,
        "seconds": solution.seconds,
        "prompt_tokens": float(solution.prompt_tokens),
        "completion_tokens": float(solution.completion_tokens),
    }
    details = {
        "named": named,
        "expected": expected,
        "solver": solution.trace,
        "tokens_source": solution.tokens_source,
    }
    return metrics, details


def score_retrieval(
    case: RetrievalCase, solution: Any
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """hit@1 and hit@3 by the retrieval eval's own scoring; reciprocal rank within the hits."""
    from mltutor.evals.retrieval_eval import EvalQuery, evaluate

    hits = list(solution.hits)
    query = EvalQuery(query=case.query, lang=case.language, topic=case.topic)
    report = evaluate(lambda q, k: hits[:k], [query])
    topics = [h.topic for h in hits]
    rank = topics.index(case.topic) + 1 if case.topic in topics else None
    metrics: dict[str, float | None] = {
        "hit1": report.overall.hit1,
        "hit3": report.overall.hit3,
        "rr": 1.0 / rank if rank else 0.0,
        "seconds": solution.seconds,
    }
    return metrics, {"topics": topics[:5], "rank": rank}


def score_grading(
    case: GradingCase, grader: Grader
) -> tuple[dict[str, float | None], dict[str, Any], float]:
    """Grade every answer; count the ordered pairs scored strictly in order and the bands hit."""
    import time

    start = time.perf_counter()
    grades = [grader.grade(case.question, a.text, question_id=case.bank_id) for a in case.answers]
    seconds = time.perf_counter() - start
    scores = [float(g.score) for g in grades]
    pairs = ordered = 0
    for i, a in enumerate(case.answers):
        for j, b in enumerate(case.answers):
            if BAND_ORDER[a.band] > BAND_ORDER[b.band]:
                pairs += 1
                ordered += scores[i] > scores[j]
    bands_hit = sum(g.band == a.band for g, a in zip(grades, case.answers, strict=True))
    metrics: dict[str, float | None] = {
        "ordering": ordered / pairs if pairs else None,
        "pairs": float(pairs),
        "pairs_ordered": float(ordered),
        "band_accuracy": bands_hit / len(case.answers),
        "seconds": seconds,
    }
    details = {
        "answers": [
            {"band": a.band, "score": round(s, 2), "graded_band": g.band}
            for a, s, g in zip(case.answers, scores, grades, strict=True)
        ]
    }
    return metrics, details, seconds


def passed(kind: Kind, metrics: dict[str, float | None]) -> bool | None:
    """Whether a case "passed" (for the flips of a comparison): graded good, step named, topic
    first, every pair ordered."""
    key = {"qa": "good", "derivation": "correct", "retrieval": "hit1", "grading": "ordering"}[kind]
    value = metrics.get(key)
    return None if value is None else value >= 1.0


def case_text(case: AnyCase) -> str:
    """The case's question, query or derivation, for reports."""
    if isinstance(case, QACase | GradingCase):
        return case.question
    if isinstance(case, RetrievalCase):
        return case.query
    return case.text


__all__ = [
    "METRICS",
    "PRIMARY",
    "Grader",
    "MetricSpec",
    "case_text",
    "citation_support",
    "cited_sentences",
    "math_claims",
    "passed",
    "qa_rubric",
    "score_derivation",
    "score_grading",
    "score_qa",
    "score_retrieval",
]
