"""Proven corruption only, unique names, and notices that repeat until the user acts.

A store is moved aside only after :func:`sqlite_damage` (``PRAGMA quick_check``) or a repeated,
undiagnosed read failure proved it damaged. :func:`move_aside` reserves a new name with ``O_EXCL``
or ``mkdir`` (time + pid + counter), so concurrent processes never overwrite each other's copy, and
records a notice in ``<data_dir>/notices/`` that :func:`pending_notices` returns on every start
until the kept copy is deleted or moved.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

from mltutor.storage.failures import StorageError, classify, first_line, storage_error

NOTICES_DIRNAME = "notices"
ASIDE_REASON = "unreadable"


# -- SQLite ------------------------------------------------------------------------------------


def sqlite_damage(path: Path, *, timeout: float, what: str) -> str | None:
    """Why the SQLite file at ``path`` is corrupt, or None if it passes ``PRAGMA quick_check``.

    Only a proven problem returns a reason; a lock, a full disk or an I/O error raises
    :class:`StorageError` (the file cannot be judged, so it must be left alone).
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if classify(exc) == "corrupt":
            return first_line(exc)
        raise storage_error(exc, path, what) from exc
    if rows and rows[0][0] == "ok":
        return None
    return "integrity check: " + "; ".join(str(r[0]) for r in rows[:3])


# -- moving aside, notices ---------------------------------------------------------------------


class StorageNotice(BaseModel):
    """A store that was moved aside because it was corrupt, kept for the user to look at."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    what: str
    """What the store is, e.g. "the sessions database"."""

    original: Path
    """Where it was."""

    aside: Path
    """Where it is now."""

    reason: str
    """Why it was judged corrupt."""

    moved_at: datetime
    """When it was moved (UTC)."""

    @property
    def message(self) -> str:
        """The line front ends show on every start until the kept copy is deleted or moved."""
        return (
            f"{self.what} was damaged ({self.reason}) and was moved to {self.aside} on "
            f"{self.moved_at:%Y-%m-%d %H:%M} UTC; a fresh one was started. Delete or move that "
            "copy once you no longer need it (this notice repeats until then)."
        )


_counter_lock = threading.Lock()
_counter = 0


def _unique_name(path: Path, reason: str) -> Path:
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.name}.{reason}-{stamp}-{os.getpid()}-{n}")


def reserve(path: Path, reason: str, *, directory: bool) -> Path:
    """Create a new, never-used name next to ``path`` (O_EXCL file or mkdir) and return it."""
    for _ in range(1000):
        target = _unique_name(path, reason)
        try:
            if directory:
                target.mkdir()
            else:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return target
        except FileExistsError:
            continue
    raise StorageError(
        f"cannot find a free name next to {path}", kind="io", path=path
    )  # pragma: no cover - 1000 collisions of pid+counter+time


SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def move_aside(
    path: Path,
    *,
    data_dir: Path,
    what: str,
    reason: str,
    sidecars: tuple[str, ...] = (),
    keep_with: tuple[Path, ...] = (),
) -> Path:
    """Move a corrupt file or directory to a unique ``<name>.unreadable-<time>-<pid>-<n>``.

    ``sidecars`` (e.g. SQLite's ``-wal``) follow the main file under the same new name; files in
    ``keep_with`` are copied into a moved directory. A notice is recorded for
    :func:`pending_notices`. Nothing is ever overwritten; on failure the store stays where it was.
    """
    is_dir = path.is_dir()
    try:
        target = reserve(path, ASIDE_REASON, directory=is_dir)
    except OSError as exc:
        raise storage_error(exc, path, what) from exc
    try:
        os.rename(path, target)  # replaces only our empty placeholder
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.rmdir() if is_dir else target.unlink()
        raise storage_error(exc, path, what) from exc
    for suffix in sidecars:
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            with contextlib.suppress(OSError):  # the main file is safe; a stray sidecar is harmless
                dest = target.with_name(target.name + suffix)
                os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                os.rename(extra, dest)
    if is_dir:
        for extra in keep_with:
            with contextlib.suppress(OSError):
                if extra.exists():
                    shutil.copy2(extra, target / extra.name)
    record_notice(
        data_dir,
        StorageNotice(
            what=what, original=path, aside=target, reason=reason, moved_at=datetime.now(UTC)
        ),
    )
    return target


def _notices_dir(data_dir: Path) -> Path:
    return Path(data_dir) / NOTICES_DIRNAME


def record_notice(data_dir: Path, notice: StorageNotice) -> None:
    """Persist a notice (best effort: on a full disk the kept copy itself still announces it)."""
    folder = _notices_dir(data_dir)
    final = folder / f"{notice.aside.name}.json"
    tmp = folder / f".{notice.aside.name}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(notice.model_dump_json(), encoding="utf-8")
        os.replace(tmp, final)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def _orphan_asides(data_dir: Path, known: set[Path]) -> list[StorageNotice]:
    """Kept copies with no notice file (it could not be written): found by their names."""
    out = []
    for folder in (data_dir, data_dir / "index"):
        with contextlib.suppress(OSError):
            for p in folder.glob(f"*.{ASIDE_REASON}-*"):
                if p in known or any(p.name.endswith(s) for s in SQLITE_SIDECARS):
                    continue
                original = p.with_name(p.name.split(f".{ASIDE_REASON}-", 1)[0])
                out.append(
                    StorageNotice(
                        what=original.name,
                        original=original,
                        aside=p,
                        reason="it could not be read",
                        moved_at=datetime.fromtimestamp(p.stat().st_mtime, UTC),
                    )
                )
    return out


def pending_notices(data_dir: Path) -> list[StorageNotice]:
    """Notices whose kept copy still exists, oldest first; notices of removed copies are dropped.

    Front ends show ``notice.message`` for each (the CLI on stderr, the app in its status line).
    """
    data_dir = Path(data_dir).expanduser()
    found: list[StorageNotice] = []
    folder = _notices_dir(data_dir)
    with contextlib.suppress(OSError):
        for marker in sorted(folder.glob("*.json")):
            try:
                notice = StorageNotice.model_validate_json(marker.read_text(encoding="utf-8"))
            except (OSError, ValidationError, ValueError):
                continue
            if notice.aside.exists():
                found.append(notice)
            else:  # the user acted on it: stop telling them
                with contextlib.suppress(OSError):
                    marker.unlink()
    found += _orphan_asides(data_dir, {n.aside for n in found})
    return sorted(found, key=lambda n: n.moved_at)


def notice_messages(data_dir: Path) -> list[str]:
    """The messages of :func:`pending_notices` (what the CLI prints to stderr)."""
    return [n.message for n in pending_notices(data_dir)]
