"""Starting and resuming runs: connect what a run needs, write its manifest, hand over to the runner.

Models, the retriever and the grader are built only when the run needs them (a derivation suite
with the checker needs none of them). Tests inject fakes through :class:`Injected`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltutor.evals.bundled import load_suite
from mltutor.evals.context import LockedGrader, Resources, make_manifest, new_run_id
from mltutor.evals.errors import RunError
from mltutor.evals.records import Manifest, ModelInfo, RunConfig
from mltutor.evals.rundir import RunDir
from mltutor.evals.runner import Outcome, Progress, execute
from mltutor.evals.solvers import MODEL_SOLVERS, SOLVERS
from mltutor.evals.suites import Suite, select
from mltutor.settings import Settings

Report = Callable[[str], None]

RESUME_SETTINGS = (
    "base_url",
    "model",
    "judge_model",
    "max_revisions",
    "language",
    "request_timeout_s",
    "max_retries",
    "best_of_concurrency",
    "best_of_time_budget_s",
    "best_of_token_budget",
    "notes_lead",
    "verify_prose",
)
"""Settings a resumed run takes from its manifest, so it continues exactly as it started."""


@dataclass
class Injected:
    """Stand-ins for tests: a chat model, a judge model, a retriever, a grader."""

    model: Any = None
    judge: Any = None
    retriever: Any = None
    grader: Any = None


def check_solver(suite: Suite, solver: str | None) -> str:
    """The solver to use for ``suite`` (the kind's default when None); RunError if it does not apply."""
    allowed = SOLVERS[suite.kind]
    if solver is None:
        return allowed[0]
    if solver not in allowed:
        raise RunError(
            f"solver {solver!r} does not apply to {suite.kind} suites; use one of: "
            + ", ".join(allowed)
        )
    return solver


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    lock = threading.Lock()

    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return call


def build_resources(
    settings: Settings, config: RunConfig, suite: Suite, injected: Injected, report: Report
) -> Resources:
    """Connect the models, open the notes index and build the grader, as far as the run needs."""
    closers: list[Callable[[], None]] = []
    model, judge = injected.model, injected.judge
    model_info: ModelInfo | None = None
    needs_model = config.solver in MODEL_SOLVERS or config.judge
    try:
        if needs_model and model is None:
            from mltutor.agent.llm import connect_models

            connected = connect_models(settings, lambda msg, frac: report(msg))
            closers.append(connected.close or (lambda: None))
            model, judge = connected.tutor, judge or connected.judge
            status = connected.status
            if not status.ready:
                raise RunError(status.detail or "the model endpoint is not ready")
            model_info = ModelInfo(
                name=status.model, endpoint=status.endpoint, embedded=status.embedded
            )
        elif model is not None:
            model_info = ModelInfo(name=model.name, endpoint="injected")
        retriever = injected.retriever
        if retriever is None and config.solver in ("tutor", "retriever"):
            from mltutor.agent.adapters import notes_retriever

            report("opening the notes index…")
            retriever = _locked(
                notes_retriever(settings.data_dir, settings.chroma_url, lambda m, f: report(m))
            )
        grader = injected.grader
        fingerprint = None
        judge_info = None
        if config.judge:
            judge = judge or model
            judge_info = ModelInfo(name=getattr(judge, "name", ""))
        if grader is None and suite.kind in ("qa", "grading"):
            from mltutor.agent.grading import create_grader
            from mltutor.evals.provenance import grader_fingerprint

            fingerprint = grader_fingerprint()

            grader = LockedGrader(
                create_grader(
                    settings,
                    judge=judge if config.judge else None,
                    progress=lambda msg: report(str(msg)),
                )
            )
        grader_info = (
            {
                "mode": "judge" if config.judge else "deterministic",
                "judge_model": judge_info.name if judge_info else None,
                "implementation": type(getattr(grader, "grader", grader)).__name__,
                "fingerprint": fingerprint,
            }
            if grader is not None
            else {}
        )
    except BaseException:
        for closer in closers:
            closer()
        raise
    if config.solver not in MODEL_SOLVERS and not config.judge:
        model_info = ModelInfo()
    return Resources(
        settings,
        model=model,
        judge=judge,
        retriever=retriever,
        grader=grader,
        model_info=model_info,
        judge_info=judge_info,
        grader_info=grader_info,
        closers=closers,
    )


def start(
    suite: Suite,
    config: RunConfig,
    settings: Settings,
    out_root: Path,
    *,
    injected: Injected | None = None,
    resources: Resources | None = None,
    report: Report = lambda msg: None,
    on_progress: Callable[[Progress], None] | None = None,
    run_dir: Path | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """A new run of ``suite``: select the cases, write the manifest, run.

    ``resources`` (shared by the cells of an ablation) are used as given and left open.
    """
    cases = select(suite.cases, config.selection)
    own = resources is None
    res = resources or build_resources(settings, config, suite, injected or Injected(), report)
    try:
        path = run_dir or out_root / new_run_id(suite, config)
        run = RunDir.create(path, make_manifest(suite, cases, config, res, path.name))
        report(f"run directory: {run.path}")
        return execute(run, suite, res, on_progress=on_progress, stop=stop)
    finally:
        if own:
            res.close()


def resume_settings(manifest: Manifest, settings: Settings) -> Settings:
    """``settings`` with the model and run settings the manifest recorded."""
    recorded = {k: manifest.settings[k] for k in RESUME_SETTINGS if k in manifest.settings}
    return settings.model_copy(update=recorded)


def resume(
    path: Path,
    settings: Settings,
    *,
    concurrency: int | None = None,
    injected: Injected | None = None,
    resources: Resources | None = None,
    report: Report = lambda msg: None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Continue a run: the same suite (checked by hash), settings and model; only unfinished cases."""
    run = RunDir.open(path)
    manifest = run.manifest()
    suite = load_suite(manifest.suite.source.removeprefix("bundled:"))
    if suite.hash != manifest.suite.hash:
        raise RunError(
            f"the suite {manifest.suite.source} changed since the run started (its cases hash to "
            f"{suite.hash[:12]}, the run recorded {manifest.suite.hash[:12]}); start a new run"
        )
    settings = resume_settings(manifest, settings)
    own = resources is None
    res = resources or build_resources(
        settings, manifest.config, suite, injected or Injected(), report
    )
    try:
        if manifest.model.name and res.model_info.name not in ("", manifest.model.name):
            raise RunError(
                f"the run used model {manifest.model.name!r} but {res.model_info.name!r} "
                "answers now; resume with the same model (or start a new run)"
            )
        report(f"resuming {run.path}")
        return execute(run, suite, res, concurrency=concurrency, on_progress=on_progress, stop=stop)
    finally:
        if own:
            res.close()


__all__ = ["RESUME_SETTINGS", "Injected", "build_resources", "check_solver", "resume", "start"]
