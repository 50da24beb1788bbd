"""The qa scorers against the real grader: where a case's key points come from, and whether a cited
note supports the sentence that cites it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.agent.events import Citation
from mltutor.agent.grading import Grader, create_grader
from mltutor.agent.tutor.answer import compose_answer
from mltutor.agent.tutor.lead import HEADERS
from mltutor.agent.tutor.records import Candidate, StatementCheck, VerificationRecord
from mltutor.evals.scorers import citation_support, cited_sentences, qa_rubric, score_qa
from mltutor.evals.solvers import Solution
from mltutor.evals.suites import QACase
from mltutor.knowledge.notes import load_notes
from mltutor.settings import Settings
from mltutor.tools.limits import ToolLimits
from tests.agent.grading.conftest import LexicalSearch


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    root: Path = tmp_path_factory.mktemp("scorers")
    settings = Settings(data_dir=root / "data", cache_dir=root / "cache")
    notes = load_notes()
    return create_grader(settings, notes=notes, search=LexicalSearch(notes))


def _own_case() -> QACase:
    return QACase(
        kind="qa",
        id="own-1",
        question="Why does gradient descent need a learning rate?",
        key_points=["the learning rate scales each step along the negative gradient"],
        topic="optimization",
    )


def test_a_suite_case_s_own_key_points_are_reported_as_coming_from_the_suite(
    grader: Grader,
) -> None:
    case = _own_case()
    rubric = qa_rubric(case)
    assert rubric is not None and rubric.source == "suite"
    answer = "The learning rate scales each step along the negative gradient."
    _, details = score_qa(case, Solution(answer=answer), grader, ToolLimits())
    assert details["grade"]["rubric_source"] == "suite"


NOTE_L1 = (
    "L1 regularization adds the sum of the absolute values of the weights to the loss. Its "
    "constraint region is a diamond with corners on the axes, so the optimum often sets some "
    "weights exactly to zero. L2 regularization adds the sum of squared weights and shrinks every "
    "weight smoothly without making it zero."
)
NOTE_BAYES = (
    "Bayes' theorem turns the likelihood of the data and the prior into the posterior. The "
    "posterior is proportional to the likelihood times the prior."
)
SUPPORTED = "L1 regularization adds the sum of the absolute values of the weights to the loss"
UNSUPPORTED = "Dropout switches off random neurons during training to reduce co-adaptation"


def _hits() -> list[Citation]:
    return [
        Citation(
            label="regularization § L1",
            topic="regularization",
            heading="L1",
            source="n",
            text=NOTE_L1,
        ),
        Citation(
            label="probability § Bayes",
            topic="probability",
            heading="Bayes",
            source="n",
            text=NOTE_BAYES,
        ),
    ]


def test_a_citation_counts_as_supported_only_when_the_cited_note_says_it(grader: Grader) -> None:
    hits = _hits()
    assert citation_support(f"{SUPPORTED} [1].", hits, grader) == (1, 1)
    assert citation_support(f"{UNSUPPORTED} [1].", hits, grader) == (1, 0)
    # the right claim, the wrong note: [2] does not say it
    assert citation_support(f"{SUPPORTED} [2].", hits, grader) == (1, 0)
    # a marker written after the full stop cites the sentence before it
    assert citation_support(f"{SUPPORTED}. [1] {UNSUPPORTED}.", hits, grader) == (1, 1)


def test_the_tutor_s_apparatus_is_not_a_cited_sentence(grader: Grader) -> None:
    """The final answer as the tutor composes it: a lead's header, a sentence the verifier removed
    (its removal note names [1]), the † footnote and the source line all carry markers but claim
    nothing; only the model's own cited sentences are scored."""
    hits = _hits()
    wrong = "L2 regularization sets weights exactly to zero [1]."
    header = HEADERS["en"].format(n=1, label=hits[0].label)
    text = f"{header}\n\n{NOTE_L1}\n\n{SUPPORTED} [1]. {UNSUPPORTED} [1]. {wrong}"
    checks = [
        StatementCheck(sentence=wrong, verdict="contradicted", source=1),
        StatementCheck(sentence=f"{UNSUPPORTED} [1].", verdict="unsupported"),
    ]
    best = Candidate(text=text, verification=VerificationRecord(statements=checks))
    answer, _ = compose_answer(best, hits, [])
    assert "([1]) were removed" in answer and "†" in answer  # the apparatus is there
    assert [s for s, _ in cited_sentences(answer, hits)] == [f"{SUPPORTED}.", f"{UNSUPPORTED}."]
    assert citation_support(answer, hits, grader) == (2, 1)
    bare, _ = compose_answer(Candidate(text="No marker in this answer at all."), hits, [])
    assert "Source: [1]" in bare and cited_sentences(bare, hits) == []


def test_first_content_time_and_the_contradiction_share_are_metrics(grader: Grader) -> None:
    case = QACase(
        kind="qa",
        id="l1",
        question="Why does L1 give sparse weights and L2 not?",
        key_points=["L2 shrinks weights smoothly without making them exactly zero"],
        topic="regularization",
    )
    right = "L2 shrinks weights smoothly without making them exactly zero."
    wrong = "L2 makes weights exactly zero; it does not shrink them smoothly."
    good, _ = score_qa(
        case, Solution(answer=right, first_content_seconds=0.4), grader, ToolLimits()
    )
    bad, _ = score_qa(case, Solution(answer=wrong), grader, ToolLimits())
    assert good["first_content_seconds"] == 0.4 and bad["first_content_seconds"] is None
    assert good["any_contradicted"] == 0.0
    assert bad["any_contradicted"] == (1.0 if bad["contradicted"] else 0.0)
