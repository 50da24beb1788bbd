"""The Textual app: wiring, key bindings, and the tutor service's lifecycle.

Start-up is ordered for speed: the first frame is painted before anything slow is imported; only then
does a daemon thread create the service (``mltutor.agent.tutor.create_service``, which pulls in
LangGraph, Chroma and the model runtime) and ``start()`` it, reporting progress to the status bar.
The service is closed on every way out (quit, Ctrl-C, SIGTERM/SIGHUP, an exception) so the embedded
model server never outlives the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from mltutor.tui.commands import SettingsCommands, SettingsEntry
from mltutor.tui.runs import CallDone, RunHandle, post_safely
from mltutor.tui.screens.chat import ChatScreen
from mltutor.tui.screens.check import CheckScreen
from mltutor.tui.screens.dialogs import ConfirmScreen, ProviderScreen
from mltutor.tui.state import ServiceView

if TYPE_CHECKING:
    from mltutor.agent.service import ServiceStatus, TutorService
    from mltutor.settings import Settings

ServiceFactory = Callable[["Settings"], "TutorService"]
"""Builds the service from settings; called in a worker thread (it may import slow modules)."""

FACTORY_ENV = "MLTUTOR_TUI_SERVICE_FACTORY"
"""``module:callable`` to use instead of the real service (benchmarks, end-to-end tests)."""
FIRST_FRAME_ENV = "MLTUTOR_TUI_FIRST_FRAME_FILE"
"""When set, the app writes the time of its first painted frame there and exits (benchmarks)."""


def default_service_factory(settings: Settings) -> TutorService:
    """The real tutor (imported here, lazily, so start-up does not pay for it)."""
    spec = os.environ.get(FACTORY_ENV)
    if spec:
        import importlib

        module, _, name = spec.partition(":")
        factory: ServiceFactory = getattr(importlib.import_module(module), name)
        return factory(settings)
    from mltutor.agent import create_service

    service: TutorService = create_service(settings)
    return service


class ServiceEvent(Message):
    """Lifecycle news from the service thread: created, progress, started, failed."""

    def __init__(self, epoch: int, kind: str, **data: Any) -> None:
        super().__init__()
        self.epoch, self.kind, self.data = epoch, kind, data


class TutorApp(App[int]):
    """mltutor in the terminal: chat and check modes, sessions, settings in the palette."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "mltutor"
    COMMANDS = App.COMMANDS | {SettingsCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "chat": ChatScreen,
        "check": CheckScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("escape", "stop", "Stop", priority=True),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
    ]

    service_view: reactive[ServiceView] = reactive(ServiceView, always_update=True)
    """What the status bar shows about the service."""

    def __init__(self, settings: Settings, service_factory: ServiceFactory | None = None) -> None:
        super().__init__()
        self.settings = settings
        """Settings in force (the palette replaces them with changed copies)."""
        self.service: TutorService | None = None
        """The service, once created (None while starting or when it could not be created)."""
        self._factory = service_factory or default_service_factory
        self._epoch = 0
        self._service_thread: threading.Thread | None = None
        self._closing = False
        self._services_lock = threading.Lock()
        self._open_services: list[TutorService] = []
        """Every service created and not yet closed (closed on exit, whoever created it)."""
        self._runs: set[RunHandle] = set()
        self._first_frame_file = os.environ.get(FIRST_FRAME_ENV)

    # -- start-up --------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        await self.switch_mode("chat")
        self._install_signal_handlers()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        _freeze_heap()
        if self._first_frame_file:
            with open(self._first_frame_file, "w", encoding="utf-8") as fh:
                json.dump({"first_frame": time.time()}, fh)
            self.exit(0)
            return
        self.start_service()

    def _install_signal_handlers(self) -> None:
        """Quit cleanly on SIGTERM/SIGHUP (a closed terminal) so the service is closed."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.exit, 0)

    def start_service(self) -> None:
        """Create and start the service in a daemon thread; news arrives as ServiceEvents."""
        self._epoch += 1
        epoch, factory, settings = self._epoch, self._factory, self.settings
        self.service_view = ServiceView("starting", "starting the tutor…")
        old, self.service = self.service, None

        def work() -> None:
            def post(kind: str, **data: Any) -> None:
                post_safely(self, ServiceEvent(epoch, kind, **data))

            if old is not None:
                self._forget(old)
                with contextlib.suppress(Exception):
                    old.close()
            try:
                service = factory(settings)
            except BaseException as exc:  # ImportError included: the agent may not be installed
                post("unavailable", reason=_reason(exc))
                return
            with self._services_lock:  # registered here, not on the UI thread: the app may
                closing = self._closing  # already be gone, and then nobody else would close it
                if not closing:
                    self._open_services.append(service)
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
                post("degraded", reason=_reason(exc))
                return
            post("started", status=status)

        self._service_thread = threading.Thread(target=work, name="mltutor-service", daemon=True)
        self._service_thread.start()

    def restart_service(self, settings: Settings | None = None) -> None:
        """Start again (after a failure, or with new settings); refused while generating."""
        if self.generating:
            self.notify("Stop the current answer first (esc).", severity="warning")
            return
        if settings is not None:
            self.settings = settings
        self.start_service()

    def on_service_event(self, event: ServiceEvent) -> None:
        if event.epoch != self._epoch:
            if event.kind == "created":  # a superseded start: not ours to keep
                stale = event.data["service"]
                self._forget(stale)
                threading.Thread(target=stale.close, daemon=True).start()
            return
        if event.kind == "created":
            self.service = event.data["service"]
            _freeze_heap()  # the service's imports (LangGraph, Chroma, NumPy) are long-lived too
            self.service_view = self.service_view  # tell watchers: checking works from now on
        elif event.kind == "progress":
            fraction = event.data["fraction"]
            self.service_view = ServiceView(
                "starting",
                str(event.data["message"]),
                None if fraction is None else max(0.0, min(1.0, float(fraction))),
            )
        elif event.kind == "started":
            self.service_view = _status_view(event.data["status"])
        elif event.kind == "degraded":
            reason = event.data["reason"]
            self.service_view = ServiceView(
                "degraded",
                f"tutor not ready: {reason} · F5 retries · check mode works",
                reason=reason,
            )
        elif event.kind == "unavailable":
            reason = event.data["reason"]
            self.service_view = ServiceView(
                "unavailable", f"tutor unavailable: {reason} · F5 retries", reason=reason
            )
            self.notify(f"tutor unavailable: {reason}", severity="error", timeout=8)

    async def on_call_done(self, message: CallDone[Any]) -> None:
        result = message.deliver()
        if inspect.isawaitable(result):
            await result

    # -- runs, stop and quit ---------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        """Whether an answer or explanation is streaming."""
        return bool(self._runs)

    def register_run(self, run: RunHandle) -> None:
        """Track a streaming run (for stop and for the quit confirmation)."""
        self._runs.add(run)
        self.refresh_bindings()

    def unregister_run(self, run: RunHandle) -> None:
        """Forget a run that ended or was stopped."""
        self._runs.discard(run)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            # only while generating, and not over a dialog: otherwise esc/ctrl+c keep their usual
            # meaning (close the dialog, copy the selection)
            return self.generating and not isinstance(self.screen, ModalScreen)
        return True

    def action_stop(self) -> None:
        """Stop every streaming run; the app keeps running."""
        for run in list(self._runs):
            run.stop()
            self.unregister_run(run)
        self.notify("Stopped.", timeout=2)

    async def action_quit(self) -> None:
        """Quit; while an answer streams, ask first."""
        if not self.generating:
            self.exit(0)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                for run in list(self._runs):
                    run.stop()
                self.exit(0)

        if not isinstance(self.screen, ConfirmScreen):
            self.push_screen(
                ConfirmScreen(
                    "An answer is still being generated. Stop it and quit?", yes="Quit", no="Stay"
                ),
                confirmed,
            )

    def on_unmount(self) -> None:
        self.close_service()

    @property
    def service_starting(self) -> bool:
        """Whether the thread creating or starting the service is still running."""
        return self._service_thread is not None and self._service_thread.is_alive()

    def close_service(self, *, wait: float = 0.0) -> None:
        """Close the service (stops the model server); safe to call more than once.

        ``wait`` gives a service still being created that long to appear, so it is closed too
        rather than left running after the app is gone.
        """
        with self._services_lock:
            self._closing = True
        for run in list(self._runs):
            run.stop()
        thread = self._service_thread
        if wait and thread is not None and thread.is_alive():
            thread.join(wait)
        self.service = None
        with self._services_lock:
            services, self._open_services = self._open_services, []
        for service in services:
            with contextlib.suppress(Exception):
                service.close()

    def _forget(self, service: TutorService) -> None:
        with self._services_lock:
            if service in self._open_services:
                self._open_services.remove(service)

    # -- settings (command palette) --------------------------------------------------------------

    def settings_commands(self) -> list[SettingsEntry]:
        """Palette entries for the settings, each showing its current value."""
        s = self.settings
        entries: list[SettingsEntry] = [
            (
                "Settings: provider and model…",
                f"now: {s.base_url or 'embedded model'} · {s.model or 'default model'}",
                self._choose_provider,
            )
        ]
        for n in (1, 2, 4, 8):
            now = " (current)" if s.best_of == n else ""
            entries.append(
                (
                    f"Settings: best-of-N = {n}{now}",
                    "candidate answers generated and scored per question",
                    partial(self._apply, {"best_of": n}, restart=False),
                )
            )
        for code, name in (("auto", "follow the question"), ("en", "English"), ("ru", "Russian")):
            now = " (current)" if s.language == code else ""
            entries.append(
                (
                    f"Settings: answer language = {code}{now}",
                    name,
                    partial(self._apply, {"language": code}, restart=True),
                )
            )
        return entries

    def _choose_provider(self) -> None:
        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                base_url, model = result
                self._apply({"base_url": base_url or None, "model": model or None}, restart=True)

        self.push_screen(
            ProviderScreen(self.settings.base_url or "", self.settings.model or ""), chosen
        )

    def _apply(self, changes: dict[str, Any], *, restart: bool) -> None:
        new = self.settings.model_copy(update=changes)
        if restart:
            if self.generating:
                self.notify("Stop the current answer first (esc).", severity="warning")
                return
            self.restart_service(new)
        else:
            self.settings = new
        shown = ", ".join(
            f"{k.replace('_', '-')} = {v if v is not None else 'default'}"
            for k, v in changes.items()
        )
        self.notify(f"{shown} (for this run)", title="Settings")


def _freeze_heap() -> None:
    """Exclude what exists now (imported modules, the widget tree) from cyclic GC scans.

    A full collection over all the long-lived objects of Textual, pydantic and the service took
    40-60 ms in the streaming benchmark, right in the middle of a frame; frozen objects are still
    freed by reference counting, only never scanned again.
    """
    gc.freeze()  # no gc.collect() first: it would itself block the UI for tens of ms


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    if isinstance(exc, ImportError):
        return f"the tutor service is not installed ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _status_view(status: ServiceStatus) -> ServiceView:
    where = "embedded" if status.embedded else status.endpoint
    if status.ready:
        return ServiceView("ready", f"{status.model} · {where} · ready")
    detail = status.detail or "the model is not answering"
    return ServiceView(
        "degraded", f"{status.model} · {where} · not ready: {detail} · F5 retries", reason=detail
    )


def create_app(settings: Settings, service_factory: ServiceFactory | None = None) -> TutorApp:
    """The app, with the real service unless tests or benchmarks pass another factory."""
    return TutorApp(settings, service_factory)


def run_app(settings: Settings | None = None) -> int:
    """Run the app in this terminal until the user quits; always closes the service."""
    if settings is None:
        from mltutor.settings import load_settings

        settings = load_settings()
    app = create_app(settings)
    try:
        app.run()
    finally:
        if app.service_starting:
            print("mltutor: stopping the tutor…", file=sys.stderr, flush=True)
        app.close_service(wait=10.0)
    return app.return_code or 0
