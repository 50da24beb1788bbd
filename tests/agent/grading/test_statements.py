"""check_statements: the tutor's prose verification against the retrieved notes."""

from __future__ import annotations

from mltutor.agent.grading import Grader

NOTES = [
    "L1 regularisation adds λΣ|w| to the loss. Its constraint region is a diamond with corners on the "
    "axes, so the optimum often has weights exactly zero. L2 adds λΣw² and shrinks weights smoothly; "
    "they become small but not zero.",
    "The sigmoid's derivative is σ(x)(1 − σ(x)); it is largest at x = 0, where it equals 0.25.",
]


def test_each_sentence_is_supported_contradicted_or_unsupported(grader: Grader) -> None:
    sentences = [
        "L1 gives exactly zero weights because its diamond-shaped region has corners on the axes.",
        "L2 gives sparse weights because its ball has corners on the axes.",
        "The derivative of the sigmoid peaks at 0.5 at x = 0.",
        "Gradient boosting builds trees one after another.",
    ]
    out = grader.check_statements(sentences, NOTES)
    assert [s.verdict for s in out] == ["supported", "contradicted", "contradicted", "unsupported"]
    assert out[0].source == 1 and out[0].evidence
    assert out[1].source == 1 and "L1" in out[1].reason
    assert out[2].source == 2 and "0.25" in out[2].reason
    assert out[3].source is None and out[3].evidence == ""


def test_empty_inputs(grader: Grader) -> None:
    assert grader.check_statements([], NOTES) == []
    (only,) = grader.check_statements(["L1 gives sparse weights."], [])
    assert only.verdict == "unsupported"


def test_what_a_term_is_said_not_to_do_is_no_swap(grader: Grader) -> None:
    # a paraphrase of our own note was once "contradicted": "failing to reject" put "reject"
    # near type II, a word the reference only says of type I
    notes = [
        "A type I error rejects a true null hypothesis, with probability α. A type II error misses "
        "a real effect, with probability β, and power is 1 − β."
    ]
    out = grader.check_statements(
        [
            "A type II error is failing to reject a false H0, with probability β.",
            "A type II error rejects a true null hypothesis, with probability α.",
        ],
        notes,
    )
    assert out[0].verdict != "contradicted"
    assert out[1].verdict == "contradicted"  # the real swap is still caught
