"""Sessions: LangGraph's SQLite checkpointer holds the conversations; a small table holds titles.

Both live in ``<data_dir>/sessions.sqlite``. A file that is not a readable database is moved aside
(never deleted) and a fresh one is started, with a message saying where the old one went.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mltutor.agent.errors import SessionError
from mltutor.agent.service import SessionInfo

_SCHEMA = """CREATE TABLE IF NOT EXISTS mltutor_sessions (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0)"""
DEFAULT_TITLE = "New session"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    conn.commit()
    return conn


def open_database(path: Path) -> tuple[sqlite3.Connection, str | None]:
    """Open (or create) the sessions database; a corrupt file is moved aside with a notice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path)
        conn.execute("SELECT count(*) FROM mltutor_sessions").fetchone()
        return conn, None
    except sqlite3.DatabaseError:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                extra.rename(aside.with_name(aside.name + suffix))
        return _connect(path), f"the sessions file was unreadable; it was kept as {aside}"


class SessionStore:
    """Titles and activity of sessions (the messages themselves are in the checkpointer)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

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
        with self._lock:
            self._conn.execute(
                "INSERT INTO mltutor_sessions VALUES (?, ?, ?, ?, 0)", (sid, title, now, now)
            )
            self._conn.commit()
        return self.get(sid)

    def get(self, session_id: str) -> SessionInfo:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM mltutor_sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise SessionError(f"no session {session_id!r}; list them with `mltutor sessions`")
        return self._row(row)

    def list(self) -> list[SessionInfo]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM mltutor_sessions ORDER BY updated_at DESC, created_at DESC"
            ).fetchall()
        return [self._row(r) for r in rows]

    def rename(self, session_id: str, title: str) -> None:
        self.get(session_id)
        with self._lock:
            self._conn.execute(
                "UPDATE mltutor_sessions SET title = ? WHERE id = ?",
                (title.strip() or DEFAULT_TITLE, session_id),
            )
            self._conn.commit()

    def touch(self, session_id: str, question: str) -> None:
        """Record a turn; a session still named by default takes the first question as its title."""
        info = self.get(session_id)
        title = info.title
        if title == DEFAULT_TITLE:
            first = question.strip().splitlines()[0] if question.strip() else title
            title = first[:60] + ("…" if len(first) > 60 else "")
        with self._lock:
            self._conn.execute(
                "UPDATE mltutor_sessions SET title = ?, updated_at = ?, turns = turns + 1 "
                "WHERE id = ?",
                (title, _now(), session_id),
            )
            self._conn.commit()

    def delete(self, session_id: str) -> None:
        self.get(session_id)
        with self._lock:
            self._conn.execute("DELETE FROM mltutor_sessions WHERE id = ?", (session_id,))
            self._conn.commit()
