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
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fsrs import Card
from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.interview.errors import LearnerStorageError
from mltutor.agent.interview.schema import MIGRATIONS, SCHEMA_VERSION, topic_of
from mltutor.storage import (
    SQLITE_SIDECARS,
    StorageError,
    file_lock,
    lock_path,
    move_aside,
    sqlite_damage,
    storage_error,
)

LEARNER_FILE = "learner.sqlite"
"""The learner database's file name in the data dir."""
WHAT = "the learner database"
BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another process's write lock."""


class Attempt(BaseModel):
    """One graded (or skipped) interview answer, as stored."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: int | None = None
    """Row id (None before it is stored)."""
    interview_id: str | None = None
    """The interview it was given in."""
    question_id: str
    """The bank question."""
    topic: str
    """Its topic."""
    difficulty: str = ""
    """easy, medium or hard."""
    kind: Literal["question", "follow_up"] = "question"
    """The bank question itself or a follow-up to it."""
    parent_id: int | None = None
    """For a follow-up: the attempt it follows."""
    prompt: str = ""
    """What was asked."""
    answer: str = ""
    """What the candidate said."""
    score: float | None = None
    """0-10 after the hint penalty; None when not graded (a skip)."""
    band: str | None = None
    """good, partial or wrong."""
    outcome: str = "answered"
    """answered, skipped or revealed."""
    hints: int = 0
    """Hints taken."""
    key_points: list[dict[str, Any]] = Field(default_factory=list)
    """Per key point: ``{"point", "verdict", "evidence"}``."""
    grade: dict[str, Any] | None = None
    """The grade (``mltutor grade --json`` shape)."""
    duration_s: float = 0.0
    """Seconds from the question being shown to the answer."""
    answered_at: datetime
    """When (UTC)."""
    mode: str = "interview"
    """Where the answer was given (only ``interview`` is ever written)."""
    lang: str = "en"
    """Language of the interview."""
    rating: int | None = None
    """The FSRS rating it produced (1 Again ... 4 Easy), if it was reviewed."""


_ATTEMPT_COLUMNS = (
    "id, interview_id, question_id, topic, difficulty, kind, parent_id, prompt, answer, score, "
    "band, outcome, hints, key_points, grade, duration_s, answered_at, mode, lang, rating"
)


def _attempt(row: tuple[Any, ...]) -> Attempt:
    names = [c.strip() for c in _ATTEMPT_COLUMNS.split(",")]
    data = dict(zip(names, row, strict=True))
    data["key_points"] = json.loads(data["key_points"] or "[]")
    data["grade"] = json.loads(data["grade"]) if data["grade"] else None
    return Attempt.model_validate(data)


class LearnerStore:
    """Attempts, cards, mastery and interviews; every write is one transaction."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        """Where the database lives."""
        self._lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    err = storage_error(exc, self.path, WHAT)
                    raise LearnerStorageError(err.message, err.kind) from exc
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                err = storage_error(exc, self.path, WHAT)
                raise LearnerStorageError(err.message, err.kind) from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # -- writes --------------------------------------------------------------------------------
    def record(
        self,
        attempt: Attempt,
        *,
        card: Card | None = None,
        mastery: tuple[str, float] | None = None,
    ) -> int:
        """Store an attempt and, for a graded question, its new card, review and topic mastery,
        all in one transaction; returns the attempt's id."""
        at = attempt.answered_at.isoformat()
        with self._write() as conn:
            cur = conn.execute(
                f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.interview_id,
                    attempt.question_id,
                    attempt.topic,
                    attempt.difficulty,
                    attempt.kind,
                    attempt.parent_id,
                    attempt.prompt,
                    attempt.answer,
                    attempt.score,
                    attempt.band,
                    attempt.outcome,
                    attempt.hints,
                    json.dumps(attempt.key_points, ensure_ascii=False),
                    json.dumps(attempt.grade, ensure_ascii=False) if attempt.grade else None,
                    attempt.duration_s,
                    at,
                    attempt.mode,
                    attempt.lang,
                    attempt.rating,
                ),
            )
            attempt_id = int(cur.lastrowid or 0)
            if card is not None:
                conn.execute(
                    "INSERT INTO cards (question_id, card, updated_at, topic) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(question_id) DO UPDATE SET card = excluded.card, "
                    "updated_at = excluded.updated_at, topic = excluded.topic",
                    (attempt.question_id, json.dumps(card.to_dict()), at, attempt.topic),
                )
                conn.execute(
                    "INSERT INTO reviews (question_id, attempt_id, rating, reviewed_at, "
                    "duration_ms) VALUES (?, ?, ?, ?, ?)",
                    (
                        attempt.question_id,
                        attempt_id,
                        attempt.rating or 0,
                        at,
                        round(attempt.duration_s * 1000),
                    ),
                )
            if mastery is not None:
                topic, value = mastery
                conn.execute(
                    "INSERT INTO topic_mastery VALUES (?, ?, 1, ?) ON CONFLICT(topic) DO UPDATE "
                    "SET mastery = excluded.mastery, attempts = topic_mastery.attempts + 1, "
                    "updated_at = excluded.updated_at",
                    (topic, value, at),
                )
                conn.execute("INSERT INTO mastery_history VALUES (?, ?, ?)", (topic, at, value))
        return attempt_id

    def update_key_points(self, attempt_id: int, key_points: list[dict[str, Any]]) -> None:
        """Replace an attempt's per-key-point verdicts (a follow-up showed a missed point)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE attempts SET key_points = ? WHERE id = ?",
                (json.dumps(key_points, ensure_ascii=False), attempt_id),
            )

    def save_interview(
        self,
        interview_id: str,
        *,
        started_at: datetime,
        status: str,
        lang: str,
        filters: dict[str, Any],
        plan: list[str],
        transcript: dict[str, Any] | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Create or update an interview's row (its state and transcript so far)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO interviews VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE "
                "SET finished_at = excluded.finished_at, status = excluded.status, "
                "transcript = excluded.transcript",
                (
                    interview_id,
                    started_at.isoformat(),
                    finished_at.isoformat() if finished_at else None,
                    status,
                    lang,
                    json.dumps(filters),
                    json.dumps(plan),
                    json.dumps(transcript, ensure_ascii=False, default=str) if transcript else None,
                ),
            )

    # -- reads ---------------------------------------------------------------------------------
    def cards(self) -> dict[str, tuple[str, Card]]:
        """question id -> (topic, card) for every question answered at least once."""
        out: dict[str, tuple[str, Card]] = {}
        for qid, topic, raw in self._read("SELECT question_id, topic, card FROM cards"):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                out[qid] = (topic or topic_of(qid), Card.from_dict(json.loads(raw)))
        return out

    def attempts(self, *, kind: str | None = None) -> list[Attempt]:
        """Every attempt, oldest first (only ``kind`` ones if given)."""
        sql = f"SELECT {_ATTEMPT_COLUMNS} FROM attempts"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            args = (kind,)
        return [_attempt(r) for r in self._read(sql + " ORDER BY answered_at, id", args)]

    def last_graded(self) -> dict[str, Attempt]:
        """The latest graded answer to each bank question (follow-ups left out)."""
        out: dict[str, Attempt] = {}
        for a in self.attempts(kind="question"):
            if a.score is not None:
                out[a.question_id] = a
        return out

    def topic_mastery(self) -> dict[str, tuple[float, int, datetime]]:
        """topic -> (mastery after its last graded answer, graded answers, when)."""
        return {
            topic: (float(m), int(n), datetime.fromisoformat(at))
            for topic, m, n, at in self._read(
                "SELECT topic, mastery, attempts, updated_at FROM topic_mastery"
            )
        }

    def mastery_history(self, topic: str | None = None) -> list[tuple[str, datetime, float]]:
        """(topic, when, mastery) after every graded answer, oldest first."""
        sql = "SELECT topic, at, mastery FROM mastery_history"
        args: tuple[Any, ...] = ()
        if topic is not None:
            sql += " WHERE topic = ?"
            args = (topic,)
        rows = self._read(sql + " ORDER BY at, rowid", args)
        return [(t, datetime.fromisoformat(at), float(m)) for t, at, m in rows]

    def interviews(self) -> list[dict[str, Any]]:
        """Every interview's id, times and status, oldest first."""
        rows = self._read(
            "SELECT id, started_at, finished_at, status, lang FROM interviews ORDER BY started_at"
        )
        keys = ("id", "started_at", "finished_at", "status", "lang")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def transcript(self, interview_id: str) -> dict[str, Any] | None:
        """The saved transcript of an interview, if any."""
        rows = self._read("SELECT transcript FROM interviews WHERE id = ?", (interview_id,))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None


# -- opening -------------------------------------------------------------------------------------


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"schema v{version}")
        self.version = version


def _connect(path: Path, timeout: float, *, locked: bool = False) -> sqlite3.Connection:
    """Open, check and migrate; ``locked``: the caller already holds the learner lock."""
    conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
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
