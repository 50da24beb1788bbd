"""Classifying storage failures: locked, disk full, read-only, corrupt, or plain I/O.

The kind decides what a caller may do: only ``corrupt`` (proven, see :mod:`mltutor.storage.aside`)
allows moving a store aside; every other kind leaves it alone and reports :func:`explain`'s message.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

StorageKind = Literal["locked", "disk_full", "read_only", "corrupt", "io"]
# SQLite primary result codes (https://www.sqlite.org/rescode.html)
_SQLITE_KINDS: dict[int, StorageKind] = {
    5: "locked",  # SQLITE_BUSY
    6: "locked",  # SQLITE_LOCKED
    8: "read_only",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR (a full disk shows up here too: decided by free space)
    11: "corrupt",  # SQLITE_CORRUPT
    13: "disk_full",  # SQLITE_FULL
    14: "io",  # SQLITE_CANTOPEN (missing or read-only directory: decided by the file system)
    26: "corrupt",  # SQLITE_NOTADB
}
# The same conditions as worded by Chroma's Rust core, which passes SQLite/OS errors on as text.
_TEXT_KINDS: tuple[tuple[str, StorageKind], ...] = (
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("(code: 5)", "locked"),
    ("database or disk is full", "disk_full"),
    ("no space left on device", "disk_full"),
    ("(code: 13)", "disk_full"),
    ("readonly database", "read_only"),
    ("read-only file system", "read_only"),
    ("(code: 8)", "read_only"),
    ("file is not a database", "corrupt"),
    ("database disk image is malformed", "corrupt"),
    ("(code: 26)", "corrupt"),
    ("(code: 11)", "corrupt"),
)
_ERRNO_KINDS: dict[int, StorageKind] = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EROFS: "read_only",
    errno.EACCES: "read_only",
    errno.EPERM: "read_only",
}
LOW_SPACE_BYTES = 4 * 2**20
"""Below this much free space an unexplained write failure is reported as a full disk."""


class StorageError(Exception):
    """A store cannot be opened or written; ``message`` says why and what to do."""

    def __init__(self, message: str, *, kind: StorageKind, path: Path) -> None:
        super().__init__(message)
        self.message = message
        self.kind: StorageKind = kind
        self.path = path


class LockBusy(StorageError):
    """An inter-process lock was not free within the time allowed (or the wait was cancelled)."""

    def __init__(self, message: str, *, path: Path, holder: str = "") -> None:
        super().__init__(message, kind="locked", path=path)
        self.holder = holder


def human_size(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - loop always returns


# -- classifying failures ----------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def classify(exc: BaseException) -> StorageKind | None:
    """What kind of storage failure ``exc`` (or an exception it was raised from) is, if known."""
    for e in _chain(exc):
        if isinstance(e, sqlite3.Error):
            code = getattr(e, "sqlite_errorcode", None)
            if isinstance(code, int) and (code & 0xFF) in _SQLITE_KINDS:
                return _SQLITE_KINDS[code & 0xFF]
        if isinstance(e, OSError) and e.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[e.errno]
        text = str(e).lower()
        for fragment, kind in _TEXT_KINDS:
            if fragment in text:
                return kind
    return None


def existing_parent(path: Path) -> Path:
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return p if p.is_dir() else p.parent


def free_bytes(path: Path) -> int | None:
    """Free space on the file system holding ``path`` (or its nearest existing parent)."""
    try:
        return shutil.disk_usage(existing_parent(path)).free
    except OSError:
        return None


def is_read_only(path: Path) -> bool:
    """True if the file system holding ``path`` is mounted read-only or the directory is unwritable."""
    where = existing_parent(path)
    try:
        if os.statvfs(where).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(where, os.W_OK)


def diagnose(exc: BaseException, path: Path, *, need_bytes: int = LOW_SPACE_BYTES) -> StorageKind:
    """Classify a failure on ``path``, asking the file system when the error text says too little."""
    kind = classify(exc)
    if kind in ("locked", "disk_full", "corrupt"):
        return kind
    if is_read_only(path):
        return "read_only"
    free = free_bytes(path)
    if free is not None and free < need_bytes:
        return "disk_full"
    return kind or "io"


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__


def explain(kind: StorageKind, path: Path, what: str, detail: str = "") -> str:
    """The user-facing message for a failure of ``kind`` on ``what`` stored at ``path``.

    A full disk and a read-only directory are said plainly, without the library's wording of them
    (Chroma reports a full disk as "Error in compaction").
    """
    tail = f" ({detail})" if detail and kind in ("locked", "corrupt", "io") else ""
    if kind == "locked":
        return (
            f"{what} ({path}) is locked by another program{tail}; close that program or wait, "
            "then try again (nothing was changed)"
        )
    if kind == "disk_full":
        free = free_bytes(path)
        left = f"{human_size(free)} free" if free is not None else "no space left"
        return (
            f"the disk holding {what} ({path}) is full ({left}){tail}; free some space and try "
            "again (nothing was lost)"
        )
    if kind == "read_only":
        return (
            f"{what} cannot be written: {existing_parent(path)} is read-only{tail}; make it "
            "writable or point MLTUTOR_DATA_DIR at a writable directory"
        )
    if kind == "corrupt":
        return f"{what} ({path}) is damaged{tail}"
    return f"{what} ({path}) could not be read or written{tail}"


def storage_error(
    exc: BaseException, path: Path, what: str, *, need_bytes: int = LOW_SPACE_BYTES
) -> StorageError:
    """A :class:`StorageError` for ``exc`` on ``path``, with the kind diagnosed and explained."""
    if isinstance(exc, StorageError):
        return exc
    kind = diagnose(exc, path, need_bytes=need_bytes)
    return StorageError(explain(kind, path, what, first_line(exc)), kind=kind, path=path)
