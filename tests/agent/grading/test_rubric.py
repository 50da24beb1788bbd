"""Where the rubric comes from: a bank question (EN or RU, reworded), a bank id, or the notes."""

from __future__ import annotations

from typing import Any

import pytest

from mltutor.agent.errors import GradingError, NoRubricError
from mltutor.agent.grading import Grader
from mltutor.settings import Settings


def test_a_reworded_bank_question_matches_in_english_and_russian(grader: Grader) -> None:
    en = grader.rubric_for("Why does L1 regularization give exactly zero weights but L2 doesn't?")
    ru = grader.rubric_for("Почему L1-регуляризация зануляет веса, а L2 нет?")
    assert en.question_id == ru.question_id == "regularization-1"
    assert en.source == ru.source == "bank" and en.match_score >= 0.68
    assert ru.language == "ru" and any("ромб" in p for p in ru.key_points)
    assert en.language == "en" and any("diamond" in p for p in en.key_points)


def test_the_rubric_follows_the_answer_language(grader: Grader) -> None:
    rubric = grader.rubric_for("Why does L1 give sparse weights and L2 not?", language="ru")
    assert rubric.question_id == "regularization-1" and rubric.language == "ru"


def test_a_bank_id_is_used_directly(grader: Grader) -> None:
    rubric = grader.rubric_for("", question_id="calculus-1")
    assert rubric.question_id == "calculus-1" and rubric.match_score == 1.0
    with pytest.raises(NoRubricError, match="no bank question with id 'nope-1'"):
        grader.rubric_for("anything", question_id="nope-1")


def test_a_question_not_in_the_bank_gets_a_rubric_from_the_notes(grader: Grader) -> None:
    rubric = grader.rubric_for(
        "What's the derivative of tanh, and how does tanh compare with the sigmoid when it comes "
        "to vanishing gradients?"
    )
    assert rubric.source == "notes" and rubric.question_id is None
    assert rubric.topic == "calculus"
    assert 3 <= len(rubric.key_points) <= 6
    assert any("tanh" in p for p in rubric.key_points)
    assert rubric.reference and "tanh" in rubric.reference


def test_a_question_matching_nothing_says_what_was_tried(grader: Grader) -> None:
    with pytest.raises(NoRubricError) as caught:
        grader.rubric_for("What is the capital of France?")
    err = caught.value
    assert isinstance(err, GradingError)
    assert "no rubric" in err.message
    assert any("question bank" in t for t in err.tried)
    assert any("note section" in t for t in err.tried)


def test_without_a_notes_search_a_non_bank_question_has_no_rubric(
    grader: Grader,
) -> None:
    bare = Grader(notes=list(grader.notes.values()), embed=grader.embed, search=None)
    with pytest.raises(NoRubricError, match="no notes search"):
        bare.rubric_for("What's the derivative of tanh?")


def test_bank_vectors_are_cached_on_disk_and_reused(grader: Grader, settings: Settings) -> None:
    grader.rubric_for("Why does L1 give sparse weights and L2 not?")
    cached = list(settings.cache_dir.glob("grading/bank-*.npy"))
    assert len(cached) == 1
    calls: list[int] = []

    def counting(texts: Any) -> Any:
        calls.append(len(texts))
        return grader.embed(texts)

    again = Grader(
        notes=list(grader.notes.values()),
        embed=counting,  # the real embedder, counted
        cache_dir=settings.cache_dir,
        embed_id=grader.matcher._embed_id,
    )
    again.rubric_for("Why does L1 give sparse weights and L2 not?")
    assert calls == [1]  # only the question was embedded; the bank came from the cache
