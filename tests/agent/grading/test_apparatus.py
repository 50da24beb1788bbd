"""The tutor's apparatus (citation markers, the † mark and its footnote, the Source line) is not graded.

The decorated answers are built with the tutor's own ``compose_answer`` where possible, so a change
in what the tutor appends shows up here.
"""

from __future__ import annotations

from mltutor.agent.grading import Grader
from mltutor.agent.grading.apparatus import strip_apparatus
from mltutor.agent.tutor.answer import FOOTNOTES, UNSUPPORTED_MARK

from .test_deterministic import L1_GOOD, L1_PARTIAL, L1_QUESTION, L1_SWAPPED


def decorate(answer: str, language: str = "en") -> str:
    """What the tutor's answer looks like: markers, a †, the footnote and a Source line."""
    first, dot, rest = answer.partition(". ")
    body = f"{first} [1]{dot}{rest}" if dot else f"{answer.rstrip('.')} [1]."
    body += UNSUPPORTED_MARK
    return (
        f"{body}\n\n*(1 line(s) with formulas that did not verify were removed from this answer.)*"
        f"\n\n*{FOOTNOTES[language]}*\n\nSource: [1] regularization.md § L1 vs L2 [2]"
    )


def test_strip_keeps_math_brackets_and_indices() -> None:
    text = "x lies in [0, 1], v = [1, 2] and a[1] = 3. L1 gives zeros [1][2]. Ridge does not.[3]"
    stripped, removed = strip_apparatus(text)
    assert stripped == "x lies in [0, 1], v = [1, 2] and a[1] = 3. L1 gives zeros. Ridge does not."
    assert removed == ["citation markers"]


def test_strip_takes_out_every_piece_of_the_tutors_apparatus() -> None:
    stripped, removed = strip_apparatus(decorate(L1_PARTIAL))
    assert "†" not in stripped and "[1]" not in stripped
    assert "Source" not in stripped and "removed from this answer" not in stripped
    assert set(removed) == {
        "source line",
        "footnote",
        "removal note",
        "citation markers",
        "unsupported-sentence marks",
    }
    russian, _ = strip_apparatus(f"L1 даёт нули [1]. †\n\n*{FOOTNOTES['ru']}*\n\nИсточники: [1] x")
    assert russian == "L1 даёт нули."


def test_plain_text_is_unchanged() -> None:
    assert strip_apparatus(L1_GOOD) == (L1_GOOD, [])


def test_the_apparatus_does_not_change_a_grade(grader: Grader) -> None:
    for answer in (L1_GOOD, L1_PARTIAL, L1_SWAPPED):
        plain = grader.grade(L1_QUESTION, answer)
        decorated = grader.grade(L1_QUESTION, decorate(answer))
        assert decorated.score == plain.score, answer
        assert [k.verdict for k in decorated.key_points] == [k.verdict for k in plain.key_points]
        assert any("citation markers" in n for n in decorated.grader.notes)
        assert not any("citation markers" in n for n in plain.grader.notes)
        for k in decorated.key_points:
            assert "†" not in k.evidence and "[1]" not in k.evidence
