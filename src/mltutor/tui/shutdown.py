"""Leaving the app within a time bound, whatever the tutor is doing.

Quitting stops the running answers and closes the service (which stops the model server) in the
background. What cannot be interrupted from here can still hold the process: a model request in
prefill runs in a LangGraph executor thread, which Python joins at exit; a server asked to stop may
first finish its generation. So the moment the user confirms quitting (or the terminal goes away),
an :class:`ExitGuard` is armed: if the process is still alive :data:`QUIT_BOUND_S` later, it puts
the terminal back and ends the process with ``os._exit``. A model server the service could not stop
in time dies with the process (the embedded server is started with a parent-death signal).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.settings import Settings

QUIT_BOUND_S = 2.0
"""The process is gone this long after the user confirms quitting."""

_MARGIN_S = 0.5
"""Kept back from the bound for the process teardown itself."""

_RESTORE_TERMINAL = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse reporting off
    "\x1b[?2004l\x1b[<u\x1b[?7h\x1b[?1004l"  # bracketed paste, kitty keys, wrap, focus events
    "\x1b[?1049l\x1b[?25h"  # main screen, cursor shown
)


class ExitGuard:
    """Ends the process at a deadline unless it has ended by itself.

    ``arm`` may be called from any thread and more than once (the first deadline holds).
    """

    def __init__(self, bound_s: float = QUIT_BOUND_S, stream: IO[str] | None = None) -> None:
        self.bound_s = bound_s
        self._stream = stream if stream is not None else sys.__stdout__
        self._armed_at: float | None = None
        self._lock = threading.Lock()
        self._tty_attrs: Any = None
        self.code = 0
        """The exit status used if the guard has to end the process."""
        self.terminal_restored = False
        """Set once the app has given the terminal back (then the guard need not)."""

    @property
    def armed(self) -> bool:
        """Whether the deadline runs."""
        return self._armed_at is not None

    def remember_terminal(self) -> None:
        """Save the terminal modes before the app changes them (to restore in an emergency)."""
        with contextlib.suppress(Exception):
            import termios

            self._tty_attrs = termios.tcgetattr(sys.stdin.fileno())

    def arm(self, code: int = 0) -> None:
        """Start the deadline (a no-op once armed)."""
        with self._lock:
            if self._armed_at is not None:
                return
            self._armed_at = time.monotonic()
            self.code = code
        thread = threading.Thread(target=self._watch, name="mltutor-exit-guard", daemon=True)
        thread.start()

    def remaining(self) -> float:
        """Seconds left before the guard ends the process (the full bound when not armed)."""
        if self._armed_at is None:
            return self.bound_s - _MARGIN_S
        return max(0.0, self._armed_at + self.bound_s - _MARGIN_S - time.monotonic())

    def _watch(self) -> None:
        time.sleep(self.remaining())
        self.force_exit()

    def force_exit(self) -> None:
        """Give the terminal back if the app could not, and end the process now."""
        if not self.terminal_restored:
            self._restore_terminal()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(self.code)

    def _restore_terminal(self) -> None:
        with contextlib.suppress(Exception):
            if self._tty_attrs is not None:
                import termios

                termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, self._tty_attrs)
        with contextlib.suppress(Exception):
            if self._stream is not None and self._stream.isatty():
                os.write(self._stream.fileno(), _RESTORE_TERMINAL.encode())


def run_app(settings: Settings | None = None) -> int:
    """Run the app in this terminal until the user quits; the process ends within the bound.

    The service is closed on every way out (quit, SIGTERM/SIGHUP, an exception). When closing or
    an uninterruptible model request would keep the process alive past :data:`QUIT_BOUND_S`, the
    exit guard ends it.
    """
    from mltutor.tui.app import create_app

    if settings is None:
        from mltutor.settings import load_settings

        settings = load_settings()
    guard = ExitGuard()
    guard.remember_terminal()
    app = create_app(settings, exit_guard=guard)
    try:
        app.run()
    finally:
        guard.terminal_restored = True
        code = app.return_code or 0
        guard.arm(code)  # an exception or a signal ended the app: the same bound holds
        app.services.close_all()
        if not app.services.wait(min(0.2, guard.remaining())):
            print("mltutor: stopping the tutor…", file=sys.stderr, flush=True)
            if not app.services.wait(guard.remaining()):
                guard.force_exit()  # it did not close in time: its model server dies with us
    return code
