"""Bad input: empty, huge, formula-only, other-language answers; restating the question."""

from __future__ import annotations

import time

from mltutor.agent.grading import Grader
from mltutor.agent.grading.grader import MAX_ANSWER_CHARS
from tests.agent.grading.test_deterministic import L1_GOOD, L1_PARTIAL, L1_QUESTION


def test_an_empty_answer_scores_zero(grader: Grader) -> None:
    for empty in ("", "   \n\t "):
        grade = grader.grade(L1_QUESTION, empty)
        assert grade.score == 0 and grade.band == "wrong"
        assert all(k.verdict == "missing" for k in grade.key_points)
        assert "the answer is empty" in grade.grader.notes


def test_a_50000_character_answer_is_cut_in_bounded_time(grader: Grader) -> None:
    huge = (L1_PARTIAL + " ") * (50_000 // (len(L1_PARTIAL) + 1) + 1)
    assert len(huge) >= 50_000
    start = time.perf_counter()
    grade = grader.grade(L1_QUESTION, huge)
    assert time.perf_counter() - start < 30
    assert any(f"cut at {MAX_ANSWER_CHARS} characters" in n for n in grade.grader.notes)
    assert grade.band in ("partial", "wrong")


def test_an_answer_that_is_only_a_formula(grader: Grader) -> None:
    grade = grader.grade(
        "What is the derivative of the sigmoid?", "σ'(x) = σ(x)(1 − σ(x))", question_id="calculus-1"
    )
    assert [m.status for m in grade.math] == ["ok"]
    assert grade.key_points[0].verdict == "covered"  # the formula key point
    assert grade.band in ("partial", "wrong")  # right, but says nothing else that was asked
    wrong = grader.grade(
        "What is the derivative of the sigmoid?", "σ'(x) = σ(x)(1 + σ(x))", question_id="calculus-1"
    )
    assert [m.status for m in wrong.math] == ["wrong"] and wrong.band == "wrong"


def test_an_answer_in_another_language_is_graded_against_that_language(grader: Grader) -> None:
    ru = (
        "L1 добавляет к функции потерь λΣ|w|; его область ограничений — ромб с углами на осях, "
        "поэтому решение часто попадает в угол, где часть весов ровно ноль. Область L2 — круг, "
        "веса становятся маленькими, но не нулевыми."
    )
    grade = grader.grade(L1_QUESTION, ru)
    assert grade.question_id == "regularization-1" and grade.rubric.language == "ru"
    assert grade.count("covered") >= 3 and grade.count("contradicted") == 0


def test_a_rubric_in_another_language_is_compared_by_meaning_and_says_so(grader: Grader) -> None:
    rubric = grader.rubric_for(L1_QUESTION, language="en")
    ru = "Область L1 — ромб с углами на осях, поэтому часть весов становится ровно нулём."
    grade = grader.grade(L1_QUESTION, ru, rubric=rubric)
    assert any("compared by meaning only" in n for n in grade.grader.notes)
    assert grade.count("covered") >= 1


def test_restating_the_question_earns_nothing(grader: Grader) -> None:
    padded = "Why does L1 give sparse weights and L2 does not? That is the question. " + L1_PARTIAL
    plain = grader.grade(L1_QUESTION, L1_PARTIAL)
    grade = grader.grade(L1_QUESTION, padded)
    assert any("restate the question" in n for n in grade.grader.notes)
    assert grade.score <= plain.score + 0.5
    assert grader.grade(L1_QUESTION, L1_QUESTION).score < 2


def test_a_long_good_answer_is_not_penalised_for_length(grader: Grader) -> None:
    rambling = (
        L1_GOOD
        + " "
        + " ".join(
            [
                "In practice I would tune λ by cross-validation.",
                "Elastic net mixes both penalties.",
                "Scaling the features first matters for both.",
            ]
        )
    )
    assert grader.grade(L1_QUESTION, rambling).band == "good"
