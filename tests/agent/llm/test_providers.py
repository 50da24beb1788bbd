"""The OpenAI-compatible provider against a scripted local server: requests, retries, error mapping,
streaming and cancellation, endpoint re-pointing, and endpoint resolution from settings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mltutor.agent.errors import ProviderError
from mltutor.agent.llm import (
    EndpointConfig,
    OpenAIChatModel,
    json_response_format,
    resolve_endpoints,
)
from mltutor.agent.llm.endpoint import EMBEDDED_MODEL, OPENAI_BASE_URL, OPENAI_DEFAULT_MODEL
from mltutor.settings import Settings
from tests.agent.fake_openai_server import (
    FakeOpenAIServer,
    ScriptedToolCall,
    error,
    hang_up,
    raw,
    stream,
    text,
    tool_call,
    tool_calls,
)

USER = [{"role": "user", "content": "What is d/dx x^2?"}]
DERIVATIVE_TOOL = {
    "type": "function",
    "function": {
        "name": "derivative",
        "description": "Differentiate an expression.",
        "parameters": {
            "type": "object",
            "properties": {"expr": {"type": "string"}, "var": {"type": "string"}},
            "required": ["expr", "var"],
        },
    },
}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection off 127.0.0.1 fails the test: the provider must only talk to its endpoint."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family != socket.AF_UNIX and not str(host).startswith("127."):
            raise OSError(f"network access attempted in an offline test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


class Sleeps(list[float]):
    """Records backoff waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_model(url: str | None, *, sleeps: Sleeps | None = None, **config: Any) -> OpenAIChatModel:
    config.setdefault("model", "fake-model")
    config.setdefault("timeout_s", 5.0)
    config.setdefault("max_retries", 2)
    cfg = EndpointConfig(base_url=url, **config)
    return OpenAIChatModel(cfg, sleep=sleeps if sleeps is not None else Sleeps())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- complete: success paths ---------------------------------------------------------------------


def test_complete_returns_text_usage_and_sends_the_configured_model(
    server: FakeOpenAIServer,
) -> None:
    server.script(text("2x", usage={"prompt_tokens": 12, "completion_tokens": 3}))
    model = make_model(server.url, model="tutor-7b")

    result = model.complete(USER, temperature=0.0, max_tokens=64)

    assert result.content == "2x"
    assert result.finish_reason == "stop"
    assert result.usage == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert result.model == "tutor-7b"
    assert result.tool_calls == []
    (request,) = server.chat_requests
    assert request.model == "tutor-7b"
    assert request.body["messages"] == USER
    assert request.body["temperature"] == 0.0
    assert request.body["max_tokens"] == 64
    assert "tools" not in request.body and "tool_choice" not in request.body
    assert request.headers["authorization"] == "Bearer not-needed"


def test_configured_api_key_is_sent(server: FakeOpenAIServer) -> None:
    server.script(text("ok"))
    make_model(server.url, api_key=SecretStr("sk-test-123")).complete(USER)
    assert server.chat_requests[0].headers["authorization"] == "Bearer sk-test-123"


def test_tool_call_is_decoded_and_tool_choice_auto_is_sent_explicitly(
    server: FakeOpenAIServer,
) -> None:
    server.script(tool_call("derivative", {"expr": "x^2", "var": "x"}, id="call_7"))
    result = make_model(server.url).complete(USER, tools=[DERIVATIVE_TOOL])

    assert result.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_7", "derivative", {"expr": "x^2", "var": "x"})
    ]
    body = server.chat_requests[0].body
    assert body["tool_choice"] == "auto"  # the embedded server ignores tools without it
    assert body["tools"] == [DERIVATIVE_TOOL]


def test_several_tool_calls_and_empty_arguments(server: FakeOpenAIServer) -> None:
    server.script(
        tool_calls(
            [ScriptedToolCall("list_topics", ""), ScriptedToolCall("derivative", {"expr": "x"})]
        )
    )
    result = make_model(server.url).complete(USER, tools=[DERIVATIVE_TOOL])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("list_topics", {}),
        ("derivative", {"expr": "x"}),
    ]
    assert [c.id for c in result.tool_calls] == ["call_0", "call_1"]


