"""Sessions: LangGraph's SQLite checkpointer holds the conversations; a small table holds titles.

Both live in ``<data_dir>/sessions.sqlite``. Opening follows :mod:`mltutor.storage`: a locked file,
a full disk or a read-only directory is a :class:`SessionStorageError` and the file is left alone;
only a file proven corrupt (``quick_check``) is moved aside, under a unique name and with a notice
that :func:`mltutor.storage.pending_notices` repeats until the user deals with it. A read-only
directory still allows reading (listing, export). Turns on one session are serialized across
threads and processes by :meth:`SessionStore.turn_lock`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mltutor.agent.errors import SessionError
from mltutor.agent.service import SessionInfo
from mltutor.storage import (
    SQLITE_SIDECARS,
    LockBusy,
    StorageError,
    StorageKind,
    enable_wal,
    file_lock,
    is_read_only,
    lock_path,
    move_aside,
    sqlite_damage,
    storage_error,
)

_SCHEMA = """CREATE TABLE IF NOT EXISTS mltutor_sessions (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0)"""
DEFAULT_TITLE = "New session"
WHAT = "the sessions database"
BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another process's write lock before it reports "locked"."""
QUICK_CHECK_MAX_BYTES = 64 * 2**20
"""Files up to this size get ``PRAGMA quick_check`` at every open: measured 2 ms for 1 MiB, 47 ms
for 20 MiB, 0.23-0.32 s for 104 MiB (2 shared cores, load 11), so at most ~0.2 s here; larger
files are checked only when a read fails."""


class SessionStorageError(SessionError):
    """The sessions database cannot be opened or written (locked, disk full, read-only, damaged)."""

    def __init__(self, message: str, kind: StorageKind) -> None:
        super().__init__(message)
        self.kind: StorageKind = kind


class SessionBusy(SessionError):
    """Another thread or process is answering a question in this session."""


def _from_storage(exc: StorageError) -> SessionStorageError:
    return SessionStorageError(exc.message, exc.kind)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout)
    try:
        enable_wal(conn, timeout)
        if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:  # damage inside shows up here, not later
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if not rows or rows[0][0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({rows[:1]})")
        conn.execute(_SCHEMA)
        conn.commit()
        conn.execute("SELECT count(*) FROM mltutor_sessions").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_read_only(path: Path, timeout: float) -> sqlite3.Connection | None:
    """A read-only connection on a read-only file system (None if there is nothing to read).

    ``immutable`` skips SQLite's locking files, which cannot be created there; it is safe only
    because nobody can write to that file system, and only without pending WAL content.
    """
    wal = path.with_name(path.name + "-wal")
    if not path.exists() or (wal.exists() and wal.stat().st_size > 0):
        return None
    uri = f"file:{quote(str(path))}?immutable=1"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=timeout)
    try:
        conn.execute("SELECT count(*) FROM mltutor_sessions").fetchone()
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def open_database(
    path: Path, *, timeout: float = BUSY_TIMEOUT_S
) -> tuple[sqlite3.Connection, str | None]:
    """Open (or create) the sessions database; return it and a one-time notice, if any.

    Raises :class:`SessionStorageError` when the file is locked past ``timeout``, the disk is full
    or the directory cannot be written (and the file is left exactly as it was). A file proven
    corrupt is moved aside (the notice, and ``pending_notices``, say where).
    """
    data_dir = path.parent
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _from_storage(storage_error(exc, data_dir, WHAT)) from exc
    try:
        return _connect(path, timeout), None
    except sqlite3.Error as exc:
        failure: sqlite3.Error = exc
    err = storage_error(failure, path, WHAT)
    if err.kind == "read_only" and is_read_only(path):
        conn = _connect_read_only(path, timeout)
        if conn is not None:
            return conn, f"{data_dir} is read-only: sessions can be read but not changed"
    if err.kind != "corrupt":
        raise _from_storage(err) from failure
    try:  # prove it, with other processes kept out until a fresh file is in place
        with file_lock(lock_path(data_dir, "sessions"), timeout=timeout):
            damage = sqlite_damage(path, timeout=timeout, what=WHAT)
            if damage is None:  # healthy after all, or another process already replaced it
                return _connect(path, timeout), None
            aside = move_aside(
                path, data_dir=data_dir, what=WHAT, reason=damage, sidecars=SQLITE_SIDECARS
            )
            return (
                _connect(path, timeout),
                f"the sessions file was unreadable ({damage}); it was kept as {aside} and a "
                "new one was started",
            )
    except StorageError as exc:
        raise _from_storage(exc) from failure
    except sqlite3.Error as exc:
        raise _from_storage(storage_error(exc, path, WHAT)) from exc


