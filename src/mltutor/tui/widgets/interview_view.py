"""How an interview looks: the question, the feedback after an answer, the summary (Rich renderables).

While a question is open only its text, the hints and the scores are drawn; the key points, the
formulas checked and the reference answer come with the feedback that closes it (the service never
sends them earlier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from mltutor.agent.interview.records import Feedback, InterviewSummary, Prompt

MARKS = {
    "covered": ("✓ ", "green"),
    "missing": ("✗ missing: ", "yellow"),
    "contradicted": ("! wrong: ", "red"),
}
BAND_STYLE = {"good": "green", "partial": "yellow", "wrong": "red"}


def score_text(score: float | None, band: str | None) -> Text:
    """``6.5/10 partial`` in the band's colour."""
    if score is None:
        return Text("not graded", style="dim")
    return Text.assemble(
        (f"{score:.1f}/10", f"bold {BAND_STYLE.get(band or '', '')}"), f" {band or ''}"
    )


def prompt_header(prompt: Prompt) -> Text:
    """``Question 2/5 · Statistics · easy · review`` (or ``Follow-up 1 to question 2``)."""
    if prompt.kind == "follow_up":
        return Text(
            f"Follow-up {prompt.follow_up} · question {prompt.number}/{prompt.total}", style="bold"
        )
    parts = [
        f"Question {prompt.number}/{prompt.total}",
        prompt.topic_title or prompt.topic,
        prompt.difficulty,
    ]
    if prompt.review:
        parts.append("review")
    return Text(" · ".join(parts), style="bold")


def feedback_renderable(fb: Feedback) -> RenderableType:
    """What the interviewer says after an answer (see the module docs for what is held back)."""
    head = Text()
    if fb.score is not None:
        head.append("Follow-up " if fb.kind == "follow_up" else "Score ", style="bold")
        head.append_text(score_text(fb.score, fb.band))
        if fb.hint_penalty:
            head.append(f" (hints −{fb.hint_penalty:g})", style="dim")
        head.append("  ")
    head.append(fb.message, style="italic")
    if not fb.closed:
        return head
    parts: list[RenderableType] = [head]
    for k in fb.key_points:
        mark, colour = ("↻ in a follow-up: ", "cyan") if k.recovered else MARKS[k.verdict]
        line = Text.assemble((mark, f"bold {colour}"), k.point)
        if k.reason:
            line.append(f" ({k.reason})", style=colour)
        if k.evidence and k.verdict != "missing":
            line.append(f"  “{k.evidence}”", style="dim italic")
        parts.append(line)
    wrong = [m for m in fb.formulas if m.status == "wrong"]
    if fb.formulas:
        parts.append(
            Text(f"math: {len(fb.formulas)} formula(s) checked, {len(wrong)} wrong", style="dim")
        )
    for m in wrong:
        fix = f" → correct: {m.expected}" if m.expected else ""
        parts.append(Text(f"✗ {m.claim}{fix}", style="red"))
    for i, f in enumerate(fb.follow_ups, 1):
        line = Text(f"follow-up {i}: ", style="bold")
        line.append_text(score_text(f.score, f.band) if f.score is not None else Text(f.outcome))
        parts.append(line)
    if fb.reference:
        parts += [Text("Reference answer:", style="bold"), Text(fb.reference.strip())]
    if fb.next_review is not None:
        parts.append(Text(f"next review: {fb.next_review:%Y-%m-%d}", style="dim"))
    parts += [Text(f"note: {n}", style="dim") for n in fb.notes]
    return Group(*parts)


def summary_renderable(summary: InterviewSummary) -> RenderableType:
    """Scores per question and topic, time, weakest key points, next reviews."""
    mins, secs = divmod(round(summary.seconds), 60)
    mean = f"{summary.mean_score:.1f}/10" if summary.mean_score is not None else "—"
    title = Text(
        f"Interview {summary.status} · {len(summary.questions)} question(s) · "
        f"{mins} min {secs:02d} s · mean {mean}",
        style="bold",
    )
    table = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
    table.add_column("#", justify="right", width=3)
    table.add_column("score", width=15, no_wrap=True)
    table.add_column("topic", width=20, no_wrap=True, overflow="ellipsis")
    table.add_column("question", ratio=1, no_wrap=True, overflow="ellipsis")
    for r in summary.questions:
        score = (
            Text(r.outcome.replace("unanswered", "not answered"), style="dim")
            if r.outcome in ("skipped", "unanswered")
            else score_text(r.score, r.band)
        )
        table.add_row(str(r.number), score, r.topic, r.question)
    parts: list[RenderableType] = [title, Text(""), table]
    if summary.topics:
        topics = Table(box=None, expand=True, padding=(0, 1), show_edge=False)
        topics.add_column("topic", ratio=1, no_wrap=True, overflow="ellipsis")
        topics.add_column("mean", width=8)
        topics.add_column("mastery", width=8, justify="right")
        for t in summary.topics:
            topics.add_row(
                t.title or t.topic,
                f"{t.mean_score:.1f}" if t.mean_score is not None else "—",
                f"{t.mastery:.0%}" if t.mastery is not None else "—",
            )
        parts += [Text(""), Text("By topic", style="bold"), topics]
    if summary.weakest_points:
        parts += [Text(""), Text("Weakest key points", style="bold")]
        for w in summary.weakest_points:
            mark, colour = MARKS[w.verdict]
            parts.append(
                Text.assemble((mark, colour), f"{w.point} ", (f"({w.question_id})", "dim"))
            )
    if summary.next_reviews:
        parts += [Text(""), Text("Next reviews", style="bold")]
        for d in summary.next_reviews:
            parts.append(Text(f"{d.due:%Y-%m-%d}  {d.question_id}", style="dim"))
    return Group(*parts)
