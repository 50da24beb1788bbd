"""Notes and question bank loading: the real notes' shape, and clear errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.knowledge.bank import load_questions
from mltutor.knowledge.errors import KnowledgeError
from mltutor.knowledge.notes import bundled_notes_dir, load_notes, notes_fingerprint, parse_note
from mltutor.knowledge.questions import DIFFICULTIES, Question

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


# -- Russian ------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", [n.slug for n in load_notes()])
def test_every_bundled_question_has_russian(slug: str) -> None:
    questions = load_questions(slug)
    assert questions
    for q in questions:
        assert q.has_russian, f"{q.id} has no Russian"
        assert q.question_ru and q.reference_answer_ru, q.id
        assert q.key_points_ru is not None and len(q.key_points_ru) == len(q.key_points), q.id
        assert q.follow_ups_ru is not None and len(q.follow_ups_ru) == len(q.follow_ups), q.id
        assert q.text_in("ru") == q.question_ru and q.text_in("en") == q.question


@pytest.mark.parametrize("slug", [n.slug for n in load_notes()])
def test_every_bundled_note_has_russian_sections(slug: str) -> None:
    """After ``## Кратко`` come Russian sections; one at least beyond the summary itself."""
    (note,) = [n for n in load_notes() if n.slug == slug]
    headings = [line[3:].strip() for line in note.body.splitlines() if line.startswith("## ")]
    assert "Кратко" in headings, slug
    after = headings[headings.index("Кратко") + 1 :]
    assert len(after) >= 2, f"{slug}: Russian sections after ## Кратко: {after}"
    for h in after:
        assert any("\u0400" <= ch <= "\u04ff" for ch in h), f"{slug}: heading {h!r} is not Russian"


RU = {
    "question_ru": "Чему равна производная сигмоиды?",
    "reference_answer_ru": "σ'(x) = σ(x)(1 − σ(x)), максимум 0.25 при x = 0.",
    "key_points_ru": ["пункт 1", "пункт 2", "пункт 3"],
    "follow_ups_ru": ["А у tanh?"],
}


def _question(**extra: object) -> dict[str, object]:
    return {
        "id": "calculus-1",
        "topic": "calculus",
        "difficulty": "easy",
        "question": "What is the derivative of the sigmoid?",
        "reference_answer": "s(1 - s).",
        "key_points": ["a", "b", "c"],
        "follow_ups": ["And tanh?"],
        **extra,
    }


def test_russian_fields_and_fallbacks() -> None:
    en_only = Question.model_validate(_question())
    assert not en_only.has_russian
    assert en_only.text_in("ru") == en_only.question
    assert en_only.reference_in("ru") == en_only.reference_answer
    assert en_only.key_points_in("ru") == ["a", "b", "c"]
    assert en_only.follow_ups_in("ru") == ["And tanh?"]
    both = Question.model_validate(_question(**RU))
    assert both.has_russian
    assert both.text_in("ru") == RU["question_ru"] and both.text_in("en") == both.question
    assert both.reference_in("ru") == RU["reference_answer_ru"]
    assert both.key_points_in("ru") == RU["key_points_ru"]
    assert both.key_points_in("en") == ["a", "b", "c"]
    assert both.follow_ups_in("ru") == RU["follow_ups_ru"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"follow_ups_ru": None}, "but not follow_ups_ru"),
        ({"key_points_ru": ["только один"]}, "key_points_ru has 1 items but key_points has 3"),
        ({"follow_ups_ru": ["раз", "два"]}, "follow_ups_ru has 2 items but follow_ups has 1"),
        ({"question_ru": "What is it?"}, "question_ru contains no Russian"),
        ({"key_points_ru": ["а", " ", "в"]}, "key_points_ru has an empty item"),
    ],
)
def test_incomplete_russian_names_file_and_question(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    import yaml

    q = {k: v for k, v in {**_question(**RU), **change}.items() if v is not None and k != "topic"}
    meta = {"slug": "calculus", "title": "Calculus", "questions": [q]}
    path = tmp_path / "calculus.md"
    path.write_text(f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\nbody\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as err:
        parse_note(path)
    assert str(path) in err.value.message
    assert "calculus-1" in err.value.message and problem in err.value.message


def test_question_by_id(synthetic_notes: Path) -> None:
    from mltutor.knowledge.bank import question_by_id

    assert question_by_id("calculus-2", notes_dir=synthetic_notes).topic == "calculus"
    with pytest.raises(KnowledgeError, match="no question with id 'calculus-99'"):
        question_by_id("calculus-99", notes_dir=synthetic_notes)


def test_no_import_cycle_between_notes_and_questions() -> None:
    """questions.py never imports notes.py (load_questions lives in bank.py), at any level."""
    import ast
    import inspect

    from mltutor.knowledge import questions

    tree = ast.parse(inspect.getsource(questions))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {m for m in imported if m and m.startswith("mltutor.knowledge.notes")}
    assert not {m for m in imported if m and m.startswith("mltutor.knowledge.bank")}
