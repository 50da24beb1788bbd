"""Reports for people: rich tables in the terminal, Markdown for files, a terminal plot for ablations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mltutor.evals.ablate import AblationSummary
from mltutor.evals.reports import Comparison, RunSummary
from mltutor.evals.scorers import METRICS
from mltutor.evals.stats import Estimate

if TYPE_CHECKING:
    from rich.console import Console


def _percent(kind: str, metric: str) -> bool:
    """Whether a metric (by name or key) is a share shown as a percentage."""
    for k, specs in METRICS.items():
        for spec in specs:
            if (k == kind or not kind) and metric in (spec.name, spec.key):
                return spec.percent
    return metric in ("good", "hit1", "hit3", "correct", "ordering", "verdict_correct")


def fmt(e: Estimate | None, percent: bool = False) -> str:
    """``6.42 [5.80, 7.01]`` (or percentages), ``-`` when there is no value."""
    if e is None or e.mean is None:
        return "-"

    def one(v: float) -> str:
        return f"{100 * v:.1f}%" if percent else (f"{v:.3g}" if abs(v) >= 100 else f"{v:.2f}")

    if e.lo is None or e.hi is None:
        return one(e.mean)
    return f"{one(e.mean)} [{one(e.lo)}, {one(e.hi)}]"


def _signed(e: Estimate, percent: bool) -> str:
    text = fmt(e, percent)
    return text if text.startswith("-") else "+" + text


def headline(s: RunSummary) -> list[str]:
    """Lines describing the run (what it was, how far it got)."""
    m = s.manifest
    c = m.config
    model = m.model.name or "no model"
    if m.model.endpoint:
        model += f" @ {m.model.endpoint}"
    knobs = (
        f"best-of {c.best_of}, verify {'on' if c.verify else 'off'}, "
        if c.solver == "tutor"
        else ""
    )
    lines = [
        f"run {s.run_id}",
        f"suite {m.suite.name} ({m.suite.kind}, hash {m.suite.hash[:12]}) · solver {c.solver} · "
        f"{knobs}grader {m.grader.get('mode', '-')}",
        f"model {model} · mltutor {m.mltutor_version} · git {m.git_revision or '-'}",
        f"cases {s.cases}: {s.scored} scored, {s.errors} errors, {s.pending} not run",
    ]
    if s.error_kinds:
        lines.append("errors by kind: " + ", ".join(f"{k} {n}" for k, n in s.error_kinds.items()))
    if s.unreadable_lines:
        lines.append(f"{s.unreadable_lines} unreadable log line(s) skipped (a write cut short)")
    return lines


def print_summary(s: RunSummary, console: Console, comparison: Comparison | None = None) -> None:
    """The run's report as rich tables."""
    from rich.table import Table

    for line in headline(s):
        console.print(line, highlight=False)
    table = Table(title="metrics (mean [95% bootstrap CI])", title_justify="left")
    table.add_column("metric")
    table.add_column("value")
    table.add_column("n", justify="right")
    table.add_column("meaning")
    for row in s.metrics:
        pct = _percent(s.manifest.suite.kind, row.name)
        better = {"higher": " ↑", "lower": " ↓"}.get(row.better, "")
        table.add_row(f"{row.name}{better}", fmt(row.estimate, pct), str(row.estimate.n), row.label)
    console.print(table)
    pct = _percent(s.manifest.suite.kind, s.primary)
    for dim, rows in s.groups.items():
        t = Table(title=f"{s.primary} by {dim}", title_justify="left")
        t.add_column(dim)
        t.add_column(s.primary)
        t.add_column("n", justify="right")
        t.add_column("errors", justify="right")
        for g in rows:
            t.add_row(g.group, fmt(g.estimate, pct), str(g.estimate.n), str(g.errors or ""))
        console.print(t)
    if s.error_cases:
        t = Table(title="errors (not scored)", title_justify="left")
        t.add_column("case")
        t.add_column("kind")
        t.add_column("message")
        for e in s.error_cases[:30]:
            t.add_row(e.case_id, e.kind, e.message[:120])
        console.print(t)
    if comparison is not None:
        print_comparison(comparison, console, percent=pct)


