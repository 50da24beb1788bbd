"""The learner database: attempts and cards round-trip, a v1 file migrates to v2 keeping its data,
a newer or corrupt file is moved aside with a notice (never deleted, never silently reset)."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating

from mltutor.agent.interview.learner import LEARNER_FILE, Attempt, open_learner
from mltutor.agent.interview.scheduling import make_scheduler, new_card, review
from mltutor.agent.interview.schema import SCHEMA_VERSION, V1
from mltutor.storage import pending_notices
from tests.agent.interview.conftest import DAY0


def attempt(qid: str = "calculus-1", score: float | None = 6.0, **kw: object) -> Attempt:
    return Attempt.model_validate(
        {
            "interview_id": "iv1",
            "question_id": qid,
            "topic": qid.rsplit("-", 1)[0],
            "difficulty": "easy",
            "prompt": "What is d/dx x^3?",
            "answer": "3x^2",
            "score": score,
            "band": "partial",
            "outcome": "answered",
            "hints": 1,
            "key_points": [{"point": "power rule", "verdict": "covered", "evidence": "3x^2"}],
            "grade": {"score": score, "key_points": []},
            "duration_s": 42.5,
            "answered_at": DAY0,
            "lang": "en",
            "rating": 2,
            **kw,
        }
    )


def test_attempts_cards_and_mastery_round_trip(tmp_path: Path) -> None:
    store, notice = open_learner(tmp_path)
    assert notice is None
    card = review(make_scheduler(), new_card("calculus-1", DAY0), Rating.Hard, DAY0)
    aid = store.record(attempt(), card=card, mastery=("calculus", 0.55))
    follow = attempt(kind="follow_up", parent_id=aid, score=3.0)
    store.record(follow)
    store.save_interview(
        "iv1",
        started_at=DAY0,
        status="quit",
        lang="en",
        filters={"n": 5},
        plan=["calculus-1"],
        transcript={"questions": [{"id": "calculus-1"}]},
    )
    store.close()
    again, _ = open_learner(tmp_path)  # everything is on disk
    got = again.attempts()
    assert [a.kind for a in got] == ["question", "follow_up"]
    assert got[0].model_dump(exclude={"id"}) == attempt().model_dump(exclude={"id"})
    assert got[1].parent_id == got[0].id
    topic, stored = again.cards()["calculus-1"]
    assert topic == "calculus" and stored.to_dict() == card.to_dict()
    assert again.topic_mastery()["calculus"][:2] == (0.55, 1)
    assert again.last_graded()["calculus-1"].score == 6.0
    assert again.interviews()[0]["status"] == "quit"
    assert again.transcript("iv1") == {"questions": [{"id": "calculus-1"}]}
    again.close()


def write_v1(path: Path) -> None:
    """A learner database as the first schema wrote it: attempts and cards only."""
    conn = sqlite3.connect(path)
    conn.executescript(V1)
    card = review(make_scheduler(), new_card("statistics-2", DAY0), Rating.Good, DAY0)
    rows = [
        ("statistics-2", "the CLT says ...", 8.0, 61.0, DAY0.isoformat()),
        ("statistics-2", "better: ...", 9.0, 40.0, (DAY0 + timedelta(days=2)).isoformat()),
        ("multiple-testing-1", "1 - 0.95^100", 4.0, 30.0, DAY0.isoformat()),
    ]
    conn.executemany(
        "INSERT INTO attempts (question_id, answer, score, duration_s, answered_at) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT INTO cards VALUES (?, ?, ?)",
        ("statistics-2", json.dumps(card.to_dict()), DAY0.isoformat()),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_v1_database_migrates_to_the_current_schema(tmp_path: Path) -> None:
    write_v1(tmp_path / LEARNER_FILE)
    store, notice = open_learner(tmp_path)
    assert notice is None  # a migration is not damage: nothing moved aside
    conn = sqlite3.connect(tmp_path / LEARNER_FILE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
    got = store.attempts()
    assert [(a.question_id, a.answer, a.score) for a in got] == [
        ("statistics-2", "the CLT says ...", 8.0),
        ("multiple-testing-1", "1 - 0.95^100", 4.0),
        ("statistics-2", "better: ...", 9.0),
    ]
    # the new columns are filled: topic from the id, the defaults for the rest
    assert [a.topic for a in got] == ["statistics", "multiple-testing", "statistics"]
    assert {(a.kind, a.mode, a.outcome) for a in got} == {("question", "interview", "answered")}
    assert store.cards()["statistics-2"][0] == "statistics"
    # the mastery snapshot: the mean last score of each topic's questions
    mastery = store.topic_mastery()
    assert mastery["statistics"][:2] == (pytest.approx(0.9), 2)
    assert mastery["multiple-testing"][:2] == (pytest.approx(0.4), 1)
    # and the migrated file takes new writes
    store.record(
        attempt("statistics-2", 5.0, answered_at=DAY0 + timedelta(days=3)),
        mastery=("statistics", 0.5),
    )
    assert store.last_graded()["statistics-2"].score == 5.0
    store.close()


def test_two_processes_opening_an_old_file_migrate_it_once(tmp_path: Path) -> None:
    write_v1(tmp_path / LEARNER_FILE)
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            s, _ = open_learner(tmp_path)
            s.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store, _ = open_learner(tmp_path)
    assert len(store.attempts()) == 3  # not duplicated, not lost
    store.close()


def test_a_newer_database_is_moved_aside_with_a_notice(tmp_path: Path) -> None:
    store, _ = open_learner(tmp_path)
    store.record(attempt())
    store.close()
    conn = sqlite3.connect(tmp_path / LEARNER_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    fresh, notice = open_learner(tmp_path)
    assert notice is not None and "newer mltutor" in notice and "v3" in notice
    assert fresh.attempts() == []  # a fresh database ...
    kept = [n.aside for n in pending_notices(tmp_path)]
    assert len(kept) == 1 and kept[0].exists()  # ... and the old one kept, with a notice
    old = sqlite3.connect(kept[0])
    assert old.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1
    assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    old.close()
    fresh.close()


def test_a_corrupt_database_is_moved_aside_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / LEARNER_FILE).write_bytes(b"this is not a database" * 200)
    store, notice = open_learner(tmp_path)
    assert notice is not None and "damaged" in notice
    assert store.attempts() == []
    [kept] = pending_notices(tmp_path)
    assert kept.aside.read_bytes().startswith(b"this is not a database")
    store.close()


def test_a_card_survives_to_dict_from_dict(tmp_path: Path) -> None:
    card = review(make_scheduler(), new_card("q", DAY0), Rating.Easy, DAY0)
    assert Card.from_dict(json.loads(json.dumps(card.to_dict()))).to_dict() == card.to_dict()
