"""The interview question bank: the ``questions`` of every note, filtered and looked up by id.

The mock interviewer and the eval harness consume these; the questions are typed and validated when
a note is loaded, so a typo in a note fails at load time with the file named, not mid-interview.
"""

from __future__ import annotations

from pathlib import Path

from mltutor.knowledge.errors import KnowledgeError
from mltutor.knowledge.notes import load_notes
from mltutor.knowledge.questions import Difficulty, Question


def load_questions(
    topic: str | None = None,
    difficulty: Difficulty | None = None,
    *,
    notes_dir: Path | None = None,
) -> list[Question]:
    """Questions of all notes (or one topic / one difficulty), in note order then file order.

    An unknown ``topic`` gives an empty list rather than an error: callers filter and decide.
    """
    out: list[Question] = []
    for note in load_notes(notes_dir):
        if topic is not None and note.slug != topic:
            continue
        out.extend(q for q in note.questions if difficulty is None or q.difficulty == difficulty)
    return out


def question_by_id(question_id: str, *, notes_dir: Path | None = None) -> Question:
    """The bank question with this id; a KnowledgeError naming the id if there is none."""
    for q in load_questions(notes_dir=notes_dir):
        if q.id == question_id:
            return q
    raise KnowledgeError(
        f"no question with id {question_id!r} in the bank; ids look like 'calculus-1'"
    )
