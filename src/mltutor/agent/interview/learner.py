"""The learner model on disk: ``<data_dir>/learner.sqlite`` (attempts, FSRS cards, topic mastery).

Only graded interview answers are written here (the tutor chat and check mode never call it).

**Schema and migrations.** The version is SQLite's ``user_version``; :data:`MIGRATIONS` takes a file
from any older version to :data:`SCHEMA_VERSION`, one step at a time, in one transaction under an
inter-process lock (two processes opening an old file migrate it once).

- v1: ``attempts`` (question id, answer, score, duration, time) and ``cards`` (one FSRS card per
  question, as ``Card.to_dict`` JSON);
- v2: attempts gain topic, difficulty, kind (question or follow-up), outcome, hints, per-key-point
  verdicts, the grade, the mode and the rating; ``reviews`` (the FSRS review log),
  ``topic_mastery`` and ``mastery_history`` (per-topic mastery after every graded answer) and
  ``interviews`` (each interview's state and transcript, saved after every answer).

**Damage.** Opening follows :mod:`mltutor.storage`: a locked file, a full disk or a read-only
directory is a :class:`LearnerStorageError` and the file is left alone. A file proven corrupt
(``quick_check``) or written by a newer mltutor (a schema version this code does not know) is moved
aside under a unique name with a persistent notice and a fresh one is started; it is never deleted
or silently reset.

This module only opens the file; the rows and queries (:class:`Attempt`, :class:`LearnerStore`)
live in :mod:`mltutor.agent.interview.store` and are re-exported here, where callers import them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import quote

from mltutor.agent.interview.errors import LearnerStorageError
from mltutor.agent.interview.schema import MIGRATIONS, SCHEMA_VERSION
from mltutor.agent.interview.store import WHAT, Attempt, LearnerStore
from mltutor.storage import (
    SQLITE_SIDECARS,
    StorageError,
    enable_wal,
    file_lock,
    lock_path,
    move_aside,
    sqlite_damage,
    storage_error,
)

LEARNER_FILE = "learner.sqlite"
"""The learner database's file name in the data dir."""
BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another process's write lock."""


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"schema v{version}")
        self.version = version


def _connect(path: Path, timeout: float, *, locked: bool = False) -> sqlite3.Connection:
    """Open, check and migrate; ``locked``: the caller already holds the learner lock."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout, isolation_level=None)
    try:
        enable_wal(conn, timeout)
        rows = conn.execute("PRAGMA quick_check").fetchall()
        if not rows or rows[0][0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({rows[:1]})")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise _NewerSchema(version)
        if version < SCHEMA_VERSION:
            _migrate(conn, path, locked=locked)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path, *, locked: bool) -> None:
    with contextlib.ExitStack() as stack:
        if not locked:  # flock is per open file: taking it twice in one process would deadlock
            stack.enter_context(file_lock(lock_path(path.parent, "learner")))
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process
            for target in range(current + 1, SCHEMA_VERSION + 1):  # may have migrated meanwhile
                MIGRATIONS[target](conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise


def open_learner(
    data_dir: Path, *, timeout: float = BUSY_TIMEOUT_S
) -> tuple[LearnerStore, str | None]:
    """Open (creating or migrating) the learner database; return it and a one-time notice, if any.

    Raises :class:`LearnerStorageError` when it is locked past ``timeout``, the disk is full or the
    directory cannot be written (the file is left as it was). A corrupt file or one from a newer
    mltutor is moved aside (the notice, and :func:`mltutor.storage.pending_notices`, say where).
    """
    path = Path(data_dir).expanduser() / LEARNER_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err = storage_error(exc, path.parent, WHAT)
        raise LearnerStorageError(err.message, err.kind) from exc
    try:
        return LearnerStore(_connect(path, timeout), path), None
    except _NewerSchema:
        pass
    except sqlite3.Error as exc:
        err = storage_error(exc, path, WHAT)
        if err.kind != "corrupt":
            raise LearnerStorageError(err.message, err.kind) from exc
    except StorageError as exc:
        raise LearnerStorageError(exc.message, exc.kind) from exc
    return _replace(path, timeout)


def _schema_version(path: Path, timeout: float) -> int:
    """The file's ``user_version`` read without changing anything (0 for a missing file)."""
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _replace(path: Path, timeout: float) -> tuple[LearnerStore, str | None]:
    """Prove the file newer or corrupt (under the lock, so another process that already replaced
    it is noticed), move it aside and start afresh."""
    try:
        with file_lock(lock_path(path.parent, "learner"), timeout=timeout):
            damage = sqlite_damage(path, timeout=timeout, what=WHAT)
            if damage is not None:
                reason = f"it was damaged ({damage})"
            else:
                version = _schema_version(path, timeout)
                if version <= SCHEMA_VERSION:  # healthy after all, or replaced meanwhile
                    return LearnerStore(_connect(path, timeout, locked=True), path), None
                reason = (
                    f"it was written by a newer mltutor (learner schema v{version}; this "
                    f"version reads up to v{SCHEMA_VERSION})"
                )
            aside = move_aside(
                path, data_dir=path.parent, what=WHAT, reason=reason, sidecars=SQLITE_SIDECARS
            )
            notice = (
                f"the learner database could not be used: {reason}. It was kept as {aside} and "
                "a fresh one was started (your earlier progress is in that copy)"
            )
            return LearnerStore(_connect(path, timeout, locked=True), path), notice
    except StorageError as exc:
        raise LearnerStorageError(exc.message, exc.kind) from exc
    except sqlite3.Error as exc:
        err = storage_error(exc, path, WHAT)
        raise LearnerStorageError(err.message, err.kind) from exc


__all__ = [
    "BUSY_TIMEOUT_S",
    "LEARNER_FILE",
    "Attempt",
    "LearnerStore",
    "open_learner",
]
