"""The learner database's rows and queries: :class:`Attempt` and :class:`LearnerStore`.

Kept apart from :mod:`mltutor.agent.interview.learner`, which opens the file (creating, migrating
or moving a damaged one aside): everything here runs on a connection that is already open and at
the current schema, so the queries never have to think about versions or damage. Every write is
one ``BEGIN IMMEDIATE`` transaction; a SQLite error on any statement becomes a
:class:`LearnerStorageError` naming the file.
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

from fsrs import Card
from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.interview.errors import LearnerStorageError
from mltutor.agent.interview.schema import topic_of
from mltutor.storage import storage_error

WHAT = "the learner database"
"""How error messages name the file."""


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
