"""What the UI knows about the tutor service, as one immutable value the status bar watches.

One value instead of several reactives so the bar never shows a half-updated state (a new phase with
the previous phase's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Phase = Literal["starting", "ready", "degraded", "unavailable"]


@dataclass(frozen=True)
class ServiceView:
    """The service as the user sees it."""

    phase: Phase = "starting"
    """starting: being created/prepared; ready: can answer; degraded: check works, chat may not;
    unavailable: no service at all (nothing works but the UI)."""
    text: str = "starting the tutor…"
    """One line for the status bar."""
    progress: float | None = None
    """Start-up progress in [0, 1], or None when unknown (shown as a pulsing bar)."""
    reason: str = ""
    """Why the service is degraded or unavailable (for notifications and the retry hint)."""

    @property
    def can_answer(self) -> bool:
        """Whether questions can be sent now (when degraded, the run reports what is wrong)."""
        return self.phase in ("ready", "degraded")