def test_explicit_tool_choice_is_kept_and_never_sent_without_tools(
    server: FakeOpenAIServer,
) -> None:
    server.script(text("a"), text("b"))
    model = make_model(server.url)
    model.complete(USER, tools=[DERIVATIVE_TOOL], tool_choice="required")
    model.complete(USER, tool_choice="auto")
    first, second = server.chat_requests
    assert first.body["tool_choice"] == "required"
    assert "tool_choice" not in second.body and "tools" not in second.body


def test_response_format_reaches_the_server_verbatim(server: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}}
    server.script(text('{"score": 3}'), text('{"score": 4}'))
    model = make_model(server.url)
    model.complete(USER, response_format=json_response_format(schema, embedded=True))
    model.complete(USER, response_format=json_response_format(schema, embedded=False, name="grade"))
    embedded, standard = (r.body["response_format"] for r in server.chat_requests)
    # the embedded model is llama.cpp's native server: the standard form, schema passed whole
    assert embedded == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": False},
    }
    assert standard == {
        "type": "json_schema",
        "json_schema": {"name": "grade", "schema": schema, "strict": False},
    }


# -- complete: malformed output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ('{"expr": "x^2", "var": ' + "x" * 400, "not valid JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('"x^2"', "JSON str, not an object"),
    ],
)
def test_malformed_tool_call_arguments_raise_a_typed_error(
    server: FakeOpenAIServer, arguments: str, problem: str
) -> None:
    server.script(tool_call("derivative", arguments))
    with pytest.raises(ProviderError) as caught:
        make_model(server.url).complete(USER, tools=[DERIVATIVE_TOOL])
    err = caught.value
    assert err.kind == "malformed_tool_call"
    assert err.retryable
    assert "'derivative'" in err.message and problem in err.message
    assert arguments[:200] in err.message
    if len(arguments) > 200:
        assert arguments[:201] not in err.message  # only the first 200 characters are shown
    assert len(server.chat_requests) == 1  # a bad tool call is the caller's to handle, not retried


@pytest.mark.parametrize(
    "reply",
    [
        raw("this is not json"),
        raw('{"object": "list", "data": []}'),
        raw("plain text", content_type="text/plain"),
        raw('{"choices": [{"index": 0}]}'),
    ],
    ids=["not-json", "no-choices", "text-plain", "no-message"],
)
def test_a_response_that_is_not_a_chat_completion_is_bad_response(
    server: FakeOpenAIServer, reply: Any
) -> None:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        make_model(server.url).complete(USER)
    assert caught.value.kind == "bad_response"
    assert server.url in caught.value.message and "/v1" in caught.value.message
    assert len(server.chat_requests) == 1


# -- complete: retries ---------------------------------------------------------------------------


def test_server_errors_are_retried_with_growing_jittered_backoff(server: FakeOpenAIServer) -> None:
    server.script(error(503, "loading model"), error(500), text("ok"))
    sleeps = Sleeps()
    model = make_model(server.url, sleeps=sleeps, backoff_base_s=1.0, backoff_max_s=8.0)

    assert model.complete(USER).content == "ok"
    assert len(server.chat_requests) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0  # equal jitter: half of the step fixed, half random
    assert 1.0 <= sleeps[1] <= 2.0
    retry_counts = [r.headers.get("x-stainless-retry-count") for r in server.chat_requests]
    assert retry_counts == ["0", "0", "0"]  # the client's own retries are off: we retry


def test_server_errors_past_max_retries_raise_server_error(server: FakeOpenAIServer) -> None:
    server.script(error(503, "overloaded"), error(503, "overloaded"), error(503, "overloaded"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, sleeps=sleeps, max_retries=2).complete(USER)
    err = caught.value
    assert err.kind == "server" and err.retryable
    assert "HTTP 503: overloaded" in err.message and "3 attempts" in err.message
    assert len(server.chat_requests) == 3 and len(sleeps) == 2


def test_retry_after_is_honoured_for_real(server: FakeOpenAIServer) -> None:
    server.script(error(429, "slow down", headers={"Retry-After": "0.3"}), text("ok"))
    cfg = EndpointConfig(base_url=server.url, model="m", max_retries=1, backoff_base_s=0.0)
    model = OpenAIChatModel(cfg)  # real sleep; without Retry-After the wait would be 0

    assert model.complete(USER).content == "ok"
    first, second = server.chat_requests
    assert second.received_at - first.received_at >= 0.3


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "2"}, 2.0, 2.0),
        ({"retry-after-ms": "250"}, 0.25, 0.25),
        ({"Retry-After": "120"}, 5.0, 5.0),  # capped by retry_after_cap_s
        ({"Retry-After": "date+3"}, 1.0, 3.0),  # HTTP date, second resolution
    ],
)
def test_retry_after_forms_and_cap(
    server: FakeOpenAIServer, headers: dict[str, str], low: float, high: float
) -> None:
    if headers.get("Retry-After") == "date+3":
        when = datetime.now(UTC) + timedelta(seconds=3)
        headers = {"Retry-After": format_datetime(when, usegmt=True)}
    server.script(error(429, "busy", headers=headers), text("ok"))
    sleeps = Sleeps()
    make_model(server.url, sleeps=sleeps, retry_after_cap_s=5.0).complete(USER)
    assert len(sleeps) == 1 and low <= sleeps[0] <= high


