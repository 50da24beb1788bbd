"""Token usage comes from the server: the usage of a non-streamed answer, the last chunk of a stream
asked for with ``stream_options``; estimated (and said to be) only when the server sends none."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mltutor.agent.errors import ProviderError
from mltutor.agent.events import Citation
from mltutor.agent.facade import Tutor
from mltutor.agent.llm import EndpointConfig, OpenAIChatModel, current_usage, usage_scope
from mltutor.agent.llm.usage import UsageScope, estimate_tokens
from mltutor.settings import Settings
from tests.agent.fake_openai_server import FakeOpenAIServer, error, text

USER = [{"role": "user", "content": "Why does L1 regularization give sparse weights?"}]
ANSWER = "Its constraint region has corners on the axes."


def make_model(url: str) -> OpenAIChatModel:
    config = EndpointConfig(base_url=url, model="fake-model", timeout_s=5.0, max_retries=0)
    return OpenAIChatModel(config, sleep=lambda s: None)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def test_a_stream_asks_for_usage_and_the_server_s_counts_are_recorded(
    server: FakeOpenAIServer,
) -> None:
    server.script(text(ANSWER, usage={"prompt_tokens": 123, "completion_tokens": 45}))
    with usage_scope() as tally:
        assert "".join(make_model(server.url).stream(USER)) == ANSWER
    (request,) = server.chat_requests
    assert request.body["stream_options"] == {"include_usage": True}
    usage = tally.snapshot()
    # neither number is what 4 characters a token would give
    assert (usage.prompt_tokens, usage.completion_tokens) == (123, 45)
    assert usage.source == "server" and usage.calls == 1 and usage.estimated_calls == 0


def test_calls_of_a_turn_are_summed_across_threads_that_carry_the_scope(
    server: FakeOpenAIServer,
) -> None:
    server.script(
        text("no tool", usage={"prompt_tokens": 100, "completion_tokens": 3}),
        text(ANSWER, usage={"prompt_tokens": 200, "completion_tokens": 20}),
        text(ANSWER, usage={"prompt_tokens": 300, "completion_tokens": 30}),
    )
    model = make_model(server.url)
    with usage_scope() as tally:
        model.complete(USER)
        with ThreadPoolExecutor(max_workers=2) as pool:
            drafts = [
                pool.submit(contextvars.copy_context().run, lambda: "".join(model.stream(USER)))
                for _ in range(2)
            ]
            assert [d.result() for d in drafts] == [ANSWER, ANSWER]
    usage = tally.snapshot()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (600, 53, 3)
    assert usage.source == "server"
    assert current_usage().calls == 0  # nothing open outside the block


def test_a_generator_turn_counts_inside_its_own_scope(server: FakeOpenAIServer) -> None:
    server.script(text(ANSWER, usage={"prompt_tokens": 7, "completion_tokens": 9}))
    model = make_model(server.url)
    scope = UsageScope()

    def turn() -> Iterator[str]:
        yield from model.stream(USER)
        yield f"calls so far: {current_usage().calls}"

    pieces = list(scope.iterate(turn()))
    assert pieces[-1] == "calls so far: 1"
    assert current_usage().calls == 0  # the consumer's context never saw the scope
    assert scope.tally.snapshot().prompt_tokens == 7


def test_a_server_that_rejects_stream_options_is_asked_again_without_and_then_never() -> None:
    with FakeOpenAIServer(reject_stream_options=True) as server:
        server.script(text(ANSWER), text(ANSWER))
        model = make_model(server.url)
        with usage_scope() as tally:
            assert "".join(model.stream(USER)) == ANSWER
            assert "".join(model.stream(USER)) == ANSWER
        sent = [("stream_options" in r.body) for r in server.chat_requests]
        assert sent == [True, False, False]  # rejected once, retried, remembered
    usage = tally.snapshot()
    assert usage.source == "estimate" and usage.estimated_calls == usage.calls == 2
    prompt = sum(len(m["content"]) for m in USER)
    assert usage.prompt_tokens == 2 * estimate_tokens("x" * prompt)
    assert usage.completion_tokens == 2 * estimate_tokens(ANSWER)


def test_another_bad_request_is_not_retried_without_stream_options(
    server: FakeOpenAIServer,
) -> None:
    server.script(error(400, "messages: field required"), text(ANSWER))
    model = make_model(server.url)
    with pytest.raises(ProviderError) as caught:
        "".join(model.stream(USER))
    assert caught.value.kind == "bad_request" and len(server.chat_requests) == 1
    "".join(model.stream(USER))
    assert "stream_options" in server.chat_requests[1].body  # still asked for


def test_a_stream_closed_early_is_estimated_and_marked_so(server: FakeOpenAIServer) -> None:
    server.script(text(ANSWER, usage={"prompt_tokens": 5}), text("one two three four five six"))
    model = make_model(server.url)
    with usage_scope() as tally:
        model.complete(USER)  # prompt_tokens only: not a usage the tally can trust
        stream = model.stream(USER)
        next(stream)
        stream.close()
    usage = tally.snapshot()
    assert usage.calls == 2 and usage.source == "estimate"


def test_server_and_estimated_calls_make_a_mixed_tally(server: FakeOpenAIServer) -> None:
    server.script(
        text(ANSWER, usage={"prompt_tokens": 50, "completion_tokens": 10}),
        text("one two three four five six"),
    )
    model = make_model(server.url)
    with usage_scope() as tally:
        model.complete(USER)
        stream = model.stream(USER)
        next(stream)
        stream.close()
    usage = tally.snapshot()
    assert usage.source == "mixed" and usage.estimated_calls == 1 and usage.calls == 2
    assert usage.prompt_tokens > 50 and usage.completion_tokens > 10


def test_the_tutor_s_trace_sums_every_call_of_the_turn_even_drafts_in_parallel(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    """Best-of-2 drafted at once (two threads): both drafts, and the tool round if any, are in
    ``RunTrace.usage`` with the server's numbers."""
    server.default = text(
        "L1 adds the absolute weights to the loss [1].",
        usage={"prompt_tokens": 321, "completion_tokens": 12},
    )
    settings = Settings(
        data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", best_of_concurrency=2
    )
    hit = Citation(
        label="regularization § L1",
        topic="regularization",
        heading="L1",
        source="regularization.md",
        text="L1 adds the sum of the absolute weights to the loss.",
    )
    tutor = Tutor(
        settings,
        model_factory=lambda progress: make_model(server.url),
        retriever_factory=lambda progress: lambda q, k, **kw: [hit],
    )
    try:
        events = list(tutor.ask("Why does L1 regularization give sparse weights?", best_of=2))
        assert events[-1].type == "final", events[-1]
        usage = tutor.last_trace(events[-1].session_id).usage
    finally:
        tutor.close()
    calls = len(server.chat_requests)
    assert calls >= 2 and usage.calls == calls and usage.source == "server"
    assert (usage.prompt_tokens, usage.completion_tokens) == (321 * calls, 12 * calls)
