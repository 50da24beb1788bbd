"""The tutor service's lifecycle, off the UI thread: create, start, restart, close.

Creating the service imports LangGraph, Chroma and the model runtime, and starting it may assemble
the embedded model and build the index (minutes on a first run), so both happen in a daemon thread
that reports back with :class:`ServiceEvent` messages. Closing (which stops the model server) also
runs in a thread: the UI never waits for it, and the process exit is bounded separately
(:mod:`mltutor.tui.shutdown`). Once closing has begun nothing starts a service again.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.message import Message

from mltutor.tui.runs import post_safely
from mltutor.tui.state import ServiceView

if TYPE_CHECKING:
    from textual.app import App

    from mltutor.agent.service import ServiceStatus, TutorService
    from mltutor.settings import Settings

ServiceFactory = Callable[["Settings"], "TutorService"]
"""Builds the service from settings; called in a worker thread (it may import slow modules)."""

FACTORY_ENV = "MLTUTOR_TUI_SERVICE_FACTORY"
"""``module:callable`` to use instead of the real service (benchmarks, end-to-end tests)."""


def default_service_factory(settings: Settings) -> TutorService:
    """The real tutor (imported here, lazily, so start-up does not pay for it)."""
    spec = os.environ.get(FACTORY_ENV)
    if spec:
        import importlib

        module, _, name = spec.partition(":")
        factory: ServiceFactory = getattr(importlib.import_module(module), name)
        return factory(settings)
    from mltutor.agent import create_service

    return cast("TutorService", create_service(settings))


class ServiceEvent(Message):
    """Lifecycle news from the service thread: created, progress, started, degraded, unavailable."""

    def __init__(self, epoch: int, kind: str, **data: Any) -> None:
        super().__init__()
        self.epoch, self.kind, self.data = epoch, kind, data


class ServiceHost:
    """Creates, starts and closes services for one app; every service it made is closed once."""

    def __init__(self, app: App[Any], factory: ServiceFactory | None = None) -> None:
        self._app = app
        self._factory = factory or default_service_factory
        self.epoch = 0
        """Increases with every start; events of an older start are stale."""
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = False
        self._open: list[TutorService] = []
        self._closer: threading.Thread | None = None

    @property
    def closing(self) -> bool:
        """Whether the app is shutting down (no service is started any more)."""
        return self._closing

    @property
    def starting(self) -> bool:
        """Whether the thread creating or starting a service is still running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, settings: Settings, old: TutorService | None) -> bool:
        """Close ``old`` and create and start a new service in a daemon thread.

        False (and nothing started) once closing has begun.
        """
        with self._lock:
            if self._closing:
                return False
            self.epoch += 1
            epoch = self.epoch
        factory = self._factory

        def post(kind: str, **data: Any) -> None:
            post_safely(self._app, ServiceEvent(epoch, kind, **data))

        def work() -> None:
            if old is not None:
                self.forget(old)
                with contextlib.suppress(Exception):
                    old.close()
            try:
                service = factory(settings)
            except BaseException as exc:  # ImportError included: the agent may not be installed
                post("unavailable", reason=describe(exc))
                return
            with self._lock:  # registered here, not on the UI thread: the app may already be
                closing = self._closing  # gone, and then nobody else would close it
                if not closing:
                    self._open.append(service)
            if closing:
                with contextlib.suppress(Exception):
                    service.close()
                return
            post("created", service=service)
            try:
                service.start(
                    progress=lambda message, done: post("progress", message=message, fraction=done)
                )
                status = service.status()
            except Exception as exc:
                post("degraded", reason=describe(exc))
                return
            post("started", status=status)

        self._thread = threading.Thread(target=work, name="mltutor-service", daemon=True)
        self._thread.start()
        return True

    def discard(self, service: TutorService) -> None:
        """Close a service nobody uses (a superseded start), in the background."""
        self.forget(service)
        threading.Thread(target=service.close, name="mltutor-close", daemon=True).start()

    def forget(self, service: TutorService) -> None:
        """Stop tracking ``service`` (its closing is someone else's job now)."""
        with self._lock:
            if service in self._open:
                self._open.remove(service)

    def close_all(self) -> threading.Thread:
        """Begin closing every open service in a daemon thread; returns that thread.

        Safe to call more than once (later calls return the same thread). A service still being
        created is closed by its creating thread as soon as it exists.
        """
        with self._lock:
            self._closing = True
            if self._closer is not None:
                return self._closer
            services, self._open = self._open, []

        def close() -> None:
            for service in services:
                with contextlib.suppress(Exception):
                    service.close()

        self._closer = threading.Thread(target=close, name="mltutor-close", daemon=True)
        self._closer.start()
        return self._closer

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for closing (and a start in progress) to finish; True if done."""
        deadline = time.monotonic() + timeout
        for thread in (self._thread, self._closer):
            if thread is not None and thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t is not None and t.is_alive() for t in (self._thread, self._closer))


def describe(exc: BaseException) -> str:
    """A failure in words: the typed error's message, else its type and text."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    if isinstance(exc, ImportError):
        return f"the tutor service is not installed ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def status_view(status: ServiceStatus) -> ServiceView:
    """The status bar's view of a started service."""
    where = "embedded" if status.embedded else status.endpoint
    if status.ready:
        return ServiceView("ready", f"{status.model} · {where} · ready")
    detail = status.detail or "the model is not answering"
    return ServiceView(
        "degraded", f"{status.model} · {where} · not ready: {detail} · F5 retries", reason=detail
    )


def view_for(event: ServiceEvent, current: ServiceView) -> ServiceView:
    """The status bar's view after a lifecycle event."""
    if event.kind == "progress":
        fraction = event.data["fraction"]
        return ServiceView(
            "starting",
            str(event.data["message"]),
            None if fraction is None else max(0.0, min(1.0, float(fraction))),
        )
    if event.kind == "started":
        return status_view(event.data["status"])
    if event.kind == "degraded":
        reason = event.data["reason"]
        return ServiceView(
            "degraded", f"tutor not ready: {reason} · F5 retries · check mode works", reason=reason
        )
    if event.kind == "unavailable":
        reason = event.data["reason"]
        return ServiceView(
            "unavailable", f"tutor unavailable: {reason} · F5 retries", reason=reason
        )
    return current
