"""The interview question as a typed object, with its optional Russian version.

This module only defines :class:`Question`; loading the bank (which needs the notes) lives in
:mod:`mltutor.knowledge.bank`, so imports flow one way: ``questions`` <- ``notes`` <- ``bank``.
The Russian fields are optional as a whole but all-or-nothing per question (see
``docs/notes-format.md``): a half-translated question fails at load time with its id named, not in
the middle of a Russian interview.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")
Language = Literal["en", "ru"]
LANGUAGES: tuple[Language, ...] = ("en", "ru")
RU_FIELDS = ("question_ru", "reference_answer_ru", "key_points_ru", "follow_ups_ru")


def has_cyrillic(text: str) -> bool:
    """True if ``text`` contains at least one Cyrillic letter."""
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


class Question(BaseModel):
    """One interview question with what a grader needs to judge an answer, in English and Russian."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    id: str = Field(min_length=1)
    """Bank-wide unique id, ``<topic>-<n>``."""
    topic: str = Field(min_length=1)
    """Slug of the note the question belongs to."""
    difficulty: Difficulty
    """How hard an interviewer would consider it: easy, medium or hard."""
    question: str = Field(min_length=1)
    """The question as asked (English)."""
    reference_answer: str = Field(min_length=1)
    """A complete answer an interviewer would accept (English)."""
    key_points: list[str] = Field(default_factory=list)
    """Short, checkable statements a good answer must contain (English)."""
    follow_ups: list[str] = Field(default_factory=list)
    """Questions to ask after the answer (English)."""
    question_ru: str | None = Field(default=None, min_length=1)
    """The question in Russian; ``None`` when the note has no Russian for it."""
    reference_answer_ru: str | None = Field(default=None, min_length=1)
    """The reference answer in Russian: same facts and formulas as ``reference_answer``."""
    key_points_ru: list[str] | None = None
    """The key points in Russian, item for item in the order of ``key_points``."""
    follow_ups_ru: list[str] | None = None
    """The follow-ups in Russian, item for item in the order of ``follow_ups``."""

    @model_validator(mode="after")
    def _russian_is_complete(self) -> Self:
        present = [name for name in RU_FIELDS if getattr(self, name) is not None]
        if not present:
            return self
        missing = [name for name in RU_FIELDS if name not in present]
        if missing:
            raise ValueError(
                f"question {self.id}: has {', '.join(present)} but not {', '.join(missing)} "
                "(the Russian fields go together: add all four or none)"
            )
        assert self.key_points_ru is not None and self.follow_ups_ru is not None
        for ru, en, name in (
            (self.key_points_ru, self.key_points, "key_points"),
            (self.follow_ups_ru, self.follow_ups, "follow_ups"),
        ):
            if len(ru) != len(en):
                raise ValueError(
                    f"question {self.id}: {name}_ru has {len(ru)} items but {name} has {len(en)} "
                    "(translate item for item, same order)"
                )
            if any(not item.strip() for item in ru):
                raise ValueError(f"question {self.id}: {name}_ru has an empty item")
        for name in ("question_ru", "reference_answer_ru"):
            if not has_cyrillic(str(getattr(self, name))):
                raise ValueError(f"question {self.id}: {name} contains no Russian text")
        return self

    @property
    def has_russian(self) -> bool:
        """True when the Russian version exists (then all four fields are set)."""
        return self.question_ru is not None

    def text_in(self, lang: str) -> str:
        """The question in ``lang`` ("en" or "ru"); English when there is no Russian."""
        return self.question_ru if lang == "ru" and self.question_ru is not None else self.question

    def reference_in(self, lang: str) -> str:
        """The reference answer in ``lang``; English when there is no Russian."""
        if lang == "ru" and self.reference_answer_ru is not None:
            return self.reference_answer_ru
        return self.reference_answer

    def key_points_in(self, lang: str) -> list[str]:
        """The key points in ``lang`` (same order in both languages); English as the fallback."""
        if lang == "ru" and self.key_points_ru is not None:
            return list(self.key_points_ru)
        return list(self.key_points)

    def follow_ups_in(self, lang: str) -> list[str]:
        """The follow-ups in ``lang`` (same order in both languages); English as the fallback."""
        if lang == "ru" and self.follow_ups_ru is not None:
            return list(self.follow_ups_ru)
        return list(self.follow_ups)
