"""The learner database's schema: each version's DDL and the migrations between them.

The version is SQLite's ``user_version``; ``MIGRATIONS[n]`` takes a version ``n - 1`` file to
version ``n`` inside the caller's transaction (see :mod:`mltutor.agent.interview.learner`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 2
"""The version this code writes (``PRAGMA user_version``)."""

V1 = """
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    score REAL,
    duration_s REAL NOT NULL DEFAULT 0,
    answered_at TEXT NOT NULL
);
CREATE TABLE cards (
    question_id TEXT PRIMARY KEY,
    card TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

V2 = """
ALTER TABLE attempts ADD COLUMN interview_id TEXT;
ALTER TABLE attempts ADD COLUMN topic TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN difficulty TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'question';
ALTER TABLE attempts ADD COLUMN parent_id INTEGER;
ALTER TABLE attempts ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN band TEXT;
ALTER TABLE attempts ADD COLUMN outcome TEXT NOT NULL DEFAULT 'answered';
ALTER TABLE attempts ADD COLUMN hints INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN key_points TEXT NOT NULL DEFAULT '[]';
ALTER TABLE attempts ADD COLUMN grade TEXT;
ALTER TABLE attempts ADD COLUMN mode TEXT NOT NULL DEFAULT 'interview';
ALTER TABLE attempts ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE attempts ADD COLUMN rating INTEGER;
ALTER TABLE cards ADD COLUMN topic TEXT NOT NULL DEFAULT '';
CREATE INDEX attempts_by_question ON attempts (question_id, answered_at);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id TEXT NOT NULL,
    attempt_id INTEGER,
    rating INTEGER NOT NULL,
    reviewed_at TEXT NOT NULL,
    duration_ms INTEGER
);
CREATE TABLE topic_mastery (
    topic TEXT PRIMARY KEY,
    mastery REAL NOT NULL,
    attempts INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE mastery_history (
    topic TEXT NOT NULL,
    at TEXT NOT NULL,
    mastery REAL NOT NULL
);
CREATE TABLE interviews (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    lang TEXT NOT NULL DEFAULT 'en',
    filters TEXT NOT NULL DEFAULT '{}',
    plan TEXT NOT NULL DEFAULT '[]',
    transcript TEXT
);
"""


def topic_of(question_id: str) -> str:
    """Bank ids are ``<topic>-<n>``."""
    return question_id.rsplit("-", 1)[0] if "-" in question_id else question_id


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    _script(conn, V1)


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    _script(conn, V2)
    for (qid,) in conn.execute("SELECT DISTINCT question_id FROM attempts").fetchall():
        conn.execute("UPDATE attempts SET topic = ? WHERE question_id = ?", (topic_of(qid), qid))
    for (qid,) in conn.execute("SELECT question_id FROM cards").fetchall():
        conn.execute("UPDATE cards SET topic = ? WHERE question_id = ?", (topic_of(qid), qid))
    # a mastery snapshot from what v1 knew: the mean last score of each topic's questions
    rows = conn.execute(
        "SELECT topic, question_id, score, answered_at FROM attempts "
        "WHERE score IS NOT NULL ORDER BY answered_at, id"
    ).fetchall()
    last: dict[str, dict[str, tuple[float, str]]] = {}
    counts: dict[str, int] = {}
    for topic, qid, score, at in rows:
        last.setdefault(topic, {})[qid] = (float(score), at)
        counts[topic] = counts.get(topic, 0) + 1
    for topic, per_question in last.items():
        mastery = sum(s for s, _ in per_question.values()) / (10.0 * len(per_question))
        at = max(a for _, a in per_question.values())
        conn.execute(
            "INSERT INTO topic_mastery VALUES (?, ?, ?, ?)", (topic, mastery, counts[topic], at)
        )
        conn.execute("INSERT INTO mastery_history VALUES (?, ?, ?)", (topic, at, mastery))


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript`` would
    commit first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_to_v1,
    2: _migrate_to_v2,
}
"""``MIGRATIONS[n]`` takes a version ``n - 1`` file to version ``n``."""