def test_rate_limit_past_retries_and_exhausted_quota_is_not_retried(
    server: FakeOpenAIServer,
) -> None:
    server.script(error(429, "rate limit"), error(429, "rate limit"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, sleeps=sleeps, max_retries=1).complete(USER)
    assert caught.value.kind == "rate_limit" and caught.value.retryable
    assert "MLTUTOR_MAX_RETRIES" in caught.value.message

    server.script(error(429, "You exceeded your current quota", code="insufficient_quota"))
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, sleeps=sleeps, max_retries=3).complete(USER)
    assert caught.value.kind == "rate_limit" and not caught.value.retryable
    assert "billing" in caught.value.message
    assert len(server.chat_requests) == 3 and len(sleeps) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_auth_and_not_retried(server: FakeOpenAIServer, status: int) -> None:
    server.script(error(status, "Incorrect API key provided"))
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, sleeps=sleeps).complete(USER)
    err = caught.value
    assert err.kind == "auth" and not err.retryable
    assert "OPENAI_API_KEY" in err.message and "Incorrect API key provided" in err.message
    assert len(server.chat_requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("role", "setting"), [("tutor", "MLTUTOR_MODEL"), ("judge", "JUDGE_MODEL")]
)
def test_unknown_model_is_not_found_naming_the_setting(
    server: FakeOpenAIServer, role: str, setting: str
) -> None:
    server.script(error(404, "model 'qwen-9000' not found"))
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, model="qwen-9000", role=role).complete(USER)
    err = caught.value
    assert err.kind == "not_found" and not err.retryable
    assert "'qwen-9000'" in err.message and server.url in err.message and setting in err.message
    assert len(server.chat_requests) == 1


def test_bad_request_is_not_retried(server: FakeOpenAIServer) -> None:
    server.script(error(400, "This model's maximum context length is 4096 tokens"))
    with pytest.raises(ProviderError) as caught:
        make_model(server.url).complete(USER)
    assert caught.value.kind == "bad_request" and not caught.value.retryable
    assert "new session" in caught.value.message
    assert len(server.chat_requests) == 1


def test_timeout_names_the_limit_and_setting(server: FakeOpenAIServer) -> None:
    server.script(text("too late", delay_s=3.0))
    start = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        make_model(server.url, timeout_s=0.3, max_retries=0).complete(USER)
    assert time.monotonic() - start < 2.0
    err = caught.value
    assert err.kind == "timeout" and err.retryable
    assert "0.3 s" in err.message and "MLTUTOR_REQUEST_TIMEOUT_S" in err.message


def test_timeout_is_retried(server: FakeOpenAIServer) -> None:
    server.script(text("too late", delay_s=2.0), text("in time"))
    sleeps = Sleeps()
    result = make_model(server.url, sleeps=sleeps, timeout_s=0.3, max_retries=1).complete(USER)
    assert result.content == "in time" and len(sleeps) == 1


def test_nothing_listening_is_unreachable_after_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        make_model(url, sleeps=sleeps, max_retries=1).complete(USER)
    err = caught.value
    assert err.kind == "unreachable" and err.retryable
    assert url in err.message and "MLTUTOR_BASE_URL" in err.message
    assert "2 attempts" in err.message and len(sleeps) == 1


def test_dropped_connection_is_retried(server: FakeOpenAIServer) -> None:
    server.script(hang_up(), text("ok"))
    assert make_model(server.url).complete(USER).content == "ok"
    assert len(server.chat_requests) == 2