def print_comparison(c: Comparison, console: Console, *, percent: bool = False) -> None:
    """The paired comparison as a rich table."""
    from rich.table import Table

    if not c.same_suite:
        console.print("[yellow]the runs used different suites: pairing by case id only[/]")
    if c.same_grader is False:
        console.print(
            "[yellow]different grader versions scored the two runs: scores are not comparable; "
            "re-grade both with `mltutor eval rescore`[/]"
        )
    t = Table(title=f"paired comparison vs {c.other_run} ({c.pairs} cases)", title_justify="left")
    t.add_column("")
    t.add_column(c.metric)
    t.add_row("this run", fmt(c.this, percent))
    t.add_row("other run", fmt(c.other, percent))
    t.add_row("difference (this - other)", _signed(c.difference, percent))
    t.add_row("wins / losses / ties", f"{c.wins} / {c.losses} / {c.ties}")
    t.add_row("sign test p (two-sided)", f"{c.sign_p:.3g}")
    if c.seconds is not None:
        t.add_row("seconds per case (difference)", _signed(c.seconds, False))
    console.print(t)
    if c.flips:
        f = Table(title="flipped cases", title_justify="left")
        f.add_column("case")
        f.add_column("this")
        f.add_column("other")
        f.add_column("")
        for flip in c.flips[:40]:
            f.add_row(flip.case_id, _num(flip.this), _num(flip.other), flip.direction)
        console.print(f)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def markdown(s: RunSummary, comparison: Comparison | None = None) -> str:
    """The run's report as Markdown."""
    kind = s.manifest.suite.kind
    out = [f"# Eval report: {s.run_id}", ""]
    out += [f"- {line}" for line in headline(s)] + [""]
    out += ["## Metrics (mean [95% bootstrap CI])", "", "| metric | value | n | meaning |"]
    out += ["|---|---|---:|---|"]
    for row in s.metrics:
        pct = _percent(kind, row.name)
        out.append(f"| {row.name} | {fmt(row.estimate, pct)} | {row.estimate.n} | {row.label} |")
    pct = _percent(kind, s.primary)
    for dim, rows in s.groups.items():
        out += ["", f"## {s.primary} by {dim}", "", f"| {dim} | {s.primary} | n | errors |"]
        out += ["|---|---|---:|---:|"]
        out += [
            f"| {g.group} | {fmt(g.estimate, pct)} | {g.estimate.n} | {g.errors} |" for g in rows
        ]
    if s.error_cases:
        out += ["", "## Errors (not scored)", "", "| case | kind | message |", "|---|---|---|"]
        out += [f"| {e.case_id} | {e.kind} | {e.message[:160]} |" for e in s.error_cases]
    if comparison is not None:
        c = comparison
        out += ["", f"## Paired comparison vs `{c.other_run}` ({c.pairs} cases)", ""]
        if not c.same_suite:
            out += ["*The runs used different suites: pairing by case id only.*", ""]
        if c.same_grader is False:
            out += [
                "*Different grader versions scored the two runs: re-grade both with "
                "`mltutor eval rescore` before reading the difference.*",
                "",
            ]
        out += [f"| | {c.metric} |", "|---|---|"]
        out += [
            f"| this run | {fmt(c.this, pct)} |",
            f"| other run | {fmt(c.other, pct)} |",
            f"| difference (this - other) | {_signed(c.difference, pct)} |",
            f"| wins / losses / ties | {c.wins} / {c.losses} / {c.ties} |",
            f"| sign test p (two-sided) | {c.sign_p:.3g} |",
        ]
        moved = [p for p in c.cases if p.difference != 0]
        if moved:
            out += [
                "",
                "### Largest per-case differences",
                "",
                "| case | this | other | difference |",
            ]
            out += ["|---|---:|---:|---:|"]
            out += [
                f"| {p.case_id} | {p.this:.2f} | {p.other:.2f} | {p.difference:+.2f} |"
                for p in moved[:20]
            ]
        if c.flips:
            out += ["", "### Flipped cases", "", "| case | this | other | |", "|---|---|---|---|"]
            out += [
                f"| {f.case_id} | {_num(f.this)} | {_num(f.other)} | {f.direction} |"
                for f in c.flips
            ]
    return "\n".join(out) + "\n"


