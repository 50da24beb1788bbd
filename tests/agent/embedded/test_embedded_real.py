"""The embedded model for real: assemble the GGUF, run llama.cpp's native server (xllamacpp) through
our supervisor, chat, call a tool (streamed and not), get schema-constrained JSON, reuse the prompt
cache, queue concurrent requests on one slot, cancel a closed stream, and leave no process behind.

Marked ``embedded``; skipped only when xllamacpp is not importable (missing model parts fail, with
the pip command). The model is assembled into the *user* cache dir (``MLTUTOR_CACHE_DIR`` or the
platform cache dir), where the app finds it: 1.1 GB written once per machine, a sidecar check after.
The server's registry (state, lock, log) lives in a tmp dir, so this never joins a server the user
has running, and its idle timeout is 0: it stops as soon as the test releases it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
from openai import OpenAI

from mltutor.agent.embedded import EmbeddedServer, assemble_model
from mltutor.agent.llm.openai_chat import json_response_format
from mltutor.settings import EmbeddedSettings

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None,
        reason="xllamacpp is not importable: pip install -e .",
    ),
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "differentiate",
            "description": "Differentiate a mathematical expression with respect to a variable.",
            "parameters": {
                "type": "object",
                "properties": {
                    "expression": {"type": "string", "description": "e.g. x**2*sin(x)"},
                    "variable": {"type": "string"},
                },
                "required": ["expression", "variable"],
            },
        },
    }
]
TOOL_PROMPT = [
    {"role": "user", "content": "Use the tool to differentiate x**3*sin(x) with respect to x."}
]


def user_cache_dir() -> Path:
    return Path(os.environ.get("MLTUTOR_CACHE_DIR") or platformdirs.user_cache_dir("mltutor"))


def embedded_processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, cmdline) of live embedded servers and supervisors of ours."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("State", "").startswith("Z"):
            continue
        if "mltutor.agent.embedded.child" in cmdline or "mltutor.agent.embedded.warden" in cmdline:
            found.append((int(entry.name), int(fields["PPid"]), cmdline))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    cache = user_cache_dir()
    assemble_model(cache)  # assembles once per machine, then a sidecar check
    state = tmp_path_factory.mktemp("embedded-state")
    srv = EmbeddedServer(cache, settings=EmbeddedSettings(idle_timeout_s=0, state_dir=state))
    srv.start()
    try:
        yield srv
    finally:
        srv.shutdown_shared()


@pytest.fixture(scope="module")
def client(server: EmbeddedServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="embedded", timeout=600, max_retries=0)


def get(server: EmbeddedServer, path: str) -> object:
    root = server.base_url.removesuffix("/v1")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(root + path, timeout=10) as r:
        return json.load(r)


def test_healthy_and_serving_the_model_under_its_alias(
    server: EmbeddedServer, client: OpenAI
) -> None:
    assert get(server, "/health") == {"status": "ok"}
    assert [m.id for m in client.models.list()] == ["qwen2.5-coder-1.5b"]


def test_short_prompt(server: EmbeddedServer, client: OpenAI) -> None:
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=32,
        messages=[{"role": "user", "content": "What is 2 + 3? Answer with the number only."}],
    )
    assert "5" in (response.choices[0].message.content or "")
    assert response.usage is not None and response.usage.completion_tokens > 0


def check_call(name: str, arguments: str) -> None:
    assert name == "differentiate"
    args = json.loads(arguments)
    assert isinstance(args, dict) and args.get("variable") == "x"
    assert "x" in args.get("expression", "")


def test_native_tool_call(server: EmbeddedServer, client: OpenAI) -> None:
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=200,
        tools=TOOLS,  # type: ignore[arg-type]
        tool_choice="auto",
        messages=TOOL_PROMPT,  # type: ignore[arg-type]
    )
    calls = response.choices[0].message.tool_calls
    assert calls, f"no tool call: {response.choices[0].message}"
    check_call(calls[0].function.name, calls[0].function.arguments)  # type: ignore[union-attr]


def test_streamed_tool_call(server: EmbeddedServer, client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=200,
        tools=TOOLS,  # type: ignore[arg-type]
        tool_choice="auto",
        messages=TOOL_PROMPT,  # type: ignore[arg-type]
        stream=True,
    )
    name = arguments = ""
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if call.function is not None:
                name += call.function.name or ""
                arguments += call.function.arguments or ""
    check_call(name, arguments)


def test_json_schema_response_format(server: EmbeddedServer, client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "why": {"type": "string"}},
        "required": ["answer"],
    }
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=60,
        response_format=json_response_format(schema, embedded=True),  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "What is 6 times 7?"}],
    )
    data = json.loads(response.choices[0].message.content or "")
    assert isinstance(data.get("answer"), int)


def test_a_repeated_prefix_is_not_prefilled_again(server: EmbeddedServer, client: OpenAI) -> None:
    system = "You are a tutor for machine-learning interviews. " * 30  # ~300 tokens
    usage = []
    for question in ("What is a gradient?", "What is a Hessian?"):
        response = client.chat.completions.create(
            model=server.alias,
            temperature=0,
            max_tokens=4,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
        )
        assert response.usage is not None
        usage.append(response.usage)
    details = usage[1].prompt_tokens_details
    cached = details.cached_tokens if details is not None else 0
    assert cached is not None and cached >= usage[1].prompt_tokens - 20, usage[1]


def test_concurrent_requests_queue_and_are_all_served(
    server: EmbeddedServer, client: OpenAI
) -> None:
    answers: list[str] = []

    def ask(n: int) -> None:
        response = client.chat.completions.create(
            model=server.alias,
            temperature=0,
            max_tokens=8,
            messages=[{"role": "user", "content": f"What is {n} + {n}? Number only."}],
        )
        answers.append(response.choices[0].message.content or "")

    threads = [threading.Thread(target=ask, args=(n,)) for n in (2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert len(answers) == 3 and all(a.strip() for a in answers)
    assert get(server, "/props")["total_slots"] == 1  # type: ignore[index]


def test_closing_a_stream_stops_the_generation(server: EmbeddedServer, client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=server.alias,
        temperature=0.7,
        max_tokens=400,
        messages=[{"role": "user", "content": "Explain backpropagation in great detail."}],
        stream=True,
    )
    for n, _ in enumerate(stream):
        if n >= 3:
            break
    stream.close()
    t0 = time.monotonic()

    def idle() -> bool:
        slots = get(server, "/slots")
        return isinstance(slots, list) and not any(s.get("is_processing") for s in slots)

    while not idle():
        assert time.monotonic() - t0 < 10, "the server kept generating for a closed stream"
        time.sleep(0.1)


NOTE = (
    "Gradient descent updates parameters against the gradient of the loss. With a learning rate "
    "that is too large the iterates diverge; too small and convergence is slow. Momentum keeps an "
    "exponentially decaying average of past gradients, Adam rescales each coordinate by a running "
    "estimate of the second moment. The Hessian describes local curvature: its eigenvalues bound "
    "the largest stable step size for a quadratic model of the loss. "
)


def first_token_s(client: OpenAI, model: str) -> float:
    """Seconds until the first token of a short request (a fresh prompt: nothing cached)."""
    t0 = time.monotonic()
    stream = client.chat.completions.create(
        model=model,
        temperature=0,
        max_tokens=4,
        stream=True,
        messages=[{"role": "user", "content": f"[{os.urandom(4).hex()}] What is 2 + 3?"}],
    )
    try:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                return time.monotonic() - t0
    finally:
        stream.close()
    raise AssertionError("no token")


STOP_MARGIN_S = 2.5
"""How much later than usual the next request may start after a stop during a long prompt: issue
15's ~2 s, plus the server's 1 s look at closed connections on the side. The server finishes the
prompt step it is in: 16 tokens, measured 0-1 s extra at load 4-9 on 2 cores; with 128-token steps
it was 4-12 s, and before the steps were bounded it read the whole prompt (tens of seconds)."""


def test_a_request_stopped_while_its_prompt_is_read_frees_the_server(
    server: EmbeddedServer, client: OpenAI
) -> None:
    """A ~1200-token prompt closed 1 s in (no token yet): the next request starts about as fast
    as one with nothing before it (best of two tries, as other programs share the cores)."""
    extra = []
    for _ in range(2):
        baseline = first_token_s(client, server.alias)
        stream = client.chat.completions.create(
            model=server.alias,
            max_tokens=50,
            stream=True,
            messages=[{"role": "user", "content": os.urandom(4).hex() + NOTE * 14 + "Summarise."}],
        )
        time.sleep(1.0)
        stream.close()
        after = first_token_s(client, server.alias)
        print(f"first token {baseline:.2f} s; after a stop during the prompt {after:.2f} s")
        extra.append(after - baseline)
    assert min(extra) < STOP_MARGIN_S, extra


def test_stop_leaves_no_orphan(server: EmbeddedServer) -> None:
    """Runs last in this module: releases the server, which then stops (idle timeout 0)."""
    state = server.registry.read_state()
    assert state is not None and state.server_pid == server.pid
    ours = {state.server_pid, state.warden_pid}
    assert ours <= {pid for pid, _, _ in embedded_processes()}
    server.stop()
    deadline = time.monotonic() + 10
    while ours & {pid for pid, _, _ in embedded_processes()} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not ours & {pid for pid, _, _ in embedded_processes()}
    assert server.registry.read_state() is None
