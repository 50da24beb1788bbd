"""Prompt and completion tokens in the case records are the server's own counts, summed over every
model call of a case (the tutor's tool round and best-of-N drafts included); estimated, and said to
be, only when the server sends no usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltutor.agent.llm import EndpointConfig, OpenAIChatModel
from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.launch import Injected
from mltutor.evals.records import RunConfig
from mltutor.evals.rundir import RunDir
from mltutor.settings import Settings
from tests.agent.fake_openai_server import FakeOpenAIServer, text
from tests.evals.conftest import bank_sample, write_qa_suite
from tests.evals.fakes import LexicalGrader, RecordingRetriever
from tests.evals.test_no_answer_key import _chunks

PROMPT, COMPLETION = 1000, 77
"""What the scripted server reports for every call: no estimate gives these numbers."""
ANSWER = "The learning rate scales each step along the negative gradient [1]."


def _model(url: str) -> OpenAIChatModel:
    return OpenAIChatModel(
        EndpointConfig(base_url=url, model="fake-model", timeout_s=10.0, max_retries=0)
    )


def _run(
    tmp_path: Path, settings: Settings, server: FakeOpenAIServer, solver: str, best_of: int = 1
) -> list:
    questions = bank_sample(2)
    suite = load_suite(str(write_qa_suite(tmp_path / "tiny.jsonl", questions)))
    injected = Injected(
        model=_model(server.url),
        retriever=RecordingRetriever(_chunks(questions)),
        grader=LexicalGrader(),
    )
    run_dir = tmp_path / f"run-{solver}"
    config = RunConfig(suite=suite.source, solver=solver, best_of=best_of)
    outcome = launch.start(suite, config, settings, tmp_path, injected=injected, run_dir=run_dir)
    records = RunDir.open(run_dir).records()
    assert outcome.errors == 0, records
    return records


@pytest.mark.parametrize(("solver", "best_of"), [("tutor", 2), ("raw", 1)])
def test_tokens_are_the_server_s_counts_summed_over_every_call(
    tmp_path: Path, settings: Settings, solver: str, best_of: int
) -> None:
    usage = {"prompt_tokens": PROMPT, "completion_tokens": COMPLETION}
    with FakeOpenAIServer(default=text(ANSWER, usage=usage)) as server:
        records = _run(tmp_path, settings, server, solver, best_of)
        requests = server.chat_requests
    assert all(r.include_usage for r in requests if r.stream)
    calls = [r.details["model_calls"] for r in records]
    assert sum(calls) == len(requests)
    if solver == "tutor":
        assert min(calls) >= best_of  # every draft counted, not only the one shown
    for record, n in zip(records, calls, strict=True):
        assert record.details["tokens_source"] == "server"
        assert record.details["tokens_estimated"] is False
        assert record.metrics["prompt_tokens"] == PROMPT * n
        assert record.metrics["completion_tokens"] == COMPLETION * n


def test_a_server_without_stream_usage_gives_estimates_marked_as_such(
    tmp_path: Path, settings: Settings
) -> None:
    usage = {"prompt_tokens": PROMPT, "completion_tokens": COMPLETION}
    with FakeOpenAIServer(default=text(ANSWER, usage=usage), reject_stream_options=True) as server:
        records = _run(tmp_path, settings, server, "raw")
        sent = [("stream_options" in r.body) for r in server.chat_requests]
    assert sent == [True, False, False]  # rejected once, then never asked again
    for record in records:
        assert record.details["tokens_source"] == "estimate"
        assert record.details["tokens_estimated"] is True
        assert record.metrics["completion_tokens"] == (len(ANSWER) + 3) // 4
        assert record.metrics["prompt_tokens"] not in (0, PROMPT)
