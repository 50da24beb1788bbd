"""Inter-process locks (``flock``) and swapping a rebuilt directory in with one rename."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mltutor.storage.aside import reserve
from mltutor.storage.failures import LockBusy, classify, storage_error

LOCKS_DIRNAME = "locks"


# -- inter-process locks -----------------------------------------------------------------------


def lock_path(data_dir: Path, name: str) -> Path:
    """Where the lock called ``name`` lives: ``<data_dir>/locks/<name>.lock``."""
    return Path(data_dir) / LOCKS_DIRNAME / f"{name}.lock"


def _open_lock_file(path: Path, *, shared: bool) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        with contextlib.suppress(OSError):
            return os.open(path, os.O_RDONLY)  # flock needs no write access
        if shared and classify(exc) == "read_only":
            return None  # nobody can write here either: reading needs no lock
        raise storage_error(exc, path, "the lock file") from exc


def _read_holder(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8", errors="replace").strip()[:200]
    return ""


@contextlib.contextmanager
def file_lock(
    path: Path,
    *,
    shared: bool = False,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_wait: Callable[[str], None] | None = None,
    holder: str = "",
    poll: float = 0.05,
) -> Iterator[None]:
    """Hold an inter-process ``flock`` on ``path`` (created if missing) for the ``with`` block.

    ``timeout=None`` waits as long as it takes, ``0`` fails at once; a timeout or a set ``cancel``
    raises :class:`LockBusy`. ``on_wait(holder_text)`` is called once if the lock is taken by
    someone else. An exclusive holder writes ``holder`` into the file so waiters can name it. A lock
    file deleted while we waited is detected (the inode changed) and the lock is taken again.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    told = False
    while True:
        fd = _open_lock_file(path, shared=shared)
        if fd is None:
            yield
            return
        try:
            while True:
                try:
                    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    other = _read_holder(path)
                    if not told and on_wait is not None:
                        on_wait(other)
                        told = True
                    if cancel is not None and cancel.is_set():
                        raise LockBusy(
                            f"stopped waiting for {path}", path=path, holder=other
                        ) from None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise LockBusy(
                            f"{path} is held by another process ({other or 'unknown'})",
                            path=path,
                            holder=other,
                        ) from None
                    time.sleep(poll)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # deleted (or replaced) while we waited: lock the current file instead
                continue
            if not shared and holder:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, holder.encode(), 0)
            yield
            return
        finally:
            os.close(fd)  # closing releases the flock


# -- replacing a directory atomically ----------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths with one ``renameat2(RENAME_EXCHANGE)`` (Linux); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new: Path, target: Path) -> None:
    """Put directory ``new`` at ``target`` atomically and delete whatever was there.

    With ``RENAME_EXCHANGE`` there is no moment without a ``target``; elsewhere the old directory
    is renamed away first (callers hold an exclusive :func:`file_lock`, so readers never see the gap).
    """
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        old = new
    else:
        old = reserve(target, "old", directory=target.is_dir())
        os.rename(target, old)
        os.rename(new, target)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            old.unlink()


def enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put ``conn``'s database in WAL mode, waiting up to ``timeout`` seconds for other connections.

    Switching into WAL needs an exclusive lock. When two connections try it at the same moment, each
    holding a shared lock and waiting for the other, SQLite breaks the deadlock by answering one of
    them "database is locked" at once, without its busy timeout: measured, 14 of 200 rounds of four
    threads opening one old learner file failed so. Here that one tries again (and finds WAL already
    set). Already in WAL, nothing is done."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()
            if mode and str(mode[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
