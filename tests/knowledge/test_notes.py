"""Notes and question bank loading: the real notes' shape, and clear errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.knowledge.errors import KnowledgeError
from mltutor.knowledge.notes import bundled_notes_dir, load_notes, notes_fingerprint, parse_note
from mltutor.knowledge.questions import DIFFICULTIES, Question, load_questions

from .conftest import note_text

EXPECTED_TOPICS = 24


def test_bundled_notes_dir_is_inside_the_package() -> None:
    d = bundled_notes_dir()
    assert d.is_dir()
    assert d.parts[-3:] == ("mltutor", "knowledge", "notes")


class TestRealNotes:
    """The bundled notes: exactly 24 topics, each with at least 4 well-formed questions."""

    def test_24_topics(self) -> None:
        notes = load_notes()
        assert len({n.slug for n in notes}) == EXPECTED_TOPICS, sorted(n.slug for n in notes)

    def test_questions_per_topic_and_total(self) -> None:
        notes = load_notes()
        thin = {n.slug: len(n.questions) for n in notes if len(n.questions) < 4}
        assert not thin, f"notes with fewer than 4 questions: {thin}"
        assert len(load_questions()) >= 100

    def test_question_fields(self) -> None:
        ids = set()
        for q in load_questions():
            assert q.id.startswith(f"{q.topic}-"), q.id
            assert q.id not in ids, f"duplicate question id {q.id}"
            ids.add(q.id)
            assert q.difficulty in DIFFICULTIES
            assert 3 <= len(q.key_points) <= 6, q.id
            assert 1 <= len(q.follow_ups) <= 3, q.id
            assert q.reference_answer.strip()

    def test_front_matter_fields(self) -> None:
        for n in load_notes():
            assert n.title and n.title_ru, n.slug
            assert n.aliases and n.keywords_en and n.keywords_ru, n.slug
            assert n.body.strip(), n.slug


def test_load_questions_filters(synthetic_notes: Path) -> None:
    everything = load_questions(notes_dir=synthetic_notes)
    assert len(everything) == 12
    assert all(isinstance(q, Question) for q in everything)
    calc = load_questions("calculus", notes_dir=synthetic_notes)
    assert {q.topic for q in calc} == {"calculus"} and len(calc) == 4
    hard = load_questions(difficulty="hard", notes_dir=synthetic_notes)
    assert hard and all(q.difficulty == "hard" for q in hard)
    assert load_questions("no-such-topic", notes_dir=synthetic_notes) == []
    q = calc[0]
    assert q.question and q.reference_answer and q.key_points and q.follow_ups


def test_note_fields(synthetic_notes: Path) -> None:
    (calc,) = [n for n in load_notes(synthetic_notes) if n.slug == "calculus"]
    assert calc.title_ru == "Матанализ для ML"
    assert "матанализ" in calc.aliases
    assert "## Key formulas" in calc.body and "slug:" not in calc.body
    assert calc.source == "notes/calculus.md"


def test_fingerprint_changes_with_content(synthetic_notes: Path) -> None:
    before = notes_fingerprint(synthetic_notes)
    assert notes_fingerprint(synthetic_notes) == before
    p = synthetic_notes / "statistics.md"
    p.write_text(p.read_text(encoding="utf-8") + "\nmore\n", encoding="utf-8")
    assert notes_fingerprint(synthetic_notes) != before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("no front matter here\n", "missing YAML front matter"),
        ("---\nslug: [unclosed\n---\nbody\n", "invalid YAML"),
        ("---\n- a list\n---\nbody\n", "must be a YAML mapping"),
        ("---\nslug: other\ntitle: T\n---\nbody\n", "must equal the file name"),
        ("---\nslug: broken\n---\nbody\n", "title"),
        (
            note_text("broken", "Broken").replace("difficulty: easy", "difficulty: trivial"),
            "difficulty",
        ),
        ("---\nslug: broken\ntitle: T\nquestions: [{id: x}]\n---\n", "questions.0"),
    ],
)
def test_malformed_note_names_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "broken.md"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        parse_note(path)
    assert str(path) in err.value.message
    assert problem in err.value.message


def test_malformed_note_fails_load_notes(synthetic_notes: Path) -> None:
    (synthetic_notes / "bad.md").write_bytes(b"\xff\xfe not utf8")
    with pytest.raises(KnowledgeError, match=r"bad\.md"):
        load_notes(synthetic_notes)


def test_missing_notes_dir(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_notes(tmp_path / "nope")
