"""File-system faults for tests: a small tmpfs that can be filled up or remounted read-only.

Mounting needs root (and a kernel that lets this container mount tmpfs); without it the tests that
need a real full or read-only file system are skipped with the reason. Chmod is no substitute: root
ignores permission bits, and a full disk cannot be faked by permissions at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MLTUTOR = [sys.executable, "-m", "mltutor.cli"]


def _mount_failure(size: str) -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    return None


@contextlib.contextmanager
def small_tmpfs(size: str = "4m") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (e.g. ``"4m"``), unmounted afterwards; skips if impossible."""
    reason = _mount_failure(size)
    if reason:
        pytest.skip(f"no small file system for the disk-full/read-only test: {reason}")
    where = Path(tempfile.mkdtemp(prefix="mltutor-tmpfs-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def fill_up(where: Path) -> None:
    """Write a filler file until the file system holding ``where`` has no space left."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (65536, 4096, 512):
            block = b"\0" * size
            with contextlib.suppress(OSError):
                while os.write(fd, block):
                    pass
    finally:
        os.close(fd)
    assert shutil.disk_usage(where).free < 64 * 1024


def make_read_only(where: Path) -> None:
    """Remount the tmpfs at ``where`` read-only (retried: a closed store may take a moment to
    release its files, and the kernel refuses while any file there is open for writing)."""
    import gc
    import time

    for _ in range(20):
        gc.collect()
        done = subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True)
        if done.returncode == 0:
            return
        time.sleep(0.25)
    open_files = [
        os.readlink(fd)
        for fd in Path("/proc/self/fd").iterdir()
        if os.path.lexists(fd) and str(where) in os.readlink(fd)
    ]
    raise AssertionError(f"cannot remount {where} read-only; open here: {open_files}")


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running ``mltutor`` in a child process on ``data_dir`` (no user config)."""
    env = dict(os.environ)
    env.update(
        MLTUTOR_DATA_DIR=str(data_dir),
        MLTUTOR_CONFIG=str(data_dir.parent / "no-config.toml"),
        PYTHONPATH=str(REPO_ROOT / "src"),
        **extra,
    )
    return env


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove nothing was touched)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "filler"
    }
