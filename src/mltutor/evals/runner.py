"""The runner: answers and scores a suite's cases with bounded concurrency, one durable record each.

- At most ``concurrency`` cases run at once (one for the embedded model, which serves one request at
  a time); each worker thread has its own solver.
- Each finished case is appended to the run's ``cases.jsonl`` and flushed before it counts as done
  (:class:`~mltutor.evals.rundir.RunDir`). A resumed run skips every case that already has a scored
  record and runs the others (never-run, interrupted, or errored last time).
- A case that fails (provider error, timeout after ``case_timeout_s``, a bug) is recorded as an error
  with its kind and message; the run goes on.
- Ctrl-C stops the cases in flight; they are not recorded, so ``--resume`` runs them again.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mltutor.evals.context import Resources, now
from mltutor.evals.errors import RunError
from mltutor.evals.records import CaseError, CaseRecord, RunConfig
from mltutor.evals.rundir import RunDir
from mltutor.evals.scorers import (
    PRIMARY,
    score_derivation,
    score_grading,
    score_qa,
    score_retrieval,
)
from mltutor.evals.solvers import (
    CaseFailed,
    CheckerSolver,
    RawSolver,
    RetrieverSolver,
    Solver,
    TutorSolver,
)
from mltutor.evals.suites import (
    AnyCase,
    DerivationCase,
    GradingCase,
    QACase,
    RetrievalCase,
    Suite,
)

MAX_ANSWER_CHARS = 20_000
"""Longest answer kept in a case record."""


class Progress(BaseModel):
    """Where a run stands, after each finished case."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    done: int
    """Cases with a record (this session and earlier ones)."""
    total: int
    """Cases in the run."""
    errors: int
    """Cases whose record is an error."""
    mean: float | None
    """Mean primary metric over the scored cases so far."""
    metric: str
    """Name of the primary metric."""
    started: int
    """Cases already done when this session started (for the rate and ETA)."""


class Outcome(BaseModel):
    """How a session of a run ended."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    run_dir: str
    """The run directory."""
    ran: int
    """Cases run in this session."""
    errors: int
    """Of them, errors."""
    interrupted: bool
    """Stopped by Ctrl-C (or a stop request) before every case ran."""
    remaining: int
    """Cases still without a scored record."""


class _Watch:
    """Per-case cancel events: set at the case's deadline, or for all cases on stop."""

    def __init__(self, stop: threading.Event, timeout_s: float) -> None:
        self.stop, self.timeout_s = stop, timeout_s
        self._lock = threading.Lock()
        self._events: dict[int, tuple[threading.Event, float]] = {}
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._done = threading.Event()
        self._thread.start()

    def begin(self) -> tuple[threading.Event, Callable[[], bool]]:
        event = threading.Event()
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            self._events[id(event)] = (event, deadline)
        return event, lambda: time.monotonic() >= deadline

    def end(self, event: threading.Event) -> None:
        with self._lock:
            self._events.pop(id(event), None)

    def _loop(self) -> None:
        while not self._done.wait(0.1):
            t = time.monotonic()
            with self._lock:
                items = list(self._events.values())
            for event, deadline in items:
                if self.stop.is_set() or t >= deadline:
                    event.set()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)


def _make_solver(config: RunConfig, resources: Resources, scratch: Path) -> Solver:
    if config.solver == "tutor":
        return TutorSolver(
            resources.settings,
            resources.model,
            resources.retriever,
            config,
            scratch,
            grader=resources.grader,
        )
    if config.solver == "raw":
        return RawSolver(resources.model)
    if config.solver == "checker":
        return CheckerSolver(resources.settings)
    if config.solver == "retriever":
        return RetrieverSolver(resources.retriever)
    raise RunError(f"unknown solver {config.solver!r}")


def _grading_failed(exc: Exception) -> CaseFailed:
    """A grader failure (no rubric, a bug) as a case error; its message is for the user."""
    from mltutor.agent.errors import GradingError

    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    kind = "no_rubric" if type(exc).__name__ == "NoRubricError" else "grader"
    if not isinstance(exc, GradingError):
        message = f"{type(exc).__name__}: {exc}"
    return CaseFailed(CaseError(kind=kind, message=f"grading failed: {message}"))


def _score(
    case: AnyCase, config: RunConfig, resources: Resources, solver: Solver | None, cancel: Any
) -> tuple[dict[str, float | None], dict[str, Any], str]:
    """Answer and score one case: (metrics, details, answer)."""
    if isinstance(case, GradingCase):
        assert resources.grader is not None
        try:
            metrics, details, _ = score_grading(case, resources.grader)
        except Exception as exc:
            raise _grading_failed(exc) from exc
        return metrics, details, ""
    assert solver is not None
    solution = solver.solve(case, cancel)
    if isinstance(case, QACase):
        assert resources.grader is not None
        try:
            metrics, details = score_qa(case, solution, resources.grader, resources.settings.tools)
        except Exception as exc:
            raise _grading_failed(exc) from exc
    elif isinstance(case, DerivationCase):
        metrics, details = score_derivation(case, solution)
    elif isinstance(case, RetrievalCase):
        metrics, details = score_retrieval(case, solution)
    else:  # pragma: no cover - every kind is handled above
        raise RunError(f"case {case.id}: unknown kind")
    return metrics, details, solution.answer[:MAX_ANSWER_CHARS]


