"""Leaving the app within a time bound, whatever the tutor is doing.

Quitting stops the running answers and closes the service (which stops the model server) in the
background. What cannot be interrupted from here can still hold the process: a model request in
prefill runs in a LangGraph executor thread, which Python joins at exit; a server asked to stop may
first finish its generation. So the moment the user confirms quitting (or the terminal goes away),
an :class:`ExitGuard` is armed: if the process is still alive shortly before :data:`QUIT_BOUND_S`,
it puts the terminal back and ends the process with ``os._exit``. Should even that thread not get to
run (a busy interpreter), ``faulthandler``'s C watchdog ends the process just before the bound. A
model server the service could not stop in time dies with the process (the embedded server is
started with a parent-death signal).

Once quitting has begun, executors torn down under a running graph make their done-callbacks fail
("cannot schedule new futures after shutdown"); ``concurrent.futures`` would print each traceback
on the terminal the app has just handed back, so its logger is silenced from then on.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltutor.settings import Settings
    from mltutor.tui.app import TutorApp

QUIT_BOUND_S = 2.0
"""The process is gone this long after the user confirms quitting."""

_MARGIN_S = 0.7
"""Kept back from the bound for the process teardown itself (measured 0.1-0.3 s on a loaded
machine with the real service: many threads, the embedding model mapped)."""

_HARD_MARGIN_S = 0.35
"""The C watchdog fires this long before the bound."""

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
        self._devnull: IO[str] | None = None
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
        logging.getLogger("concurrent.futures").disabled = True
        thread = threading.Thread(target=self._watch, name="mltutor-exit-guard", daemon=True)
        thread.start()
        with contextlib.suppress(Exception):  # no GIL needed: exits even if Python cannot run
            self._devnull = open(os.devnull, "w")  # noqa: SIM115 (must stay open until exit)
            faulthandler.dump_traceback_later(
                max(0.1, self.bound_s - _HARD_MARGIN_S), exit=True, file=self._devnull
            )

    def remaining(self) -> float:
        """Seconds left before the guard ends the process (the full bound when not armed)."""
        if self._armed_at is None:
            return self.bound_s - _MARGIN_S
        return max(0.0, self._armed_at + self.bound_s - _MARGIN_S - time.monotonic())

    def _watch(self) -> None:
        time.sleep(self.remaining())
        self.force_exit()

    def finish(self) -> None:
        """End the process now with :attr:`code`, after flushing logs and output.

        Called once the service is closed: nothing is left to do but Python's teardown of the
        loaded libraries, which is skipped (it is slow, and a stuck thread would stall it).
        """
        with contextlib.suppress(Exception):
            logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(self.code)

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

    The service is closed on every way out (quit, SIGTERM/SIGHUP, an exception). After a normal
    quit the process ends right there (:meth:`ExitGuard.finish`): Python's own teardown of the
    service's libraries took 1-2 s on a loaded machine and cannot be interrupted. When closing or
    an uninterruptible model request would keep the process alive past :data:`QUIT_BOUND_S`, the
    exit guard ends it. An exception still propagates (the guard bounds the rest).
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
    except BaseException:
        _leave(app, guard)
        raise
    _leave(app, guard)
    guard.finish()
    return guard.code  # not reached


def _leave(app: TutorApp, guard: ExitGuard) -> None:
    """Close the service within what is left of the bound (the terminal is the user's again)."""
    guard.terminal_restored = True
    guard.arm(app.return_code or 0)  # a signal or an exception ended the app: the bound holds
    app.services.close_all()
    if not app.services.wait(min(0.2, guard.remaining())):
        print("mltutor: stopping the tutor…", file=sys.stderr, flush=True)
        if not app.services.wait(guard.remaining()):
            guard.force_exit()  # it did not close in time: its model server dies with us
