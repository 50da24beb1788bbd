"""The progress of a run in the terminal (cases done, mean score so far, errors, ETA), and stopping
one politely."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any


class ProgressView:
    """A progress bar (cases done, mean score so far, errors, ETA) on stderr; plain lines when
    stderr is not a terminal."""

    def __init__(self, label: str, quiet: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.quiet = quiet
        self.label = label
        self.live = self.console.is_terminal and not quiet
        self._bar: Any = None
        self._task: Any = None
        self._last_line = 0.0
        self._t0 = time.monotonic()
        self._done0: int | None = None

    def __enter__(self) -> ProgressView:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("mean {task.fields[mean]}"),
                TextColumn("errors {task.fields[errors]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, p: Any, label: str | None = None) -> None:
        mean = "-" if p.mean is None else f"{p.mean:.2f}"
        if self._bar is not None:
            if self._task is None or label:
                if self._task is not None:
                    self._bar.remove_task(self._task)
                self._task = self._bar.add_task(
                    label or self.label, total=p.total, completed=p.done, mean=mean, errors=p.errors
                )
            self._bar.update(self._task, completed=p.done, mean=mean, errors=p.errors)
            return
        if self.quiet:
            return
        if self._done0 is None:
            self._done0 = p.done
        now = time.monotonic()
        if p.done < p.total and now - self._last_line < 5.0:
            return
        self._last_line = now
        rate = (p.done - self._done0) / max(now - self._t0, 1e-9)
        eta = f"{(p.total - p.done) / rate:.0f} s" if rate > 0 else "-"
        print(
            f"{label or self.label}: {p.done}/{p.total} cases, mean {p.metric} {mean}, "
            f"errors {p.errors}, ETA {eta}",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """SIGTERM stops a run like Ctrl-C (finished cases are kept, the process says how to resume);
    background jobs ignore SIGINT, so this is how a supervisor stops one politely."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["ProgressView", "sigterm_stops"]
