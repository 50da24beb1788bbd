"""An interview's summary, its JSON transcript (``mltutor interview --json``) and its Markdown export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mltutor.agent.interview.records import (
    DueItem,
    InterviewSummary,
    QuestionResult,
    Status,
    TopicResult,
    WeakPoint,
)

WEAK_POINTS_LISTED = 8
"""How many weakest key points a summary lists."""


def summarize(
    *,
    interview_id: str,
    status: Status,
    lang: str,
    started_at: datetime,
    finished_at: datetime | None,
    now: datetime,
    results: list[QuestionResult],
    titles: dict[str, str],
    mastery: dict[str, float],
) -> InterviewSummary:
    """The summary of an interview's questions so far."""
    topics: dict[str, TopicResult] = {}
    scores: dict[str, list[float]] = {}
    for r in results:
        t = topics.setdefault(
            r.topic, TopicResult(topic=r.topic, title=titles.get(r.topic, r.topic))
        )
        t.questions += 1
        if r.score is not None:
            t.graded += 1
            scores.setdefault(r.topic, []).append(r.score)
    for slug, t in topics.items():
        got = scores.get(slug, [])
        t.mean_score = round(sum(got) / len(got), 2) if got else None
        t.mastery = mastery.get(slug)
    graded = [r.score for r in results if r.score is not None]
    weak: list[WeakPoint] = []
    for r in results:
        for k in r.key_points:
            if k.verdict in ("missing", "contradicted") and not k.recovered:
                weak.append(
                    WeakPoint(
                        question_id=r.question_id,
                        topic=r.topic,
                        point=k.point,
                        verdict=k.verdict,
                        score=r.score,
                    )
                )
    weak.sort(key=lambda w: (w.verdict != "contradicted", w.score or 0.0))
    reviews = [
        DueItem(
            question_id=r.question_id,
            topic=r.topic,
            question=r.question,
            due=r.next_review,
            last_score=r.score,
        )
        for r in results
        if r.next_review is not None
    ]
    end = finished_at or now
    return InterviewSummary(
        interview_id=interview_id,
        status=status,
        lang=lang,
        started_at=started_at,
        finished_at=finished_at,
        seconds=round(max(0.0, (end - started_at).total_seconds()), 1),
        questions=results,
        topics=list(topics.values()),
        mean_score=round(sum(graded) / len(graded), 2) if graded else None,
        weakest_points=weak[:WEAK_POINTS_LISTED],
        next_reviews=sorted(reviews, key=lambda d: d.due),
    )


def transcript_json(summary: InterviewSummary) -> dict[str, Any]:
    """The documented shape of ``mltutor interview --json``."""
    questions = [
        {
            "id": r.question_id,
            "topic": r.topic,
            "difficulty": r.difficulty,
            "question": r.question,
            "answer": r.answer,
            "outcome": r.outcome,
            "score": r.score,
            "hints": r.hints,
            "seconds": round(r.seconds, 1),
            "review": r.review,
            "rating": r.rating,
            "next_review": r.next_review.isoformat() if r.next_review else None,
            "grade": r.grade,
            "follow_ups": [
                {
                    "question": f.text,
                    "source": f.source,
                    "answer": f.answer,
                    "outcome": f.outcome,
                    "score": f.score,
                    "grade": f.grade,
                }
                for f in r.follow_ups
            ],
        }
        for r in summary.questions
    ]
    data = summary.model_dump(mode="json", exclude={"questions"})
    return {"questions": questions, "summary": data}


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}/10"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def markdown(summary: InterviewSummary) -> str:
    """The interview as a Markdown document: overview, per topic, per question, what to review."""
    mins, secs = divmod(round(summary.seconds), 60)
    lines = [
        f"# Mock interview {summary.interview_id}",
        "",
        f"*{_when(summary.started_at)} · {len(summary.questions)} questions · "
        f"{mins} min {secs:02d} s · mean score {_score(summary.mean_score)} · "
        f"{summary.status}*",
        "",
        "## Scores",
        "",
        "| # | question | topic | difficulty | score | next review |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary.questions:
        score = _score(r.score) if r.outcome != "skipped" else "skipped"
        if r.outcome == "unanswered":
            score = "not answered"
        text = r.question.replace("|", "\\|")
        lines.append(
            f"| {r.number} | {text} | {r.topic} | {r.difficulty} | {score} | "
            f"{_when(r.next_review)} |"
        )
    lines += [
        "",
        "## By topic",
        "",
        "| topic | questions | mean score | mastery |",
        "|---|---|---|---|",
    ]
    for t in summary.topics:
        mastery = f"{t.mastery:.0%}" if t.mastery is not None else "—"
        lines.append(f"| {t.title} | {t.questions} | {_score(t.mean_score)} | {mastery} |")
    if summary.weakest_points:
        lines += ["", "## Weakest key points", ""]
        lines += [
            f"- {'✗ wrong' if w.verdict == 'contradicted' else '○ missing'}: {w.point} "
            f"({w.question_id})"
            for w in summary.weakest_points
        ]
    for r in summary.questions:
        lines += ["", f"## {r.number}. {r.question}", ""]
        lines += [f"*{r.topic} · {r.difficulty} · {r.outcome}*", ""]
        if r.answer:
            lines += ["**Your answer:**", "", _quote(r.answer), ""]
        if r.score is not None:
            hints = f" (after {r.hints} hint(s))" if r.hints else ""
            lines += [f"**Score:** {_score(r.score)}{hints}, {r.band}", ""]
        for k in r.key_points:
            mark = {"covered": "✓", "missing": "○ missing:", "contradicted": "✗ wrong:"}[k.verdict]
            if k.recovered:
                mark = "↻ shown in a follow-up:"
            said = f" — “{k.evidence}”" if k.evidence else ""
            lines.append(f"- {mark} {k.point}{said}")
        for m in r.formulas:
            if m.status == "wrong":
                fix = f"; correct: `{m.expected}`" if m.expected else ""
                lines.append(f"- wrong formula `{m.claim}`{fix}")
        for i, f in enumerate(r.follow_ups, 1):
            lines += ["", f"**Follow-up {i}:** {f.text}", ""]
            if f.answer:
                lines += [_quote(f.answer), ""]
            lines.append(f"{f.outcome}, score {_score(f.score)}")
        if r.reference:
            lines += ["", "**Reference answer:**", "", _quote(r.reference)]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())
