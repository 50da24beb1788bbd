"""The judge layer: one reference-guided JSON call per answer, and every way it can fail."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from mltutor.agent.errors import ProviderError
from mltutor.agent.grading import Grader, create_grader
from mltutor.agent.grading.judge import ANSWER_CHARS, reply_schema
from mltutor.agent.llm import Completion, EndpointConfig, OpenAIChatModel
from mltutor.knowledge.notes import Note
from mltutor.settings import Settings
from tests.agent.fake_openai_server import FakeOpenAIServer, raw, text
from tests.agent.fakes import ScriptedChatModel
from tests.agent.grading.conftest import LexicalSearch
from tests.agent.grading.test_deterministic import L1_PARTIAL, L1_QUESTION

N_POINTS = 5  # regularization-1 has five key points


class RecordingModel(ScriptedChatModel):
    """The scripted fake, also recording what a judge call asks for."""

    def __init__(self, completions: list[Completion | Exception]) -> None:
        super().__init__(completions=completions)
        self.formats: list[dict[str, Any] | None] = []
        self.temperatures: list[float] = []

    def complete(self, messages: list[dict[str, Any]], **kwargs: Any) -> Completion:
        self.formats.append(kwargs.get("response_format"))
        self.temperatures.append(kwargs.get("temperature", 0.2))
        return super().complete(messages, **kwargs)


def reply(verdicts: list[str], quote: str = "", false: list[str] | None = None) -> str:
    return json.dumps(
        {
            "verdicts": [
                {"verdict": v, "quote": quote if v != "missing" else ""} for v in verdicts
            ],
            "false_statements": false or [],
        }
    )


def judged(settings: Settings, notes: list[Note], search: LexicalSearch, judge: Any) -> Grader:
    return create_grader(settings, notes=notes, search=search, judge=judge)


def test_the_judge_is_asked_once_reference_guided_at_temperature_zero_with_a_schema(
    settings: Settings, notes: list[Note], search: LexicalSearch, grader: Grader
) -> None:
    model = RecordingModel([Completion(content=reply(["covered"] * N_POINTS, quote="L1 adds"))])
    grade = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    assert len(model.complete_calls) == 1
    assert model.temperatures == [0.0]
    fmt = model.formats[0]
    assert fmt is not None and "json_schema" in fmt
    assert fmt["json_schema"]["schema"] == reply_schema(N_POINTS)
    system, user = model.complete_calls[0]["messages"]
    assert "do not solve the question" in system["content"]
    assert "Reference answer:" in user["content"] and "diamond" in user["content"]
    assert L1_PARTIAL in user["content"]
    assert grade.grader.mode == "combined" and grade.grader.model == "scripted"
    # the judge covered everything: the combined score is above the deterministic one
    assert grade.score > grader.grade(L1_QUESTION, L1_PARTIAL).score


def test_a_judge_contradiction_lowers_coverage_and_can_make_the_answer_wrong(
    settings: Settings, notes: list[Note], search: LexicalSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts = ["covered", "contradicted", "missing", "missing", "missing"]
    quote = "tends to make them sparse"
    covered = reply(["covered", "covered", "missing", "missing", "missing"], quote=quote)
    model = RecordingModel([Completion(content=reply(verdicts, quote=quote))])
    flagged = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    model = RecordingModel([Completion(content=covered)])
    credited = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    assert flagged.score < credited.score  # "contradicted" is not covered
    assert flagged.band != "wrong"  # by default the small judge alone cannot make it wrong
    monkeypatch.setattr("mltutor.agent.grading.grader.JUDGE_CONTRADICTS", True)
    model = RecordingModel([Completion(content=reply(verdicts, quote=quote))])
    trusted = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    assert trusted.key_points[1].verdict == "contradicted"
    assert trusted.key_points[1].evidence == quote
    assert trusted.band == "wrong"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("The answer is mostly right, 6/10.", "not JSON"),
        ('{"verdicts": [{"verdict": "great"}]}', "not valid JSON for the rubric"),
        (reply(["covered", "missing"]), "2 verdicts for 5 key points"),
        ('{"verdicts": [', "not JSON"),
    ],
)
def test_garbage_from_the_judge_falls_back_to_deterministic_with_a_note(
    settings: Settings,
    notes: list[Note],
    search: LexicalSearch,
    grader: Grader,
    content: str,
    why: str,
) -> None:
    model = RecordingModel([Completion(content=content)])
    grade = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    alone = grader.grade(L1_QUESTION, L1_PARTIAL)
    assert grade.grader.mode == "deterministic" and grade.grader.model is None
    assert any(why in n and "graded without the judge" in n for n in grade.grader.notes)
    assert grade.score == alone.score and grade.band == alone.band


def test_a_provider_error_falls_back_and_says_so(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    err = ProviderError("cannot reach the model server at http://x (refused)", "unreachable")
    grade = judged(settings, notes, search, RecordingModel([err])).grade(L1_QUESTION, L1_PARTIAL)
    assert grade.grader.mode == "deterministic"
    assert any("cannot reach the model server" in n for n in grade.grader.notes)


def test_the_judge_sees_a_capped_answer(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    model = RecordingModel([Completion(content=reply(["missing"] * N_POINTS))])
    long_answer = " ".join([L1_PARTIAL] * 200)
    judged(settings, notes, search, model).grade(L1_QUESTION, long_answer)
    user = model.complete_calls[0]["messages"][1]["content"]
    answer = user.split("<answer>")[1].split("</answer>")[0]
    assert len(answer) <= ANSWER_CHARS + 10


# -- through the OpenAI-compatible provider and the scripted HTTP server -----------------------


def provider(url: str, **config: Any) -> OpenAIChatModel:
    config.setdefault("timeout_s", 5.0)
    config.setdefault("max_retries", 0)
    return OpenAIChatModel(
        EndpointConfig(base_url=url, model="judge-model", role="judge", **config)
    )


def test_judge_over_http_sends_temperature_zero_and_the_schema(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    with FakeOpenAIServer(models=("judge-model",)) as server:
        server.script(text(reply(["covered"] * N_POINTS, quote="L1 adds")))
        model = provider(server.url)
        grade = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
        (request,) = server.chat_requests
        assert request.body["temperature"] == 0.0
        assert request.body["response_format"]["type"] == "json_schema"
        assert request.model == "judge-model"
        model.close()
    assert grade.grader.mode == "combined" and grade.grader.model == "judge-model"
    assert all(k.verdict == "covered" for k in grade.key_points)


def test_garbage_over_http_falls_back(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    with FakeOpenAIServer(models=("judge-model",)) as server:
        server.script(text("Sure! Here is my grade: good."), raw(b"<html>oops</html>", status=200))
        model = provider(server.url)
        g = judged(settings, notes, search, model)
        first = g.grade(L1_QUESTION, L1_PARTIAL)
        second = g.grade(L1_QUESTION, L1_PARTIAL)
        model.close()
    assert first.grader.mode == second.grader.mode == "deterministic"
    assert any("not JSON" in n for n in first.grader.notes)
    assert any("judge model failed" in n for n in second.grader.notes)


def test_a_dead_judge_endpoint_falls_back_quickly(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    model = provider(f"http://127.0.0.1:{port}/v1", timeout_s=2.0)
    start = time.perf_counter()
    grade = judged(settings, notes, search, model).grade(L1_QUESTION, L1_PARTIAL)
    assert time.perf_counter() - start < 10
    assert grade.grader.mode == "deterministic"
    assert any(
        "judge model failed" in n and "graded without the judge" in n for n in grade.grader.notes
    )
    model.close()


def test_a_covered_verdict_quoting_words_not_in_the_answer_counts_half(
    settings: Settings, notes: list[Note], search: LexicalSearch
) -> None:
    """A small judge often "quotes" the key point itself; such credit is only half credit."""
    honest = RecordingModel([Completion(content=reply(["covered"] * N_POINTS, quote="L1 adds"))])
    invented = RecordingModel(
        [
            Completion(
                content=reply(["covered"] * N_POINTS, quote="diamond with corners on the axes")
            )
        ]
    )
    a = judged(settings, notes, search, honest).grade(L1_QUESTION, L1_PARTIAL)
    b = judged(settings, notes, search, invented).grade(L1_QUESTION, L1_PARTIAL)
    assert b.score < a.score
    assert b.grader.mode == "combined"
