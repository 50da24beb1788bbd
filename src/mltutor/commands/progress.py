"""``mltutor progress``: per-topic mastery and attempts, due reviews, weakest key points, a plot."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, error, print_json

SPARKS = "▁▂▃▄▅▆▇█"
PLOT_WIDTH, PLOT_HEIGHT = 72, 14
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def learner_report(settings: Any) -> Any:
    """The progress report straight from the learner database (no model, no index)."""
    from mltutor.agent.interview import open_learner, progress_report
    from mltutor.knowledge.notes import load_notes

    store, _notice = open_learner(settings.data_dir)
    try:
        return progress_report(store, load_notes())
    finally:
        store.close()


def mastery_bar(mastery: float | None, width: int = 8) -> str:
    """``▰▰▰▱▱▱▱▱  38%``, or a dash before any graded answer."""
    if mastery is None:
        return "—"
    done = max(0.0, min(1.0, mastery))
    filled = round(done * width)
    return "▰" * filled + "▱" * (width - filled) + f" {done:>4.0%}"


def sparkline(scores: list[float], width: int = 12) -> str:
    """The last ``width`` scores (0-10) as block characters."""
    return "".join(SPARKS[min(7, int(s / 10 * 8))] for s in scores[-width:])


def score_plot(history: list[Any], width: int = PLOT_WIDTH, height: int = PLOT_HEIGHT) -> str:
    """Scores over graded answers as a text plot (plotext, colours off)."""
    if len(history) < 2:
        return "(the score history is plotted from the second graded answer on)"
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    xs = list(range(1, len(history) + 1))
    scores = [p.score for p in history]
    plt.plot(xs, [sum(scores[:i]) / i for i in xs], marker="braille", label="running mean")
    plt.scatter(xs, scores, marker="●", label="score")
    plt.xticks(xs[:: max(1, len(xs) // 10)])
    plt.ylim(0, 10)
    plt.xlabel("graded answers, oldest first")
    plt.title("score history")
    text = _ANSI.sub("", plt.build())
    plt.clear_figure()
    return "\n".join(line.rstrip() for line in text.splitlines())


def progress_text(report: Any) -> str:
    """The report as text (80 columns)."""
    lines = [
        f"Progress · {report.attempts} graded answer(s) in {report.interviews} interview(s) · "
        f"due today {len(report.due_today)} · this week {len(report.due_week)}",
        "",
        f"{'topic':<26} {'mastery':<14} {'practised':>9} {'tries':>5}  scores",
    ]
    practised = [t for t in report.topics if t.attempts]
    for t in practised:
        lines.append(
            f"{t.slug[:26]:<26} {mastery_bar(t.mastery):<14} "
            f"{f'{t.practised}/{t.questions}':>9} {t.attempts:>5}  {sparkline(t.scores)}"
        )
    rest = len(report.topics) - len(practised)
    if rest:
        lines.append(f"({rest} topic(s) not practised yet; `mltutor topics` lists them)")
    if report.due_today:
        lines += ["", "Due today:"]
        lines += [_due(d) for d in report.due_today]
    later = [d for d in report.due_week if d not in report.due_today]
    if later:
        lines += ["", "Due this week:"]
        lines += [_due(d) for d in later]
    if report.weakest_points:
        lines += ["", "Weakest key points:"]
        for w in report.weakest_points:
            mark = "!" if w.verdict == "contradicted" else "✗"
            text = f"  {mark} {w.point} ({w.question_id})"
            lines.append(text if len(text) <= 79 else text[:78] + "…")
    lines += ["", score_plot(report.history)]
    return "\n".join(lines)


def _due(d: Any) -> str:
    last = f"last {d.last_score:.1f}" if d.last_score is not None else ""
    question = d.question if len(d.question) <= 34 else d.question[:33] + "…"
    return f"  {d.due:%Y-%m-%d %H:%M}  {d.question_id:<22} {last:<9} {question}"


def cmd_progress(args: argparse.Namespace) -> int:
    from mltutor.agent.errors import AgentError
    from mltutor.settings import load_settings
    from mltutor.storage import notice_messages

    settings = load_settings()
    try:
        report = learner_report(settings)
    except AgentError as exc:
        if args.json:
            print_json({"error": {"message": exc.message}})
        return error(exc.message, EXIT_INPUT)
    for message in notice_messages(settings.data_dir):
        print(f"mltutor: notice: {message}", file=sys.stderr)
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        print(progress_text(report))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``progress`` to the ``mltutor`` sub-commands."""
    p = sub.add_parser(
        "progress",
        help="your interview progress: mastery per topic, due reviews, weak points, score plot",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_progress)
