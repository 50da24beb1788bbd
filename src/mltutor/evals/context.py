"""What a run shares and records at its start: the resources every worker uses, the manifest."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from collections.abc import Callable
from typing import Any

from mltutor import __version__
from mltutor.evals.provenance import git_revision, machine_summary, settings_summary
from mltutor.evals.records import Manifest, ModelInfo, RunConfig, SuiteInfo
from mltutor.evals.scorers import Grader
from mltutor.evals.suites import AnyCase, Suite, cases_hash
from mltutor.settings import Settings


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Resources:
    """What every worker shares: the models, the retriever, the grader (built by
    :func:`mltutor.evals.setup.build_resources`, or injected by tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: Any = None,
        judge: Any = None,
        retriever: Any = None,
        grader: Grader | None = None,
        model_info: ModelInfo | None = None,
        judge_info: ModelInfo | None = None,
        grader_info: dict[str, Any] | None = None,
        closers: list[Callable[[], None]] | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.judge = judge
        self.retriever = retriever
        self.grader = grader
        self.model_info = model_info or ModelInfo(name=getattr(model, "name", "") or "")
        self.judge_info = judge_info
        self.grader_info = grader_info or {}
        self.closers = list(closers or [])

    def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):  # closing must not hide the run's outcome
                closer()
        self.closers.clear()


def make_manifest(
    suite: Suite, cases: list[AnyCase], config: RunConfig, resources: Resources, run_id: str
) -> Manifest:
    """The manifest of a new run."""
    return Manifest(
        run_id=run_id,
        created_at=now(),
        config=config,
        suite=SuiteInfo(
            name=suite.name,
            source=suite.source,
            kind=suite.kind,
            hash=suite.hash,
            cases_total=len(suite.cases),
            selected_hash=cases_hash(cases),
        ),
        case_ids=[c.id for c in cases],
        model=resources.model_info,
        judge=resources.judge_info,
        settings=settings_summary(resources.settings),
        seed=config.selection.seed,
        mltutor_version=__version__,
        git_revision=git_revision(),
        machine=machine_summary(),
        grader=resources.grader_info,
    )


def new_run_id(suite: Suite, config: RunConfig) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    extra = f"-bo{config.best_of}" if config.solver == "tutor" else ""
    extra += "-noverify" if config.solver == "tutor" and not config.verify else ""
    return f"{suite.name}-{config.solver}{extra}-{stamp}-{secrets.token_hex(2)}"


class LockedGrader:
    """The grader behind a lock: workers grade one answer at a time (its caches and the embedder
    are not promised to be thread-safe; grading is CPU-bound, so nothing is lost)."""

    def __init__(self, grader: Any) -> None:
        self.grader = grader
        self._lock = threading.Lock()

    def grade(self, question: str, answer: str, **kwargs: Any) -> Any:
        with self._lock:
            return self.grader.grade(question, answer, **kwargs)

    def check_statements(self, sentences: list[str], evidence: list[str], **kwargs: Any) -> Any:
        with self._lock:
            return self.grader.check_statements(sentences, evidence, **kwargs)

    def __getattr__(self, name: str) -> Any:  # questions, matcher, ... for the tutor's graph
        return getattr(self.grader, name)


__all__ = ["LockedGrader", "Resources", "make_manifest", "new_run_id", "now"]
