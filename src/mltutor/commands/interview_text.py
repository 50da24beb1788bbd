"""How an interview reads in a terminal: prompts, feedback, the summary (plain text, 80 columns)."""

from __future__ import annotations

import textwrap
from typing import Any

COMMANDS = {
    "hint": "hint",
    "/hint": "hint",
    "подсказка": "hint",
    "skip": "skip",
    "/skip": "skip",
    "пропустить": "skip",
    "show answer": "show answer",
    "/show answer": "show answer",
    "показать ответ": "show answer",
    "quit": "quit",
    "/quit": "quit",
    "exit": "quit",
    "выход": "quit",
}
"""What a whole answer may be to act as a command (English, Russian, with or without ``/``)."""

WIDTH = 78
MARKS = {"covered": "✓", "missing": "✗ missing:", "contradicted": "! wrong:"}


def command_of(answer: str) -> str | None:
    """The command an answer is (``hint``, ``skip``, ``show answer``, ``quit``), or None."""
    return COMMANDS.get(" ".join(answer.strip().lower().split()))


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(p, WIDTH, initial_indent=indent, subsequent_indent=indent)
        for p in text.splitlines()
        if p.strip()
    )


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}/10"


def prompt_text(prompt: Any) -> str:
    """The question (or follow-up) as shown before the answer."""
    if prompt.kind == "follow_up":
        head = f"[{prompt.number}/{prompt.total}] follow-up {prompt.follow_up}"
    else:
        review = " · review" if prompt.review else ""
        title = prompt.topic_title or prompt.topic
        title = title if len(title) <= 48 else title[:47].rsplit(" ", 1)[0] + "…"
        head = f"[{prompt.number}/{prompt.total}] {title} · {prompt.difficulty}{review}"
    tail = "(end the answer with a line ---; or: hint, skip, show answer, quit)"
    return f"\n{head}\n{_wrap(prompt.text)}\n{tail}"


def feedback_text(fb: Any) -> str:
    """What the interviewer says after an answer: the score while the question stays open; every
    key point, wrong formulas, the reference and the next review once it closes."""
    lines: list[str] = []
    what = "follow-up" if fb.kind == "follow_up" else "score"
    if fb.score is not None:
        penalty = f" · hints -{fb.hint_penalty:g}" if fb.hint_penalty else ""
        lines.append(f"{what} {_score(fb.score)} ({fb.band}){penalty}")
    lines.append(fb.message)
    if not fb.closed:
        return "\n".join(lines)
    for k in fb.key_points:
        said = f'  "{k.evidence}"' if k.evidence and k.verdict != "missing" else ""
        why = f" ({k.reason})" if k.reason else ""
        mark = "↻ shown in a follow-up:" if k.recovered else MARKS[k.verdict]
        lines.append(_wrap(f"{mark} {k.point}{why}{said}", "  ")[2:])
    wrong = [m for m in fb.formulas if m.status == "wrong"]
    if fb.formulas:
        lines.append(f"math: {len(fb.formulas)} formula(s) checked, {len(wrong)} wrong")
    for m in wrong:
        fix = f"; correct: {m.expected}" if m.expected else ""
        lines.append(f"  ✗ {m.claim}{fix}")
    for i, f in enumerate(fb.follow_ups, 1):
        lines.append(f"follow-up {i}: {_score(f.score)} ({f.outcome})  {f.text}")
    if fb.reference:
        lines += ["reference answer:", _wrap(fb.reference, "  ")]
    if fb.next_review is not None:
        lines.append(f"next review: {fb.next_review:%Y-%m-%d}")
    for note in fb.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def summary_text(summary: Any) -> str:
    """The end of an interview: scores per question and topic, time, weak points, next reviews."""
    mins, secs = divmod(round(summary.seconds), 60)
    lines = [
        "",
        f"Interview {summary.interview_id} · {summary.status} · {len(summary.questions)} "
        f"question(s) · {mins} min {secs:02d} s · mean {_score(summary.mean_score)}",
        "",
        "  #  score     topic                 question",
    ]
    for r in summary.questions:
        score = {"skipped": "skipped", "unanswered": "—"}.get(r.outcome, _score(r.score))
        question = r.question if len(r.question) <= 40 else r.question[:39] + "…"
        lines.append(f"{r.number:>3}  {score:<9} {r.topic[:21]:<21} {question}")
    if summary.topics:
        lines += ["", "By topic:"]
        for t in summary.topics:
            mastery = f"mastery {t.mastery:.0%}" if t.mastery is not None else "not graded"
            lines.append(f"  {t.topic:<24} {_score(t.mean_score):<8} {mastery}")
    if summary.weakest_points:
        lines += ["", "Weakest key points:"]
        for w in summary.weakest_points:
            mark = "!" if w.verdict == "contradicted" else "✗"
            lines.append(_wrap(f"{mark} {w.point} ({w.question_id})", "  "))
    if summary.next_reviews:
        lines += ["", "Next reviews:"]
        for d in summary.next_reviews:
            lines.append(f"  {d.due:%Y-%m-%d}  {d.question_id}")
    return "\n".join(lines)