def test_concurrent_calls_share_one_model(server: FakeOpenAIServer) -> None:
    server.script(*(text(f"answer {i}") for i in range(8)))
    model = make_model(server.url)
    results: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        content = model.complete(USER).content
        with lock:
            results.append(content)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(results) == sorted(f"answer {i}" for i in range(8))


# -- stream ----------------------------------------------------------------------------------------


def test_stream_yields_pieces_in_order_without_tools(server: FakeOpenAIServer) -> None:
    pieces = ["The ", "derivative ", "of x^2 ", "is ", "2x."]
    server.script(stream(pieces))
    assert list(make_model(server.url).stream(USER, max_tokens=50)) == pieces
    (request,) = server.chat_requests
    assert request.stream and "tools" not in request.body and "tool_choice" not in request.body
    assert server.wait_for(lambda: server.completed_streams == 1)


def test_stream_setup_failures_are_retried(server: FakeOpenAIServer) -> None:
    server.script(error(502, "bad gateway"), text("hello there"))
    sleeps = Sleeps()
    assert "".join(make_model(server.url, sleeps=sleeps).stream(USER)) == "hello there"
    assert len(sleeps) == 1


def test_connection_dropped_mid_stream_raises_after_the_pieces_received(
    server: FakeOpenAIServer,
) -> None:
    server.script(stream(["a", "b", "c", "d"], drop_after_chunks=2))
    got: list[str] = []
    with pytest.raises(ProviderError) as caught:
        for piece in make_model(server.url).stream(USER):
            got.append(piece)
    assert got == ["a", "b"]
    assert caught.value.kind == "unreachable" and "middle of the answer" in caught.value.message
    assert len(server.chat_requests) == 1  # shown text cannot be taken back: no silent retry


def test_error_event_mid_stream_raises(server: FakeOpenAIServer) -> None:
    server.script(stream(["a", "b", "c"], error_after_chunks=1, error_message="out of memory"))
    got: list[str] = []
    with pytest.raises(ProviderError) as caught:
        for piece in make_model(server.url).stream(USER):
            got.append(piece)
    assert got == ["a"]
    assert caught.value.kind == "server" and "out of memory" in caught.value.message


def test_silence_mid_stream_is_a_timeout(server: FakeOpenAIServer) -> None:
    server.script(stream(["a", "b"], chunk_delay_s=2.0))
    gen = make_model(server.url, timeout_s=0.3, max_retries=0).stream(USER)
    assert next(gen) == "a"
    with pytest.raises(ProviderError) as caught:
        next(gen)
    assert caught.value.kind == "timeout" and "middle of an answer" in caught.value.message


def test_closing_the_stream_early_closes_the_connection(server: FakeOpenAIServer) -> None:
    server.script(stream([f"w{i} " for i in range(200)], chunk_delay_s=0.01))
    gen = make_model(server.url).stream(USER)
    assert [next(gen), next(gen)] == ["w0 ", "w1 "]
    gen.close()  # what cancellation does
    assert server.wait_for(lambda: server.disconnects == 1, timeout=5)
    assert server.completed_streams == 0


def test_an_empty_stream_is_bad_response(server: FakeOpenAIServer) -> None:
    server.script(raw("", content_type="text/event-stream"))
    with pytest.raises(ProviderError) as caught:
        list(make_model(server.url).stream(USER))
    assert caught.value.kind == "bad_response"


# -- before_request: re-pointing at a restarted server ---------------------------------------------


def test_before_request_switches_the_client_to_a_new_url() -> None:
    with FakeOpenAIServer() as first, FakeOpenAIServer() as second:
        first.script(text("from first"))
        second.script(text("from second"))
        urls = iter([first.url, second.url])
        model = OpenAIChatModel(
            EndpointConfig(model=EMBEDDED_MODEL, embedded=True), before_request=lambda: next(urls)
        )
        assert model.complete(USER).content == "from first"
        assert model.complete(USER).content == "from second"
        assert model.base_url == second.url
        assert len(first.chat_requests) == 1 and len(second.chat_requests) == 1


def test_a_dead_server_is_replaced_on_retry_through_the_hook() -> None:
    """The embedded server died: the failed attempt's retry asks the hook, which restarts it."""
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    with FakeOpenAIServer() as restarted:
        restarted.script(text("back again"))
        calls: list[str] = []

        def ensure_running() -> str:
            calls.append("ensure")
            return dead_url if len(calls) == 1 else restarted.url

        sleeps = Sleeps()
        model = OpenAIChatModel(
            EndpointConfig(model=EMBEDDED_MODEL, embedded=True, max_retries=1),
            before_request=ensure_running,
            sleep=sleeps,
        )
        assert model.complete(USER).content == "back again"
        assert len(calls) == 2 and len(sleeps) == 1


