"""``mltutor grade``: grade one interview answer against the bank or the notes.

Exit codes: 0 graded, 1 no rubric (nothing matches the question; what was tried is printed),
2 bad input (no question, unreadable answer).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mltutor.commands.common import EXIT_OK, EXIT_WRONG, error, print_json
from mltutor.knowledge.text import scrub_surrogates

MAX_STDIN_BYTES = 1_000_000
"""Most of an answer read from stdin; the grader itself grades the first 6,000 characters."""
POINT_WIDTH = 56
"""Column at which the evidence quote starts in the text output."""


def _clean(text: str) -> str:
    """Command-line text with bytes that were not UTF-8 as U+FFFD (quoted back, they would make
    the output unprintable and the JSON invalid)."""
    return scrub_surrogates(text)


def _read_answer(value: str) -> str:
    if value != "-":
        return value
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        data = data[:MAX_STDIN_BYTES]
    return data.decode("utf-8", errors="replace")


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return f'"{text}"' if text else ""


def _line(mark: str, text: str, evidence: str) -> str:
    quote = _quote(evidence)
    left = f"{mark} {text}"
    if not quote:
        return left
    if len(left) < POINT_WIDTH:
        return f"{left:<{POINT_WIDTH}} {quote}"
    return f"{left}\n{'':<{POINT_WIDTH}} {quote}"


def format_grade(grade: Any) -> str:
    """The text output of ``mltutor grade`` (see README)."""
    score = round(grade.score, 1)
    shown = f"{score:g}"
    if grade.rubric_source == "bank":
        where = f"matched bank question {grade.question_id}"
        if grade.rubric.match_score >= 0.999:
            where = f"bank question {grade.question_id}"
    else:
        topic = grade.rubric.topic or "?"
        where = f"rubric from the notes ({topic}); not a bank question"
    lines = [f"score {shown}/10 ({grade.band}) · {where}"]
    for k in grade.key_points:
        if k.verdict == "covered":
            lines.append(_line("✓", k.point, k.evidence))
        elif k.verdict == "missing":
            lines.append(f"✗ missing: {k.point}")
        else:
            lines.append(_line("!", f"contradicted: {k.point}", k.evidence))
            if k.reason:
                lines.append(f"    {k.reason}")
    checked = [m for m in grade.math if m.status != "unverifiable"]
    wrong = [m for m in grade.math if m.status == "wrong"]
    noun = "formula" if len(checked) == 1 else "formulas"
    summary = f"math: {len(checked)} {noun} checked, {len(wrong)} wrong"
    undecided = len(grade.math) - len(checked)
    if undecided:
        summary += f" ({undecided} could not be checked)"
    lines.append(summary)
    for m in wrong:
        fix = f" (expected {m.expected})" if m.expected else ""
        lines.append(f"  ✗ {m.claim}{fix}")
    if grade.grader.mode != "deterministic":
        lines.append(f"graded by: {grade.grader.mode} (judge {grade.grader.model})")
    for note in grade.grader.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _judge_wanted(args: argparse.Namespace, settings: Any) -> bool:
    if args.judge is not None:
        return bool(args.judge)
    # default: a configured endpoint judges; the embedded model is opt-in (--judge), since
    # starting it costs more than the whole deterministic grade
    return bool(settings.base_url) and settings.base_url != "embedded"


UNCONFIGURING_ENV = frozenset(
    {"MLTUTOR_DATA_DIR", "MLTUTOR_CACHE_DIR", "MLTUTOR_CONFIG", "MLTUTOR_EMBEDDER_CACHE"}
)
"""Variables that do not make the full settings necessary (the two dirs are read as they do)."""


class DefaultSettings:
    """The settings a deterministic grade reads, when nothing configures them: no config file, no
    other ``MLTUTOR_*`` variable. Building them skips pydantic-settings and the settings models
    (~0.2-0.3 s of a ~1.5 s process); any attribute not set here loads the full settings."""

    def __init__(self) -> None:
        import platformdirs

        from mltutor.tools.limits import DEFAULT_LIMITS

        env = os.environ
        self.data_dir = Path(env.get("MLTUTOR_DATA_DIR", platformdirs.user_data_dir("mltutor")))
        self.cache_dir = Path(env.get("MLTUTOR_CACHE_DIR", platformdirs.user_cache_dir("mltutor")))
        self.base_url: str | None = None
        self.chroma_url: str | None = None
        self.tools = DEFAULT_LIMITS

    def __getattr__(self, name: str) -> Any:  # only for attributes not set in __init__
        if name.startswith("__"):
            raise AttributeError(name)
        full = self.__dict__.get("_full")
        if full is None:
            from mltutor.settings import load_settings

            full = self.__dict__["_full"] = load_settings()
        return getattr(full, name)


def _configured() -> bool:
    """Whether anything could change the settings from their defaults (the rule of
    ``mltutor.settings``: a config file, or an environment variable it reads)."""
    for key in os.environ:
        if key.upper().startswith("MLTUTOR_") and key not in UNCONFIGURING_ENV:
            return True
    if os.environ.get("MLTUTOR_CONFIG"):
        path = Path(os.environ["MLTUTOR_CONFIG"]).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir("mltutor")) / "config.toml"
    try:
        return path.is_file()
    except OSError:
        return True  # let the settings loader report it


def grade_settings(args: argparse.Namespace) -> Any:
    """The full settings, or :class:`DefaultSettings` when nothing configures them and no judge
    was asked for (``--judge`` needs the model settings)."""
    if args.judge is not True and not _configured():
        return DefaultSettings()
    from mltutor.settings import load_settings

    return load_settings()


def _bad_input(args: argparse.Namespace, message: str) -> int:
    """Exit 2; with ``--json`` the error object is on stdout too."""
    if args.json:
        print_json({"error": {"message": message, "kind": "input"}})
    return error(message)


def cmd_grade(args: argparse.Namespace) -> int:
    from mltutor.commands.limits import skip_pydantic_plugins

    skip_pydantic_plugins()  # before the first pydantic model is built (settings, records)
    from mltutor.agent.errors import AgentError, NoRubricError

    question = _clean(" ".join(args.question or []).strip())
    if not question and not args.question_id:
        return _bad_input(
            args, "give the question with --question TEXT (or a bank id with --question-id)"
        )
    try:
        answer = _clean(_read_answer(args.answer))
    except OSError as exc:
        return _bad_input(args, f"cannot read the answer from stdin: {exc}")
    settings = grade_settings(args)
    from mltutor.knowledge.embedding import use_cache_dir

    use_cache_dir(settings.cache_dir)  # the embedder loads from its cache file there (~0.1 s)

    def progress(message: str, fraction: float | None = None) -> None:
        print(message, file=sys.stderr, flush=True)

    judge, close, judge_note = None, None, ""
    if _judge_wanted(args, settings):
        from mltutor.agent.llm import connect_models

        try:
            connected = connect_models(settings, progress)
            judge, close = connected.judge, connected.close
            if not connected.status.ready:
                judge_note = f"the judge is not reachable ({connected.status.detail})"
        except AgentError as exc:
            judge_note = f"the judge model could not start ({exc.message}); graded without it"
    from mltutor.agent.grading import create_grader

    try:
        grader = create_grader(settings, judge=judge, progress=lambda m: progress(m))
        grade = grader.grade(question, answer, question_id=args.question_id)
    except NoRubricError as exc:
        if args.json:
            print_json({"error": {"message": exc.message, "kind": "no_rubric", "tried": exc.tried}})
        print(f"mltutor: no rubric: {exc.message}", file=sys.stderr)
        for item in exc.tried:
            print(f"  tried: {item}", file=sys.stderr)
        return EXIT_WRONG
    finally:
        if close is not None:
            close()
    if judge_note:
        grade.grader.notes.append(judge_note)
    if args.json:
        print_json(grade.to_json(with_rubric=args.rubric))
    else:
        print(format_grade(grade))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``grade`` to the ``mltutor`` sub-commands."""
    g = sub.add_parser(
        "grade",
        help="grade an interview answer: score, per-key-point verdicts, math checked",
        description="Grade a free-text answer (English or Russian) against the matching bank "
        "question, or a rubric built from the notes. Exit 1 when nothing matches the question.",
    )
    g.add_argument("--question", "-q", nargs="+", metavar="TEXT", help="the question as asked")
    g.add_argument(
        "--answer",
        "-a",
        required=True,
        metavar="TEXT",
        help="the answer, or - to read it from stdin",
    )
    g.add_argument(
        "--question-id",
        metavar="ID",
        help="grade against this bank question (e.g. regularization-1)",
    )
    g.add_argument("--json", action="store_true", help="print the grade as JSON")
    g.add_argument(
        "--rubric",
        action="store_true",
        help="with --json: include the rubric used (key points, reference)",
    )
    judge = g.add_mutually_exclusive_group()
    judge.add_argument(
        "--judge",
        dest="judge",
        action="store_true",
        default=None,
        help="also ask the judge model (MLTUTOR_JUDGE_MODEL, else the tutor's model, else embedded)",
    )
    judge.add_argument(
        "--no-judge", dest="judge", action="store_false", help="deterministic grading only"
    )
    g.set_defaults(func=cmd_grade)


__all__ = ["DefaultSettings", "cmd_grade", "format_grade", "grade_settings", "register"]
