"""What a run records about where it ran: package version, git revision, machine, settings."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from mltutor.settings import Settings


def git_revision() -> str | None:
    """``git rev-parse HEAD`` of the source tree mltutor runs from (``+dirty`` with local changes),
    or None for an installed package or when git is not available."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if status else "") if head else None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_summary() -> dict[str, Any]:
    """Platform, Python, CPU model and count, memory."""
    memory_gb: float | None
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
    }


def settings_summary(settings: Settings) -> dict[str, Any]:
    """The settings in force, secrets left out."""
    data: dict[str, Any] = settings.model_dump(mode="json", exclude={"api_key"})
    data["api_key_set"] = settings.api_key is not None
    return data


def grader_fingerprint() -> str:
    """sha256 over the grader's source files: two runs with one fingerprint were graded alike."""
    import mltutor.agent.grading as grading

    root = Path(grading.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


__all__ = ["git_revision", "grader_fingerprint", "machine_summary", "settings_summary"]
