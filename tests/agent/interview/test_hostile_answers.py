"""Issue 15: hostile interview answers. Every answer is graded (or refused as empty with an
InterviewError), within a bound; every graded answer is in the learner database; the transcript,
summary and Markdown export stay valid UTF-8 and JSON. Found here: an answer with bytes that are not
UTF-8 (a lone surrogate after decoding) crashed the interview when the attempt was stored, and the
scripted command line read all of stdin with no bound.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltutor.agent.grading import Grader
from mltutor.agent.interview import start_interview
from mltutor.agent.interview.errors import InterviewError
from mltutor.agent.interview.learner import LearnerStore, open_learner
from mltutor.agent.interview.records import Feedback
from tests.agent.interview.conftest import Clock

ROOT = Path(__file__).resolve().parents[3]
BOUND_S = 30.0

HOSTILE = [
    "x" * 50_000,
    "a\x00b\x00" * 100,
    "\ud800 lone surrogate \udfff",
    "\udcff\udcfe L1 \udcc3",  # bytes that were not UTF-8, as surrogate escapes
    "\u202e\u05e2\u05d1\u05e8\u05d9\u05ea \u0645\u0631\u062d\u0628\u0627 \u200f",
    "\u200b\ufeff" * 100,
    "λ = 0 ⇒ Var ↑; $$\\hat\\beta = (X^TX + \\lambda I)^{-1}X^Ty$$",
    "__import__('os').system('touch /tmp/pwned')",
    "9^9^9^9",
    "(" * 800 + "λ" + ")" * 800,
    "(10^400)! = 1 and 0.33333333333333333333333333333 = 1/3",
    "hint",  # a command word given to answer(): graded as text, never run as a command
    "🙂" * 2000,
]


def _interview(grader: Grader, store: LearnerStore, n: int = 3) -> object:
    return start_interview(
        grader,
        store,
        topics=["regularization"],
        n=n,
        clock=Clock(),
        rng=random.Random(0),
        max_follow_ups=0,
    )


def _answer(session: object, text: str) -> Feedback | None:
    start = time.perf_counter()
    try:
        fb: Feedback = session.answer(text)  # type: ignore[attr-defined]
    except InterviewError as exc:
        assert not text.strip() and "empty" in exc.message
        return None
    assert time.perf_counter() - start < BOUND_S
    assert fb.score is not None and 0 <= fb.score <= 10
    return fb


def _valid_outputs(session: object) -> None:
    data = json.dumps(session.to_json(), ensure_ascii=False, allow_nan=False)  # type: ignore[attr-defined]
    data.encode("utf-8")
    session.export_markdown().encode("utf-8")  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_are_graded_and_stored(
    grader: Grader, store: LearnerStore, text: str
) -> None:
    session = _interview(grader, store, n=1)
    fb = _answer(session, text)
    assert fb is not None and fb.closed
    attempts = store.attempts()
    assert len(attempts) == 1 and attempts[0].score == fb.score
    _valid_outputs(session)
    assert not Path("/tmp/pwned").exists()


answers = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["L1", " λ ", "\x00", "\ud800", "\udcff", "(", ")", "^", "=", "\n---\n"]),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(answers, min_size=1, max_size=3))
def test_random_answers_keep_the_database_and_transcript_consistent(
    grader: Grader, texts: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = open_learner(Path(tmp) / "data")
        try:
            session = _interview(grader, store, n=len(texts))
            graded = [fb for fb in (_answer(session, t) for t in texts) if fb is not None]
            assert [a.score for a in store.attempts()] == [fb.score for fb in graded]
            _valid_outputs(session)
            session.quit()  # type: ignore[attr-defined]
            saved = store.transcript(session.id)  # type: ignore[attr-defined]
            assert saved is not None
            json.dumps(saved, ensure_ascii=False).encode("utf-8")
        finally:
            store.close()


def test_cli_scripted_interview_with_hostile_stdin(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, NUL, a CESU-8 surrogate, a 300 KB answer, code and deep
    parentheses: exit 0, one JSON document, every answer recorded, no traceback."""
    stdin = b"\n---\n".join(
        [
            b"L1 \xff\xfe gives \x00 sparse weights",
            b"\xed\xa0\x80 lone surrogate bytes",
            b"bias variance " * 20_000,
            b"__import__('os').system('touch /tmp/pwned')",
        ]
    )
    env = {
        "MLTUTOR_DATA_DIR": str(tmp_path / "data"),
        "MLTUTOR_CACHE_DIR": str(tmp_path / "cache"),
        "MLTUTOR_CONFIG": str(tmp_path / "absent.toml"),
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    args = ["interview", "-n", "4", "--topic", "regularization", "--no-model", "--json"]
    args += ["--follow-ups", "0"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mltutor.cli", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert time.perf_counter() - start < 240
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0 and "Traceback" not in err, err[-2000:]
    data = json.loads(done.stdout.decode("utf-8"))
    answered = [q for q in data["questions"] if q["outcome"] == "answered"]
    assert len(answered) == 4
    assert "\ufffd" in answered[0]["answer"] and "\x00" in answered[0]["answer"]
    assert not Path("/tmp/pwned").exists()
