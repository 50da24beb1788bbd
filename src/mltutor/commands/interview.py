"""``mltutor interview``: a mock interview in the terminal, or scripted from stdin.

Interactive (stdin is a terminal): each answer may span lines and ends with a line that is just
``---`` (or two empty lines, or Ctrl-D). Scriptable (stdin is not a terminal): stdin holds the
answers, each ended by a line ``---``, in the order they are asked (follow-ups included); when it
runs out the interview stops and is saved. In both, an answer that is only ``hint``, ``skip``,
``show answer`` or ``quit`` is that command.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, error, print_json
from mltutor.commands.interview_text import (
    command_of,
    feedback_text,
    prompt_text,
    summary_text,
)

SEPARATOR = "---"
"""A line that ends an answer."""
MAX_SCRIPT_BYTES = 4_000_000
"""Most of a scripted stdin read; more is ignored, with a note (each answer is graded on its first
6,000 characters anyway)."""


def read_script() -> str:
    """Scripted answers from stdin: bounded, and bytes that are not UTF-8 become U+FFFD."""
    buffer = getattr(sys.stdin, "buffer", None)  # a text-only stdin (tests): read it as text
    data = (
        buffer.read(MAX_SCRIPT_BYTES + 1)
        if buffer is not None
        else sys.stdin.read(MAX_SCRIPT_BYTES + 1)
    )
    if len(data) > MAX_SCRIPT_BYTES:
        print(
            f"mltutor: note: only the first {MAX_SCRIPT_BYTES:,} bytes of stdin were read",
            file=sys.stderr,
        )
        data = data[:MAX_SCRIPT_BYTES]
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def scripted_answers(text: str) -> Iterator[str]:
    """The answers in a scripted stdin: blocks ended by a line that is just ``---``."""
    block: list[str] = []
    for line in text.splitlines():
        if line.strip() == SEPARATOR:
            yield "\n".join(block).strip()
            block = []
        else:
            block.append(line)
    if "\n".join(block).strip():
        yield "\n".join(block).strip()


def terminal_answers(show: Callable[[str], None]) -> Iterator[str]:
    """Answers typed in a terminal: lines until ``---``, two empty lines or Ctrl-D."""
    while True:
        lines: list[str] = []
        empty = 0
        try:
            while True:
                line = input("… " if lines else "> ")
                if line.strip() == SEPARATOR:
                    break
                empty = empty + 1 if not line.strip() else 0
                if empty >= 2 or (not lines and command_of(line)):
                    lines.append(line)
                    break
                lines.append(line)
        except EOFError:
            if not "\n".join(lines).strip():
                return
        except KeyboardInterrupt:
            show("\n(interrupted: the interview is saved)")
            yield "quit"
            return
        yield "\n".join(lines).strip()


def run_interview(
    session: Any,
    answers: Iterator[str],
    *,
    show: Callable[[str], None],
    scripted: bool,
) -> None:
    """Ask, read answers, grade, show feedback, until the interview ends or the answers do."""
    from mltutor.agent.errors import Cancelled
    from mltutor.agent.interview.errors import InterviewError

    prompt = session.current
    shown = None
    while prompt is not None:
        if prompt is not shown:  # after a hint or a failed answer the question stays on screen
            show(prompt_text(prompt))
            shown = prompt
        answer = next(answers, None)
        if answer is None:
            show("(no more answers: the interview was stopped and saved)")
            session.quit()
            return
        command = command_of(answer)
        try:
            if command == "quit":
                session.quit()
                return
            if command == "hint":
                show(session.hint())
                continue
            if command == "skip" or (scripted and not answer.strip()):
                feedback = session.skip()
            elif command == "show answer":
                feedback = session.show_answer()
            else:
                if not scripted:
                    show("grading…")
                cancel = threading.Event()
                try:
                    feedback = session.answer(answer, cancel=cancel)
                except KeyboardInterrupt:
                    cancel.set()
                    show("(grading stopped; the answer was not recorded: answer again, or quit)")
                    continue
        except Cancelled as exc:
            show(f"({exc.message})")
            continue
        except InterviewError as exc:  # an empty answer, no hints left: the question stays
            show(f"mltutor: {exc.message}")
            continue
        show(feedback_text(feedback))
        prompt = feedback.next


def cmd_interview(args: argparse.Namespace) -> int:
    from mltutor.agent import create_service
    from mltutor.agent.errors import AgentError
    from mltutor.settings import load_settings
    from mltutor.storage import notice_messages

    settings = load_settings()
    scripted = not sys.stdin.isatty()
    # --json: only the transcript goes to stdout; everything else to stderr
    out = sys.stderr if args.json else sys.stdout

    def show(text: str) -> None:
        print(text, file=out, flush=True)

    topics = [t.strip() for value in args.topic or [] for t in value.split(",") if t.strip()]
    service = create_service(settings)
    try:
        try:
            session = service.start_interview(
                topics,
                args.difficulty,
                args.n,
                args.lang,
                max_follow_ups=args.follow_ups,
                use_model=not args.no_model,
                warm_up=not scripted,  # scripted answers are graded at once: nothing to overlap
            )
        except AgentError as exc:
            return error(exc.message, EXIT_INPUT)
        for message in notice_messages(settings.data_dir):
            print(f"mltutor: notice: {message}", file=sys.stderr)
        answers = scripted_answers(read_script()) if scripted else terminal_answers(show)
        try:
            run_interview(session, answers, show=show, scripted=scripted)
        except AgentError as exc:  # e.g. the learner database became unwritable
            session.quit()
            return error(exc.message, EXIT_INPUT)
        summary = session.summary()
        show(summary_text(summary))
        if args.export:
            path = Path(args.export).expanduser()
            try:
                path.write_text(session.export_markdown(), encoding="utf-8")
            except OSError as exc:
                return error(f"cannot write {path}: {exc.strerror or exc}")
            show(f"exported to {path}")
        if args.json:
            print_json(session.to_json())
    finally:
        service.close()
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``interview`` to the ``mltutor`` sub-commands."""
    p = sub.add_parser(
        "interview",
        help="a mock interview: questions by topic and difficulty, graded, with follow-ups",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--topic",
        action="append",
        metavar="SLUG",
        help="only this topic (repeat or comma-separate for several; `mltutor topics` lists them)",
    )
    p.add_argument("--difficulty", choices=["easy", "medium", "hard"], default=None)
    p.add_argument("-n", type=int, default=5, metavar="N", help="number of questions (default 5)")
    p.add_argument("--lang", choices=["en", "ru"], default="en", help="interview language")
    p.add_argument("--export", metavar="FILE", help="write the summary as Markdown to FILE")
    p.add_argument(
        "--json", action="store_true", help="print the transcript as JSON at the end (stdout)"
    )
    p.add_argument(
        "--follow-ups",
        type=int,
        choices=[0, 1, 2],
        default=2,
        help="at most this many follow-ups per question (default 2)",
    )
    p.add_argument(
        "--no-model",
        action="store_true",
        help="never start a model (follow-ups: the question bank, or a probe of the missed point)",
    )
    p.set_defaults(func=cmd_interview)
