"""The interview question bank: the ``questions`` of every note as typed objects.

The mock interviewer and the eval harness consume these; keeping them typed (and validated when a
note is loaded) means a typo in a note fails at load time with the file named, not mid-interview.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")


class Question(BaseModel):
    """One interview question with what a grader needs to judge an answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    difficulty: Difficulty
    question: str = Field(min_length=1)
    reference_answer: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list)
    follow_ups: list[str] = Field(default_factory=list)


def load_questions(
    topic: str | None = None,
    difficulty: Difficulty | None = None,
    *,
    notes_dir: Path | None = None,
) -> list[Question]:
    """Questions of all notes (or one topic / one difficulty), in note order then file order.

    An unknown ``topic`` gives an empty list rather than an error: callers filter and decide.
    """
    from mltutor.knowledge.notes import load_notes  # notes.py imports Question from here

    out: list[Question] = []
    for note in load_notes(notes_dir):
        if topic is not None and note.slug != topic:
            continue
        out.extend(q for q in note.questions if difficulty is None or q.difficulty == difficulty)
    return out
