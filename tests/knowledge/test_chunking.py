"""Chunking: heading paths, size limits, summary/question chunks and stable ids."""

from __future__ import annotations

from pathlib import Path

from mltutor.knowledge.chunking import (
    MAX_CHARS,
    chunk_id,
    chunk_note,
    chunk_notes,
    markdown_sections,
    plain_text_sections,
    split_long,
)
from mltutor.knowledge.notes import load_notes, parse_note


def test_heading_paths_and_fences() -> None:
    body = (
        "intro text\n\n## Key formulas\n\nformulas\n\n### Sigmoid\n\nsig\n\n"
        "```python\n## not a heading\nx = 1\n```\n\n#### Deep\n\ndeep text\n\n## Intuition\n\nwhy"
    )
    sections = markdown_sections(body, max_level=3)
    paths = [" > ".join(p) for p, _ in sections]
    assert paths == ["", "Key formulas", "Key formulas > Sigmoid", "Intuition"]
    sigmoid = sections[2][1]
    assert "## not a heading" in sigmoid and "#### Deep" in sigmoid


def test_note_chunks(synthetic_notes: Path) -> None:
    note = parse_note(synthetic_notes / "calculus.md")
    chunks = chunk_note(note)
    kinds = [c.kind for c in chunks]
    assert kinds.count("summary") == 2  # English and Russian
    assert kinds.count("question") == 4
    headings = [c.heading for c in chunks]
    assert "Key formulas > Sigmoid" in headings
    assert "Overview" in headings and "Overview (RU)" in headings
    sig = next(c for c in chunks if c.heading == "Key formulas > Sigmoid")
    assert sig.citation == "calculus § Sigmoid"
    assert sig.search_text().startswith("Calculus for ML > Key formulas > Sigmoid\n")
    assert sig.source == "notes/calculus.md" and sig.topic == "calculus"
    ru = next(c for c in chunks if c.heading == "Overview (RU)")
    assert "матанализ" in ru.text and "Матанализ для ML" in ru.text
    q = next(c for c in chunks if c.kind == "question")
    assert "Question 1 about" in q.text and "Answer 1" in q.text and "point 1a" in q.text
    assert len({c.id for c in chunks}) == len(chunks)


def test_ids_stable_across_runs_and_unrelated_edits(synthetic_notes: Path) -> None:
    path = synthetic_notes / "calculus.md"
    first = {c.heading: c.id for c in chunk_note(parse_note(path))}
    assert first == {c.heading: c.id for c in chunk_note(parse_note(path))}
    text = path.read_text(encoding="utf-8").replace("Gradients flow", "Gradients always flow")
    path.write_text(text, encoding="utf-8")
    after = {c.heading: c.id for c in chunk_note(parse_note(path))}
    assert after == first  # same sections, same ids; only the edited text differs


def test_chunk_id_depends_on_source_heading_ordinal() -> None:
    a = chunk_id("notes/a.md", "X", 0)
    assert a == chunk_id("notes/a.md", "X", 0)
    assert len({a, chunk_id("notes/b.md", "X", 0), chunk_id("notes/a.md", "Y", 0),
                chunk_id("notes/a.md", "X", 1)}) == 4  # fmt: skip


