"""A planted regression is detected: a model that drops key points scores lower, with non-overlapping
95% intervals, a paired difference whose interval excludes zero, and the flipped cases named.

Real grader (deterministic layer), one bank question per topic (24 topics).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.agent.grading import create_grader
from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.render import markdown
from mltutor.evals.reports import compare, summarize
from mltutor.evals.suites import Selection
from mltutor.knowledge.bank import load_questions
from mltutor.settings import Settings
from tests.evals.fakes import KeyedChatModel


def _answers(keep: float) -> dict[str, str]:
    """Per English bank question: its key points written out, keeping the first ``keep`` share."""
    out = {}
    for q in load_questions():
        n = max(1, round(len(q.key_points) * keep)) if keep < 1 else len(q.key_points)
        out[q.question] = " ".join(k.rstrip(".") + "." for k in q.key_points[:n])
    return out


def _model(table: dict[str, str]) -> KeyedChatModel:
    def answer(prompt: str) -> str:
        return next(a for q, a in table.items() if prompt.startswith(q))

    return KeyedChatModel(answer)


@pytest.mark.slow
def test_dropping_key_points_is_detected(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    grader = create_grader(settings)
    suite = load_suite("bank")
    selection = Selection(language="en", per_topic=1)
    runs = {}
    for name, keep in (("full", 1.0), ("dropped", 0.25)):
        config = RunConfig(suite="bank", solver="raw", selection=selection)
        injected = Injected(model=_model(_answers(keep)), grader=grader)
        runs[name] = tmp_path / name
        outcome = launch.start(
            suite, config, settings, tmp_path, injected=injected, run_dir=runs[name]
        )
        assert outcome.remaining == 0 and outcome.errors == 0
    full, dropped = summarize(runs["full"]), summarize(runs["dropped"])
    assert full.scored == dropped.scored >= 24
    score_full = next(m for m in full.metrics if m.name == "score").estimate
    score_dropped = next(m for m in dropped.metrics if m.name == "score").estimate
    assert score_full.mean is not None and score_dropped.mean is not None
    assert score_full.mean > score_dropped.mean
    assert not score_full.overlaps(score_dropped), (score_full, score_dropped)
    covered = next(m for m in dropped.metrics if m.name == "key points covered").estimate
    assert covered.mean is not None and covered.mean < 0.6  # the grader saw the key points go

    cmp = compare(runs["dropped"], runs["full"])
    assert cmp.pairs == full.scored and cmp.same_suite
    assert cmp.difference.hi is not None and cmp.difference.hi < 0  # the regression, paired
    assert cmp.losses > cmp.wins and cmp.sign_p < 0.01
    assert cmp.flips and all(f.direction == "lost" for f in cmp.flips)
    text = markdown(dropped, cmp)
    assert "Paired comparison" in text and cmp.flips[0].case_id in text