def _lock_name(session_id: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", session_id):
        return f"session-{session_id}"
    return "session-" + hashlib.sha256(session_id.encode()).hexdigest()[:24]


def _database_dir(conn: sqlite3.Connection) -> Path | None:
    with contextlib.suppress(sqlite3.Error):
        for _, name, file in conn.execute("PRAGMA database_list").fetchall():
            if name == "main" and file:
                return Path(file).parent
    return None


class SessionStore:
    """Titles and activity of sessions (the messages themselves are in the checkpointer).

    ``data_dir`` holds the per-session turn locks (default: the database's directory).
    """

    def __init__(self, conn: sqlite3.Connection, data_dir: Path | None = None) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._data_dir = data_dir or _database_dir(conn)
        self._memory_locks: dict[str, threading.Lock] = {}

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; storage failures become :class:`SessionStorageError`."""
        with self._lock:
            try:
                yield self._conn
                self._conn.commit()
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise _from_storage(storage_error(exc, self._path(), WHAT)) from exc
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise _from_storage(storage_error(exc, self._path(), WHAT)) from exc

    def _path(self) -> Path:
        return (self._data_dir or Path(".")) / "sessions.sqlite"

    def _row(self, row: tuple[Any, ...]) -> SessionInfo:
        return SessionInfo(
            id=row[0],
            title=row[1],
            created_at=datetime.fromisoformat(row[2]),
            updated_at=datetime.fromisoformat(row[3]),
            turns=row[4],
        )

    def create(self, title: str = DEFAULT_TITLE) -> SessionInfo:
        sid, now = uuid.uuid4().hex[:12], _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO mltutor_sessions VALUES (?, ?, ?, ?, 0)", (sid, title, now, now)
            )
        return self.get(sid)

    def get(self, session_id: str) -> SessionInfo:
        rows = self._read("SELECT * FROM mltutor_sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionError(f"no session {session_id!r}; list them with `mltutor sessions list`")
        return self._row(rows[0])

    def list(self) -> list[SessionInfo]:
        rows = self._read(
            "SELECT * FROM mltutor_sessions ORDER BY updated_at DESC, created_at DESC"
        )
        return [self._row(r) for r in rows]

    def rename(self, session_id: str, title: str) -> None:
        self.get(session_id)
        with self._write() as conn:
            conn.execute(
                "UPDATE mltutor_sessions SET title = ? WHERE id = ?",
                (title.strip() or DEFAULT_TITLE, session_id),
            )

    def touch(self, session_id: str, question: str) -> None:
        """Record a turn; a session still named by default takes the first question as its title."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT title FROM mltutor_sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise SessionError(f"no session {session_id!r}; it was deleted")
            title = row[0]
            if title == DEFAULT_TITLE:
                first = question.strip().splitlines()[0] if question.strip() else title
                title = first[:60] + ("…" if len(first) > 60 else "")
            conn.execute(
                "UPDATE mltutor_sessions SET title = ?, updated_at = ?, turns = turns + 1 "
                "WHERE id = ?",
                (title, _now(), session_id),
            )

    def delete(self, session_id: str) -> None:
        self.get(session_id)
        with self._write() as conn:
            conn.execute("DELETE FROM mltutor_sessions WHERE id = ?", (session_id,))
        if self._data_dir is not None:  # drop its turn lock file, unless a turn holds it
            path = lock_path(self._data_dir, _lock_name(session_id))
            with contextlib.suppress(StorageError, OSError), file_lock(path, timeout=0):
                path.unlink()

    @contextlib.contextmanager
    def turn_lock(
        self,
        session_id: str,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold ``session_id`` for one turn: read the history, answer, write the new messages.

        Another thread or process asking in the same session waits here (``timeout=None``) or,
        after ``timeout`` seconds (``0``: at once), or when ``cancel`` is set, gets
        :class:`SessionBusy`. ``on_wait(holder)`` is called once if it has to wait. Holding the
        lock across the whole turn is what keeps two concurrent turns from losing one.
        """
        if self._data_dir is None:  # an in-memory database: one process, so a thread lock will do
            with self._lock:
                lock = self._memory_locks.setdefault(session_id, threading.Lock())
            if not lock.acquire(timeout=-1 if timeout is None else timeout):
                raise SessionBusy(f"session {session_id} is answering another question")
            try:
                yield
            finally:
                lock.release()
            return
        path = lock_path(self._data_dir, _lock_name(session_id))
        holder = f"pid {os.getpid()} since {datetime.now(UTC):%H:%M:%S} UTC"
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(
                    file_lock(path, timeout=timeout, cancel=cancel, on_wait=on_wait, holder=holder)
                )
            except LockBusy as exc:
                raise SessionBusy(
                    f"session {session_id} is answering another question "
                    f"({exc.holder or 'another mltutor process'}); wait for it to finish, or "
                    "ask in a new session"
                ) from exc
            except StorageError as exc:
                raise _from_storage(exc) from exc
            yield