def test_hook_failure_and_missing_url_are_embedded_errors() -> None:
    def broken() -> str:
        raise RuntimeError("llama server exited with code 1")

    model = OpenAIChatModel(
        EndpointConfig(model=EMBEDDED_MODEL, embedded=True), before_request=broken
    )
    with pytest.raises(ProviderError) as caught:
        model.complete(USER)
    assert caught.value.kind == "embedded" and "exited with code 1" in caught.value.message

    with pytest.raises(ProviderError) as caught:
        OpenAIChatModel(EndpointConfig(model=EMBEDDED_MODEL, embedded=True)).complete(USER)
    assert caught.value.kind == "embedded"


# -- resolve_endpoints -----------------------------------------------------------------------------


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Build Settings from keyword arguments only: no MLTUTOR_*/OPENAI_* env, no config file."""
    import os

    for name in list(os.environ):
        if name.startswith(("MLTUTOR_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "absent.toml"))

    def build(**values: Any) -> Settings:
        return Settings(**values)

    return build


def test_explicit_base_url_wins_for_both_roles(settings: Any) -> None:
    cfg = settings(
        base_url="http://localhost:11434/v1",
        model="qwen2.5:7b",
        judge_model="qwen2.5:14b",
        api_key="sk-x",
        request_timeout_s=30,
        max_retries=4,
    )
    endpoints = resolve_endpoints(cfg)
    tutor, judge = endpoints["tutor"], endpoints["judge"]
    assert (tutor.base_url, tutor.model, tutor.role) == (
        "http://localhost:11434/v1",
        "qwen2.5:7b",
        "tutor",
    )
    assert (judge.model, judge.role) == ("qwen2.5:14b", "judge")
    assert not tutor.embedded and not judge.embedded
    assert tutor.api_key is not None and tutor.api_key.get_secret_value() == "sk-x"
    assert (tutor.timeout_s, tutor.max_retries) == (30, 4)


def test_base_url_without_key_uses_no_key_and_judge_falls_back(settings: Any) -> None:
    endpoints = resolve_endpoints(settings(base_url="http://127.0.0.1:8080/v1", model="local"))
    assert endpoints["tutor"].api_key is None
    assert endpoints["judge"].model == "local"


def test_api_key_alone_means_openai_with_a_default_model(settings: Any) -> None:
    endpoints = resolve_endpoints(settings(api_key="sk-x"))
    assert endpoints["tutor"].base_url == OPENAI_BASE_URL
    assert endpoints["tutor"].model == OPENAI_DEFAULT_MODEL
    assert endpoints["judge"].model == OPENAI_DEFAULT_MODEL
    assert (
        resolve_endpoints(settings(api_key="sk-x", judge_model="gpt-4o"))["judge"].model == "gpt-4o"
    )


def test_openai_api_key_variable_counts_as_explicit(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert resolve_endpoints(settings())["tutor"].base_url == OPENAI_BASE_URL


def test_nothing_configured_means_the_embedded_model(settings: Any) -> None:
    endpoints = resolve_endpoints(settings())
    for role in ("tutor", "judge"):
        assert endpoints[role].embedded and endpoints[role].base_url is None
        assert endpoints[role].model == EMBEDDED_MODEL and endpoints[role].role == role


def test_embedded_can_be_forced_despite_a_key(settings: Any) -> None:
    endpoints = resolve_endpoints(settings(base_url="embedded", api_key="sk-x"))
    assert endpoints["tutor"].embedded and endpoints["tutor"].api_key is None


@pytest.mark.parametrize(
    ("values", "kind", "hint"),
    [
        ({"model": "gpt-4o"}, "auth", "OPENAI_API_KEY"),
        ({"base_url": "http://127.0.0.1:8080/v1"}, "not_found", "MLTUTOR_MODEL"),
    ],
)
def test_incomplete_configuration_is_refused(
    settings: Any, values: dict[str, str], kind: str, hint: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        resolve_endpoints(settings(**values))
    assert caught.value.kind == kind and hint in caught.value.message
