"""``eval run``, ``eval ablate`` and ``eval rescore``: the commands that answer or grade cases.

A suite or flag error is exit 2. ``run`` and ``ablate`` also end the same way when stopped (SIGINT
or SIGTERM: exit 130 with the command that resumes them) or when the model or the knowledge base
fails (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mltutor.commands.common import EXIT_OK, EXIT_WRONG, error, print_json
from mltutor.commands.evals.common import (
    agent_errors,
    out_dir,
    settings_of,
    stdout_console,
    write_text,
)


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
        print_summary(summary, stdout_console())
    print(f"run directory: {path}  (report: mltutor eval report {path})", file=sys.stderr)
    return EXIT_WRONG if summary.errors else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from mltutor.evals import launch
    from mltutor.evals.bundled import load_suite
    from mltutor.evals.errors import EvalError
    from mltutor.evals.progress import ProgressView, sigterm_stops
    from mltutor.evals.rundir import resolve_run

    settings = settings_of(args)
    out = out_dir(args)
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
    except agent_errors() as exc:
        return error(getattr(exc, "message", str(exc)), EXIT_WRONG)


def cmd_ablate(args: argparse.Namespace) -> int:
    from mltutor.evals import render
    from mltutor.evals.ablate import parse_grid, read_grid, run_grid, summarize_grid
    from mltutor.evals.bundled import load_suite
    from mltutor.evals.errors import EvalError
    from mltutor.evals.progress import ProgressView, sigterm_stops

    settings = settings_of(args)
    out = out_dir(args)
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
    except agent_errors() as exc:
        return error(getattr(exc, "message", str(exc)), EXIT_WRONG)
    if args.markdown:
        write_text(args.markdown, render.ablation_markdown(ablation))
    if args.json:
        print(json.dumps(ablation.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        render.print_ablation(ablation, stdout_console())
    return EXIT_OK


# -- rescore --------------------------------------------------------------------------------------


def cmd_rescore(args: argparse.Namespace) -> int:
    from mltutor.evals.errors import EvalError
    from mltutor.evals.rescore import rescore_path

    out = out_dir(args)
    source = Path(args.run).expanduser()
    if not source.exists() and (out / args.run).exists():
        source = out / args.run
    try:
        target = rescore_path(source, out, settings_of(args))
    except EvalError as exc:
        return error(exc.message)
    print(f"re-graded: {target}  (report: mltutor eval report {target})", file=sys.stderr)
    print(target)
    return EXIT_OK