def _ablation_rows(a: AblationSummary) -> list[list[str]]:
    pct = _percent("", a.metric)
    rows = []
    for c in a.cells:
        mark = []
        if c.cell == a.best:
            mark.append("best")
        if c.cell == a.cheapest_within_ci:
            mark.append("cheapest within CI of best")
        rows.append(
            [
                c.cell,
                fmt(c.score, pct),
                fmt(c.seconds),
                fmt(c.tokens),
                str(c.scored),
                str(c.errors),
                ", ".join(mark),
            ]
        )
    return rows


_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
"""Colour codes plotext writes even with the plain theme (they would litter Markdown)."""

ABLATION_COLUMNS = ["cell", "score", "seconds/answer", "tokens/answer", "n", "errors", ""]


def plot(a: AblationSummary, width: int = 72, height: int = 18, *, cost: str = "seconds") -> str:
    """Score against seconds (or tokens) per answer, one labelled point per cell (plotext; plain
    text when plotext is not installed)."""
    points = [
        (c.cell, getattr(c, cost).mean, c.score.mean)
        for c in a.cells
        if getattr(c, cost).mean is not None and c.score.mean is not None
    ]
    if not points:
        return ""
    try:
        import plotext as plt
    except ImportError:  # plotext is optional: a table of the points instead
        return "\n".join(f"{name:>16}  {x:10.2f} {cost}  {y:6.2f}" for name, x, y in points)
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("clear")
    for name, x, y in points:
        plt.scatter([x], [y], label=name, marker="dot")
        plt.text(name, x, y)
    plt.xlabel(f"{cost} per answer")
    plt.ylabel(a.metric)
    plt.title(f"{a.metric} vs {cost} per answer")
    return _ANSI_RE.sub("", str(plt.build()))


def print_ablation(a: AblationSummary, console: Console) -> None:
    """The ablation table and plot."""
    from rich.table import Table

    t = Table(title=f"ablation {a.path} (suite {a.suite})", title_justify="left")
    for col in ABLATION_COLUMNS:
        t.add_column(col)
    for row in _ablation_rows(a):
        t.add_row(*row)
    console.print(t)
    for cost in ("seconds", "tokens"):
        drawing = plot(a, cost=cost)
        if drawing:
            console.print(drawing, markup=False, highlight=False)
    for note in a.notes:
        console.print(f"note: {note}", highlight=False)


def ablation_markdown(a: AblationSummary) -> str:
    """The ablation as Markdown (the plot as a code block)."""
    out = [f"# Ablation: {a.suite}", "", f"Directory `{a.path}`.", ""]
    out.append("| " + " | ".join(ABLATION_COLUMNS) + " |")
    out.append("|" + "---|" * len(ABLATION_COLUMNS))
    out += ["| " + " | ".join(r) + " |" for r in _ablation_rows(a)]
    for cost in ("seconds", "tokens"):
        drawing = plot(a, cost=cost)
        if drawing:
            out += ["", "```", drawing, "```"]
    out += [""] + [f"- {n}" for n in a.notes]
    return "\n".join(out) + "\n"


__all__ = [
    "ablation_markdown",
    "fmt",
    "headline",
    "markdown",
    "plot",
    "print_ablation",
    "print_comparison",
    "print_summary",
]
