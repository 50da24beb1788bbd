"""The Textual app: screens, modes, key bindings and the palette, wired together.

Start-up is ordered for speed: the first frame is painted before anything slow is imported; only then
does :class:`~mltutor.tui.service_host.ServiceHost` create and start the service in a thread,
reporting progress to the status bar. Quitting is bounded in time (:mod:`mltutor.tui.shutdown`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from mltutor.tui.palette import PaletteCommands, PaletteEntry, palette_entries
from mltutor.tui.runs import CallDone, RunHandle
from mltutor.tui.screens.chat import ChatScreen
from mltutor.tui.screens.check import CheckScreen
from mltutor.tui.screens.dialogs import ConfirmScreen
from mltutor.tui.screens.help import HelpScreen
from mltutor.tui.service_host import (
    FACTORY_ENV,
    ServiceEvent,
    ServiceFactory,
    ServiceHost,
    default_service_factory,
    view_for,
)
from mltutor.tui.state import ServiceView

if TYPE_CHECKING:
    from mltutor.agent.service import TutorService
    from mltutor.settings import Settings
    from mltutor.tui.shutdown import ExitGuard

__all__ = [
    "FACTORY_ENV",
    "ServiceFactory",
    "TutorApp",
    "create_app",
    "default_service_factory",
]

FIRST_FRAME_ENV = "MLTUTOR_TUI_FIRST_FRAME_FILE"
"""When set, the app writes the time of its first painted frame there and exits (benchmarks)."""


class TutorApp(App[int]):
    """mltutor in the terminal: chat and check modes, sessions, topics, help, the palette."""

    CSS_PATH = "styles/app.tcss"
    CLOSE_TIMEOUT = 1.0  # widgets get this long to close on exit (all work is off this thread)
    TITLE = "mltutor"
    COMMANDS = App.COMMANDS | {PaletteCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "chat": ChatScreen,
        "check": CheckScreen,
        "interview": lambda: _interview_screen(),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop", priority=True),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
        Binding("f2", "interview", "Interview", key_display="F2"),
        Binding("f1", "help", "Help", key_display="F1"),
        Binding("question_mark", "help", "Help", show=False),  # typed into inputs as usual
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    service_view: reactive[ServiceView] = reactive(ServiceView, always_update=True)
    """What the status bar shows about the service."""

    def __init__(
        self,
        settings: Settings,
        service_factory: ServiceFactory | None = None,
        *,
        exit_guard: ExitGuard | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        """Settings in force (the palette replaces them with changed copies)."""
        self.configured = (settings.base_url, settings.model)
        """The endpoint and model the user configured (the palette can switch back to them)."""
        self.service: TutorService | None = None
        """The service, once created (None while starting or when it could not be created)."""
        self.services = ServiceHost(self, service_factory)
        """Creates, starts and closes the service off the UI thread."""
        self._exit_guard = exit_guard
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
        """Quit (within the bound) on SIGTERM/SIGHUP, a closed terminal, so the service is closed."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._leave, 0)

    def start_service(self) -> None:
        """Create and start the service in the background; news arrives as ServiceEvents."""
        old, self.service = self.service, None
        if self.services.start(self.settings, old):
            self.service_view = ServiceView("starting", "starting the tutor…")

    def restart_service(self, settings: Settings | None = None) -> None:
        """Start again (after a failure, or with new settings); refused while generating."""
        if self.generating:
            self.notify("Stop the current answer first (esc).", severity="warning")
            return
        if settings is not None:
            self.settings = settings
        self.start_service()

    def on_service_event(self, event: ServiceEvent) -> None:
        if event.epoch != self.services.epoch:
            if event.kind == "created":  # a superseded start: not ours to keep
                self.services.discard(event.data["service"])
            return
        if event.kind == "created":
            self.service = event.data["service"]
            _freeze_heap()  # the service's imports (LangGraph, Chroma, NumPy) are long-lived too
            self.service_view = self.service_view  # tell watchers: checking works from now on
            return
        self.service_view = view_for(event, self.service_view)
        if event.kind == "unavailable":
            self.notify(self.service_view.text, severity="error", timeout=8)

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
        if action == "help":
            return not isinstance(self.screen, HelpScreen)
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
            self._leave(0)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._leave(0)

        if not isinstance(self.screen, ConfirmScreen):
            self.push_screen(
                ConfirmScreen(
                    "An answer is still being generated. Stop it and quit?", yes="Quit", no="Stay"
                ),
                confirmed,
            )

    def _leave(self, code: int) -> None:
        """Stop everything and exit; from here the process has :data:`QUIT_BOUND_S` to end."""
        if self._exit_guard is not None:
            self._exit_guard.arm(code)
        for run in list(self._runs):
            run.stop()
        self.services.close_all()  # nothing starts a service any more
        self.exit(code)

    def on_unmount(self) -> None:
        for run in list(self._runs):
            run.stop()
        self.services.close_all()

    def close_service(self, *, wait: float = 0.0) -> None:
        """Close every service (stops the model server), waiting up to ``wait`` seconds."""
        for run in list(self._runs):
            run.stop()
        self.services.close_all()
        self.service = None
        if wait:
            self.services.wait(wait)

    @property
    def service_starting(self) -> bool:
        """Whether the thread creating or starting the service is still running."""
        return self.services.starting

    # -- screens ---------------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show the help screen."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_topics(self) -> None:
        """Open the topics browser."""
        from mltutor.tui.screens.topics import TopicsScreen

        if not isinstance(self.screen, TopicsScreen):
            self.push_screen(TopicsScreen())

    async def action_interview(self) -> None:
        """Interview mode (F2): a mock interview, graded, with follow-ups."""
        await self.switch_mode("interview")

    def action_progress(self) -> None:
        """Open the progress screen: mastery, due reviews, weak points, the score plot."""
        from mltutor.tui.screens.progress import ProgressScreen

        if not isinstance(self.screen, ProgressScreen):
            self.push_screen(ProgressScreen())

    def palette_entries(self) -> list[PaletteEntry]:
        """Everything the command palette offers, built from the current state."""
        return palette_entries(self)


def _interview_screen() -> Screen[Any]:
    """The interview screen, imported when first opened (start-up does not pay for it)."""
    from mltutor.tui.screens.interview import InterviewScreen

    return InterviewScreen()


def _freeze_heap() -> None:
    """Exclude what exists now (imported modules, the widget tree) from cyclic GC scans.

    A full collection over all the long-lived objects of Textual, pydantic and the service took
    40-60 ms in the streaming benchmark, right in the middle of a frame; frozen objects are still
    freed by reference counting, only never scanned again.
    """
    gc.freeze()  # no gc.collect() first: it would itself block the UI for tens of ms


def create_app(
    settings: Settings,
    service_factory: ServiceFactory | None = None,
    *,
    exit_guard: ExitGuard | None = None,
) -> TutorApp:
    """The app, with the real service unless tests or benchmarks pass another factory."""
    return TutorApp(settings, service_factory, exit_guard=exit_guard)