def test_long_sections_split_by_paragraphs() -> None:
    paras = [f"Paragraph {i} " + "word " * 60 for i in range(20)]
    pieces = split_long("\n\n".join(paras))
    assert len(pieces) > 1
    assert all(len(p) <= MAX_CHARS for p in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == "".join(paras).replace(" ", "")
    giant = "x" * 5000  # one unbreakable token
    assert all(len(p) <= MAX_CHARS for p in split_long(giant))
    one_line = " ".join(["token"] * 1000)
    assert all(len(p) <= MAX_CHARS for p in split_long(one_line))


def test_duplicate_headings_get_distinct_ids(tmp_path: Path) -> None:
    from .conftest import note_text

    text = note_text("dup", "Dup", sections={"Example": "one"}) + "\n## Example\n\ntwo\n"
    (tmp_path / "dup.md").write_text(text, encoding="utf-8")
    chunks = chunk_note(parse_note(tmp_path / "dup.md"))
    examples = [c for c in chunks if c.heading == "Example"]
    assert len(examples) == 2 and examples[0].id != examples[1].id


def test_plain_text_headings() -> None:
    text = (
        "Intro line\n\n1. Calculus (3 задачи)\n\nDerivatives.\n\n2. Linear Algebra\n\n"
        "Matrices. 3. not a heading\n\n2.1 SVD\n\nX = U S V^T\n\n10. Scaling Laws\n\ntext"
    )
    sections = plain_text_sections(text)
    assert [p for p, _ in sections] == [
        [],
        ["1. Calculus (3 задачи)"],
        ["2. Linear Algebra"],
        ["2. Linear Algebra", "2.1 SVD"],
        ["10. Scaling Laws"],
    ]


def test_real_notes_chunk_sizes() -> None:
    chunks = chunk_notes(load_notes())
    assert chunks
    assert all(len(c.text) <= MAX_CHARS for c in chunks if c.kind in ("section", "summary"))
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_language_by_cyrillic_share() -> None:
    from mltutor.knowledge.chunking import chunk_language

    assert chunk_language("The sigmoid derivative is s(1 - s).") == "en"
    assert chunk_language("Производная сигмоиды выражается через саму сигмоиду.") == "ru"
    # Russian prose around a Latin formula is still Russian
    ru_formula = "Производная: $$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$$, максимум при нуле."
    assert chunk_language(ru_formula) == "ru"
    # an English section naming one Russian term stays English
    assert chunk_language("Bootstrap (бутстрап) resamples the data with replacement.") == "en"
    assert chunk_language("1 + 2 = 3") == "en"


def _with_russian(path: Path, index: int) -> None:
    """Give the ``index``-th question of a synthetic note a Russian version."""
    import yaml

    from mltutor.knowledge.notes import split_front_matter

    parts = split_front_matter(path.read_text(encoding="utf-8"))
    assert parts is not None
    meta = yaml.safe_load(parts[0])
    q = meta["questions"][index]
    q["question_ru"] = f"Вопрос {index} про сигмоиду?"
    q["reference_answer_ru"] = f"Ответ {index}: производная сигмоиды равна s(1 - s)."
    q["key_points_ru"] = [f"пункт {index}{c}" for c in "абв"]
    q["follow_ups_ru"] = [f"Дополнительный вопрос {index}?"]
    dumped = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{dumped}---\n{parts[1]}", encoding="utf-8")


def test_question_chunks_in_both_languages(synthetic_notes: Path) -> None:
    path = synthetic_notes / "calculus.md"
    before = {c.id for c in chunk_note(parse_note(path))}
    _with_russian(path, 0)
    note = parse_note(path)
    chunks = chunk_note(note)
    questions = [c for c in chunks if c.kind == "question"]
    assert len(questions) == 5  # four English, one Russian
    first = [c for c in questions if c.question_id == note.questions[0].id]
    assert sorted(c.language for c in first) == ["en", "ru"]
    (ru,) = [c for c in first if c.language == "ru"]
    assert "Вопрос 0 про сигмоиду?" in ru.text and "пункт 0а" in ru.text
    assert ru.heading.startswith("Вопрос: ")
    assert all(c.question_id.startswith("calculus-") for c in questions)
    assert {c.question_id for c in questions} == {q.id for q in note.questions}
    assert all(c.question_id == "" for c in chunks if c.kind != "question")
    assert before <= {c.id for c in chunks}  # adding Russian keeps every English chunk's id
    summary_ru = next(c for c in chunks if c.heading == "Overview (RU)")
    assert summary_ru.language == "ru"
    kratko = next(c for c in chunks if c.heading == "Кратко")
    assert kratko.language == "ru"
    assert next(c for c in chunks if c.heading == "Intuition").language == "en"


def test_real_notes_question_chunks_carry_ids() -> None:
    notes = load_notes()
    chunks = chunk_notes(notes)
    ids = {q.id for n in notes for q in n.questions}
    q_chunks = [c for c in chunks if c.kind == "question"]
    assert {c.question_id for c in q_chunks} == ids
    for n in notes:
        for q in n.questions:
            langs = {c.language for c in q_chunks if c.question_id == q.id}
            assert langs == ({"en", "ru"} if q.has_russian else {"en"}), q.id
