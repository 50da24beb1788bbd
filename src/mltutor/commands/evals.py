"""``mltutor eval``: list the bundled suites, run and score one, report a run (or two, paired), ablate.

Exit codes: 0 done; 1 done but some cases ended in an error (they are recorded and reported, not
scored); 2 bad input (a suite line, a flag, a missing run); 130 interrupted (resume with --resume).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mltutor.commands.common import EXIT_OK, EXIT_WRONG, error, print_json

DEFAULT_OUT = Path("eval-runs")
"""Where runs go unless ``--out`` says otherwise (relative to the current directory)."""


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _stdout_console() -> Any:
    from rich.console import Console

    return Console()


# -- list ------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from mltutor.evals.bundled import suite_rows

    rows = suite_rows(lambda msg: print(f"mltutor: warning: {msg}", file=sys.stderr))
    if args.json:
        print_json(rows)
        return EXIT_OK
    from rich.table import Table

    table = Table(
        title="bundled suites (run one with: mltutor eval run NAME)", title_justify="left"
    )
    for col in ("suite", "kind", "cases", "languages", "what it measures"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["kind"],
            "-" if r["cases"] is None else str(r["cases"]),
            ",".join(r["languages"]),
            r["description"],
        )
    _stdout_console().print(table)
    return EXIT_OK


# -- run ------------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Any:
    from mltutor.settings import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "base_url", None):
        overrides["base_url"] = args.base_url
    if getattr(args, "model", None):
        overrides["model"] = args.model
    return load_settings(**overrides)


def _config(args: argparse.Namespace, suite: Any, solver: str) -> Any:
    from mltutor.evals.records import RunConfig
    from mltutor.evals.suites import Selection

    topics = [t for item in args.topics or [] for t in item.split(",") if t]
    return RunConfig(
        suite=args.suite,
        solver=solver,
        best_of=args.best_of or 1,
        verify=not args.no_verify,
        judge=args.judge,
        selection=Selection(
            topics=topics,
            language=args.language,
            per_topic=args.per_topic,
            limit=args.limit,
            seed=args.seed,
        ),
        concurrency=args.concurrency,
        case_timeout_s=args.case_timeout,
    )


def _finish(outcome: Any, args: argparse.Namespace) -> int:
    from mltutor.evals.render import print_summary
    from mltutor.evals.reports import summarize

    path = Path(outcome.run_dir)
    if outcome.interrupted:
        print(
            f"\ninterrupted: {outcome.remaining} case(s) left; every finished case is saved. "
            f"Continue with: mltutor eval run --resume {path}",
            file=sys.stderr,
        )
        return 130
    summary = summarize(path)
    if args.json:
        from mltutor.evals.reports import report_json

        print_json(report_json(summary))
    elif not args.quiet:
        print_summary(summary, _stdout_console())
    print(f"run directory: {path}  (report: mltutor eval report {path})", file=sys.stderr)
    return EXIT_WRONG if summary.errors else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from mltutor.evals import launch
    from mltutor.evals.bundled import load_suite
    from mltutor.evals.errors import EvalError
    from mltutor.evals.progress import ProgressView, sigterm_stops
    from mltutor.evals.rundir import resolve_run

    settings = _settings(args)
    out = Path(args.out) if args.out else DEFAULT_OUT
    try:
        if args.resume:
            if args.suite:
                return error(
                    "--resume continues a run with its own suite and flags (from its manifest); "
                    "give only --resume RUN (and --concurrency to change it)"
                )
            path = resolve_run(args.resume, out)
            with sigterm_stops(), ProgressView(path.name, args.quiet) as view:
                outcome = launch.resume(
                    path,
                    settings,
                    concurrency=args.concurrency if args.concurrency_given else None,
                    report=lambda m: print(m, file=sys.stderr) if not args.quiet else None,
                    on_progress=view.update,
                )
            return _finish(outcome, args)
        if not args.suite:
            return error("give a suite (a bundled name or a .jsonl file), or --resume RUN")
        suite = load_suite(args.suite)
        solver = launch.check_solver(suite, args.solver)
        config = _config(args, suite, solver)
        with sigterm_stops(), ProgressView(f"{suite.name}/{solver}", args.quiet) as view:
            outcome = launch.start(
                suite,
                config,
                settings,
                out,
                report=lambda m: print(m, file=sys.stderr) if not args.quiet else None,
                on_progress=view.update,
            )
        return _finish(outcome, args)
    except EvalError as exc:
        return error(exc.message)
    except _agent_errors() as exc:
        return error(getattr(exc, "message", str(exc)), EXIT_WRONG)


def _agent_errors() -> tuple[type[BaseException], ...]:
    from mltutor.agent.errors import AgentError
    from mltutor.knowledge.errors import KnowledgeError

    return (AgentError, KnowledgeError)


# -- report ---------------------------------------------------------------------------------------


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    from mltutor.evals import render
    from mltutor.evals.ablate import is_ablation, summarize_grid
    from mltutor.evals.errors import EvalError
    from mltutor.evals.reports import compare, report_json, summarize
    from mltutor.evals.rundir import resolve_run

    out = Path(args.out) if args.out else DEFAULT_OUT
    try:
        path = Path(args.run).expanduser()
        if not is_ablation(path) and is_ablation(out / args.run):
            path = out / args.run
        if is_ablation(path):
            ablation = summarize_grid(path)
            if args.markdown:
                _write(args.markdown, render.ablation_markdown(ablation))
            if args.json:
                print_json(ablation.model_dump(mode="json"))
            else:
                render.print_ablation(ablation, _stdout_console())
            return EXIT_OK
        path = resolve_run(args.run, out)
        summary = summarize(path)
        comparison = compare(path, resolve_run(args.vs, out)) if args.vs else None
    except EvalError as exc:
        return error(exc.message)
    if args.markdown:
        _write(args.markdown, render.markdown(summary, comparison))
    if args.json:
        print_json(report_json(summary, comparison))
    else:
        render.print_summary(summary, _stdout_console(), comparison)
    return EXIT_OK


# -- ablate ---------------------------------------------------------------------------------------


def cmd_ablate(args: argparse.Namespace) -> int:
    from mltutor.evals import render
    from mltutor.evals.ablate import parse_grid, read_grid, run_grid, summarize_grid
    from mltutor.evals.bundled import load_suite
    from mltutor.evals.errors import EvalError
    from mltutor.evals.progress import ProgressView, sigterm_stops

    settings = _settings(args)
    out = Path(args.out) if args.out else DEFAULT_OUT
    try:
        resume_dir = Path(args.resume) if args.resume else None
        if resume_dir is not None:
            grid = read_grid(resume_dir)
            suite = load_suite(grid.base.suite)
            cells, config = grid.cells, grid.base
        else:
            if not args.suite:
                return error("give a suite (a bundled name or a .jsonl file), or --resume DIR")
            suite = load_suite(args.suite)
            if suite.kind != "qa":
                return error(
                    f"ablations compare answers to questions: {args.suite} is a {suite.kind} suite"
                )
            cells = parse_grid(args.best_of_grid, args.verify_grid, raw=args.raw)
            config = _config(args, suite, "tutor")
        view = ProgressView(suite.name, args.quiet)
        with sigterm_stops(), view:
            path, outcomes = run_grid(
                suite,
                cells,
                config,
                settings,
                out,
                resume_dir=resume_dir,
                report=lambda m: print(m, file=sys.stderr) if not args.quiet else None,
                on_progress=lambda name, p: view.update(p, label=name),
                interleave=args.interleave,
                only=[c for c in (args.only or "").split(",") if c] or None,
            )
        if any(o.interrupted for o in outcomes):
            print(
                f"\ninterrupted; continue with: mltutor eval ablate --resume {path}",
                file=sys.stderr,
            )
            return 130
        ablation = summarize_grid(path)
    except EvalError as exc:
        return error(exc.message)
    except _agent_errors() as exc:
        return error(getattr(exc, "message", str(exc)), EXIT_WRONG)
    if args.markdown:
        _write(args.markdown, render.ablation_markdown(ablation))
    if args.json:
        print(json.dumps(ablation.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        render.print_ablation(ablation, _stdout_console())
    return EXIT_OK


# -- rescore --------------------------------------------------------------------------------------


def cmd_rescore(args: argparse.Namespace) -> int:
    from mltutor.evals.errors import EvalError
    from mltutor.evals.rescore import rescore_path

    out = Path(args.out) if args.out else DEFAULT_OUT
    source = Path(args.run).expanduser()
    if not source.exists() and (out / args.run).exists():
        source = out / args.run
    try:
        target = rescore_path(source, out, _settings(args))
    except EvalError as exc:
        return error(exc.message)
    print(f"re-graded: {target}  (report: mltutor eval report {target})", file=sys.stderr)
    print(target)
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------------------


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


__all__ = ["DEFAULT_OUT", "register"]
