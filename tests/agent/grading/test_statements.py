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
