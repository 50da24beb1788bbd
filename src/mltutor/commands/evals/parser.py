"""The ``eval`` argument parser: flags, their checks and which handler each action calls.

Only wiring: the handlers live in :mod:`~mltutor.commands.evals.show` (list, report) and
:mod:`~mltutor.commands.evals.run` (run, ablate, rescore).
"""

from __future__ import annotations

import argparse
from typing import Any

from mltutor.commands.evals.common import DEFAULT_OUT
from mltutor.commands.evals.run import cmd_ablate, cmd_rescore, cmd_run
from mltutor.commands.evals.show import cmd_list, cmd_report


class _Given(argparse.Action):
    """Stores the value and remembers that the flag was given (for --concurrency on --resume)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, self.dest + "_given", True)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _run_flags(p: argparse.ArgumentParser, *, grid: bool) -> None:
    p.add_argument("suite", nargs="?", help="bundled suite name (see `eval list`) or a .jsonl file")
    if not grid:
        p.add_argument("--solver", help="tutor or raw (qa); tutor, raw or checker (derivation)")
        p.add_argument(
            "--best-of",
            type=_positive,
            default=None,
            metavar="N",
            help="candidates per answer (tutor)",
        )
        p.add_argument(
            "--no-verify", action="store_true", help="turn self-verification off (tutor)"
        )
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (vLLM, Ollama, OpenAI...)")
    p.add_argument("--model", help="model name at --base-url")
    p.add_argument(
        "--judge",
        action="store_true",
        help="let the grader use the judge model too (default: its deterministic layer)",
    )
    p.add_argument("--topics", nargs="+", metavar="TOPIC", help="only these topics")
    p.add_argument("--language", choices=["en", "ru"], help="only cases in this language")
    p.add_argument(
        "--per-topic", type=_positive, metavar="N", help="the first N cases of each topic"
    )
    p.add_argument("--limit", type=_positive, metavar="K", help="K cases drawn with --seed")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit draw (default 0)")
    p.add_argument(
        "--concurrency",
        type=_positive,
        default=1,
        action=_Given,
        metavar="C",
        help="cases at once (default 1; the embedded model always runs 1)",
    )
    p.add_argument(
        "--case-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="stop a case after S seconds and record a timeout (default 600)",
    )
    p.add_argument("--out", metavar="DIR", help=f"where runs go (default ./{DEFAULT_OUT})")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(concurrency_given=False)


def register(sub: Any) -> None:
    """Add ``eval`` to the ``mltutor`` sub-commands."""
    e = sub.add_parser(
        "eval", help="run eval suites: score the tutor, compare runs, ablate compute"
    )
    esub = e.add_subparsers(dest="eval_command", metavar="ACTION", required=True)

    ls = esub.add_parser("list", help="the bundled suites with their case counts")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    run = esub.add_parser("run", help="run and score a suite (progress: cases, mean, ETA)")
    _run_flags(run, grid=False)
    run.add_argument("--resume", metavar="RUN", help="continue a run (its directory or id)")
    run.set_defaults(func=cmd_run)

    rep = esub.add_parser("report", help="report a run; --vs RUN2 for a paired comparison")
    rep.add_argument("run", help="run directory or id (or an ablation directory)")
    rep.add_argument("--vs", metavar="RUN2", help="compare with this run, case by case")
    rep.add_argument("--json", action="store_true", help="print the report as JSON")
    rep.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    rep.add_argument(
        "--out", metavar="DIR", help=f"where to look for run ids (default ./{DEFAULT_OUT})"
    )
    rep.set_defaults(func=cmd_report)

    rs = esub.add_parser(
        "rescore", help="grade a run's (or an ablation's) stored answers again, with today's grader"
    )
    rs.add_argument("run", help="run or ablation directory (or a run id under --out)")
    rs.add_argument(
        "--out", metavar="DIR", help=f"where the new run goes (default ./{DEFAULT_OUT})"
    )
    rs.set_defaults(func=cmd_rescore)

    ab = esub.add_parser("ablate", help="the compute grid: --best-of 1,2,4 --verify on,off")
    _run_flags(ab, grid=True)
    ab.add_argument(
        "--best-of",
        dest="best_of_grid",
        default="1,2",
        metavar="N,N",
        help="best-of values (default 1,2)",
    )
    ab.add_argument(
        "--verify",
        dest="verify_grid",
        default="on,off",
        metavar="on,off",
        help="verification settings (default on,off)",
    )
    ab.add_argument("--raw", action="store_true", help="add the raw model as a baseline cell")
    ab.add_argument(
        "--only",
        metavar="CELL,CELL",
        help="run only these cells now, e.g. raw,bo1-verify (the rest stay for a later --resume)",
    )
    ab.add_argument(
        "--interleave",
        action="store_true",
        help="one case per cell in turn (slow models: every cell has the same cases at any time)",
    )
    ab.add_argument("--resume", metavar="DIR", help="continue an ablation")
    ab.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    ab.set_defaults(func=cmd_ablate, best_of=1, no_verify=False, solver=None)