def execute(
    run: RunDir,
    suite: Suite,
    resources: Resources,
    *,
    concurrency: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Run every case of ``run`` that has no scored record yet; returns how the session ended.

    ``stop`` (set from another thread, or by Ctrl-C in this one) ends the session early: the cases in
    flight are cancelled and not recorded.
    """
    manifest = run.manifest()
    config = manifest.config
    by_id = suite.by_id()
    missing = [cid for cid in manifest.case_ids if cid not in by_id]
    if missing:
        raise RunError(f"the suite has no case {missing[0]!r} the run expects; was it edited?")
    run.heal()
    latest = run.latest()
    todo = [cid for cid in manifest.case_ids if getattr(latest.get(cid), "status", "") != "ok"]
    total = len(manifest.case_ids)
    width = max(1, concurrency or config.concurrency)
    if resources.model_info.embedded or suite.kind in ("retrieval", "grading"):
        width = 1  # the embedded model serves one request at a time; the others are local
    primary = PRIMARY[suite.kind]
    state_lock = threading.Lock()
    done_ok = {cid: r for cid, r in latest.items() if r.status == "ok"}
    errors_now: set[str] = {cid for cid, r in latest.items() if r.status == "error"}
    started = len(done_ok)
    ran = ran_errors = 0
    stop = stop or threading.Event()
    watch = _Watch(stop, config.case_timeout_s)
    local = threading.local()
    solvers: list[Solver] = []
    scratch = tempfile.TemporaryDirectory(prefix="mltutor-eval-")

    def solver_for_thread() -> Solver | None:
        if suite.kind == "grading":
            return None
        solver: Solver | None = getattr(local, "solver", None)
        if solver is None:
            path = Path(scratch.name) / f"worker-{len(solvers)}"
            solver = _make_solver(config, resources, path)
            local.solver = solver
            with state_lock:
                solvers.append(solver)
        return solver

    def report() -> None:
        if on_progress is None:
            return
        values = [r.metrics.get(primary) for r in done_ok.values()]
        scored = [v for v in values if v is not None]
        on_progress(
            Progress(
                done=len(done_ok) + len(errors_now - set(done_ok)),
                total=total,
                errors=len(errors_now - set(done_ok)),
                mean=sum(scored) / len(scored) if scored else None,
                metric=primary,
                started=started,
            )
        )

    def one(cid: str) -> None:
        nonlocal ran, ran_errors
        case = by_id[cid]
        cancel, overdue = watch.begin()
        start = time.perf_counter()
        record: CaseRecord | None
        base = {
            "case_id": cid,
            "kind": case.kind,
            "topic": case.topic,
            "language": case.language,
            "difficulty": case.difficulty_label,
        }
        try:
            metrics, details, answer = _score(case, config, resources, solver_for_thread(), cancel)
            record = CaseRecord(
                **base,
                status="ok",
                metrics=metrics,
                details=details,
                answer=answer,
                seconds=round(time.perf_counter() - start, 3),
                finished_at=now(),
            )
        except CaseFailed as exc:
            error = exc.error
            if error.kind == "cancelled":
                if stop.is_set() and not overdue():
                    record = None  # interrupted: not recorded, --resume runs it again
                else:
                    error = CaseError(
                        kind="timeout",
                        message=f"no answer within {config.case_timeout_s:g} s (--case-timeout)",
                        retryable=True,
                    )
                    record = _error_record(base, error, start)
            else:
                record = _error_record(base, error, start)
        except RunError:
            raise
        except Exception as exc:  # a bug in one case must not end the run
            error = CaseError(kind="internal", message=f"{type(exc).__name__}: {exc}")
            record = _error_record(base, error, start)
            trace = traceback.format_exception(exc)
            record.details["traceback"] = "".join(trace[-6:])[-4000:]
        finally:
            watch.end(cancel)
        if record is None or (
            stop.is_set() and record.status == "error" and not _timed_out(record)
        ):
            return
        run.append(record)
        with state_lock:
            ran += 1
            if record.status == "ok":
                done_ok[cid] = record
                errors_now.discard(cid)
            else:
                ran_errors += 1
                errors_now.add(cid)
            report()

    interrupted = False
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="eval")
    try:
        report()
        queue = iter(todo)
        running: set[Future[None]] = set()
        while True:
            while len(running) < width and not stop.is_set():
                cid = next(queue, None)
                if cid is None:
                    break
                running.add(pool.submit(one, cid))
            if not running:
                break
            finished, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # a RunError (disk) ends the run
        interrupted = stop.is_set()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    finally:
        stop_now = interrupted
        if stop_now:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        watch.close()
        for solver in solvers:
            with contextlib.suppress(Exception):
                solver.close()
        scratch.cleanup()
    remaining = sum(1 for cid in manifest.case_ids if cid not in done_ok)
    return Outcome(
        run_dir=str(run.path),
        ran=ran,
        errors=ran_errors,
        interrupted=interrupted and remaining > 0,
        remaining=remaining,
    )


def _timed_out(record: CaseRecord) -> bool:
    return record.error is not None and record.error.kind == "timeout"


def _error_record(base: dict[str, Any], error: CaseError, start: float) -> CaseRecord:
    return CaseRecord(
        **base,
        status="error",
        error=error,
        seconds=round(time.perf_counter() - start, 3),
        finished_at=now(),
    )


__all__ = ["Outcome", "Progress", "execute"]
