"""``eval list`` and ``eval report``: the commands that only read and render (no model, no grading).

A report is of a run, of two runs paired case by case (``--vs``), or of an ablation directory
(recognised by its grid file, looked for as given and then under ``--out``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mltutor.commands.common import EXIT_OK, error, print_json
from mltutor.commands.evals.common import out_dir, stdout_console, write_text


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
    stdout_console().print(table)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from mltutor.evals import render
    from mltutor.evals.ablate import is_ablation, summarize_grid
    from mltutor.evals.errors import EvalError
    from mltutor.evals.reports import compare, report_json, summarize
    from mltutor.evals.rundir import resolve_run

    out = out_dir(args)
    try:
        path = Path(args.run).expanduser()
        if not is_ablation(path) and is_ablation(out / args.run):
            path = out / args.run
        if is_ablation(path):
            ablation = summarize_grid(path)
            if args.markdown:
                write_text(args.markdown, render.ablation_markdown(ablation))
            if args.json:
                print_json(ablation.model_dump(mode="json"))
            else:
                render.print_ablation(ablation, stdout_console())
            return EXIT_OK
        path = resolve_run(args.run, out)
        summary = summarize(path)
        comparison = compare(path, resolve_run(args.vs, out)) if args.vs else None
    except EvalError as exc:
        return error(exc.message)
    if args.markdown:
        write_text(args.markdown, render.markdown(summary, comparison))
    if args.json:
        print_json(report_json(summary, comparison))
    else:
        render.print_summary(summary, stdout_console(), comparison)
    return EXIT_OK
