"""Deterministic grading of fixed answers: covered, missing and contradicted key points, math, order.

The answers below were written for these tests (not taken from the grading set). The question is
phrased differently from the bank's regularization-1, so matching is exercised too.
"""

from __future__ import annotations

from mltutor.agent.grading import Grade, Grader

L1_QUESTION = "Why does L1 give sparse weights and L2 not?"
L1_GOOD = (
    "L1 adds λΣ|w| to the loss and L2 adds λΣw². The L1 constraint region is a diamond whose "
    "corners lie on the axes, so the loss contours usually touch it at a corner where some weights "
    "are exactly zero; the L2 ball is round, so the touching point has all weights non-zero. The L1 "
    "subgradient has constant size λ however small the weight, pushing it to zero, while the L2 "
    "gradient 2λw fades near zero. So L1 does feature selection and L2 shrinks weights smoothly and "
    "copes with correlated features."
)
L1_PARTIAL = (
    "L1 adds the absolute values of the weights and tends to make them sparse; L2 adds squares and "
    "just makes the weights smaller."
)
L1_SWAPPED = (
    "L2 gives sparse weights because squaring pushes small weights to exactly zero, while L1 only "
    "shrinks them proportionally. Geometrically the L2 ball has corners on the axes and the L1 ball "
    "is round."
)


def verdicts(grade: Grade) -> list[str]:
    return [k.verdict for k in grade.key_points]


def test_a_complete_answer_covers_every_key_point(grader: Grader) -> None:
    grade = grader.grade(L1_QUESTION, L1_GOOD)
    assert grade.question_id == "regularization-1"
    assert grade.rubric_source == "bank"
    assert verdicts(grade) == ["covered"] * len(grade.key_points)
    assert grade.band == "good" and grade.score >= 7
    assert all(k.evidence for k in grade.key_points)  # each covered point quotes the answer


def test_a_partial_answer_has_missing_points_and_no_contradiction(grader: Grader) -> None:
    grade = grader.grade(L1_QUESTION, L1_PARTIAL)
    assert "missing" in verdicts(grade)
    assert "contradicted" not in verdicts(grade)
    assert grade.band == "partial"
    missing = [k for k in grade.key_points if k.verdict == "missing"]
    assert any("diamond" in k.point for k in missing)  # the geometric reason was never given


def test_swapped_terms_are_contradicted_not_covered(grader: Grader) -> None:
    """Same vocabulary as a right answer ("sparse", "corners", "round"), roles exchanged."""
    grade = grader.grade(L1_QUESTION, L1_SWAPPED)
    contradicted = [k for k in grade.key_points if k.verdict == "contradicted"]
    assert contradicted, verdicts(grade)
    assert all(k.evidence and k.evidence in L1_SWAPPED for k in contradicted)
    assert any("L2" in k.reason and "L1" in k.reason for k in contradicted)
    assert grade.band == "wrong" and grade.score < 4


def test_scores_order_good_partial_wrong(grader: Grader) -> None:
    good, partial, wrong = (grader.grade(L1_QUESTION, a) for a in (L1_GOOD, L1_PARTIAL, L1_SWAPPED))
    assert good.score > partial.score > wrong.score


def test_swapped_precision_and_recall_formulas(grader: Grader) -> None:
    grade = grader.grade(
        "Define precision and recall.", "Precision is TP/(TP + FN) and recall is TP/(TP + FP)."
    )
    assert "contradicted" in verdicts(grade)
    assert grade.band == "wrong"
    right = grader.grade(
        "Define precision and recall.",
        "Precision is TP/(TP + FP), the share of flagged items that are really positive; recall is "
        "TP/(TP + FN), the share of real positives we catch.",
    )
    assert "contradicted" not in verdicts(right)
    assert right.score > grade.score


def test_a_wrong_number_in_russian_is_contradicted(grader: Grader) -> None:
    grade = grader.grade(
        "Чему равна производная сигмоиды и где её максимум?",
        "σ'(x) = σ(x)(1 − σ(x)). Максимум производной равен 0.5 при x = 0.",
        question_id="calculus-1",
    )
    assert grade.rubric.language == "ru"
    assert all(any("а" <= ch <= "я" for ch in k.point) or "σ" in k.point for k in grade.key_points)
    wrong = [k for k in grade.key_points if k.verdict == "contradicted"]
    assert wrong and "0.5" in wrong[0].evidence and "0.25" in wrong[0].reason
    assert grade.math and grade.math[0].status == "ok"  # the derivative itself is right


def test_a_wrong_formula_is_caught_by_the_checker_and_counts_against_a_key_point(
    grader: Grader,
) -> None:
    grade = grader.grade(
        "What is the derivative of tanh and how does tanh compare with the sigmoid for vanishing "
        "gradients?",
        "The derivative is tanh'(x) = 1 + tanh^2(x), so it is at least 1 and tanh never saturates.",
    )
    wrong = [m for m in grade.math if m.status == "wrong"]
    assert len(wrong) == 1 and "1 + tanh^2(x)" in wrong[0].claim
    assert wrong[0].expected  # what it should be (1 - tanh^2 = 1/cosh^2)
    assert any(
        k.verdict == "contradicted" and "wrong formula" in k.reason for k in grade.key_points
    )
    assert grade.band == "wrong"


def test_grading_is_reproducible(grader: Grader) -> None:
    first = grader.grade(L1_QUESTION, L1_PARTIAL).to_json()
    second = grader.grade(L1_QUESTION, L1_PARTIAL).to_json()
    first["grader"].pop("seconds")
    second["grader"].pop("seconds")
    assert first == second


def test_json_shape(grader: Grader) -> None:
    out = grader.grade(L1_QUESTION, L1_SWAPPED).to_json()
    assert set(out) == {
        "score", "band", "question_id", "rubric_source", "key_points", "math", "grader"
    }  # fmt: skip
    assert 0 <= out["score"] <= 10 and out["band"] in ("good", "partial", "wrong")
    assert {"point", "verdict", "evidence"} <= set(out["key_points"][0])
    assert set(out["grader"]) >= {"mode", "model", "seconds"}
    assert out["grader"]["mode"] == "deterministic" and out["grader"]["model"] is None
