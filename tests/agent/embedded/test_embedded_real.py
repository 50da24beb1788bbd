"""The embedded model for real: assemble the GGUF, run llama_cpp.server, chat and call a tool.

Skipped only when llama_cpp is not importable; missing model parts fail (with the pip command).
The model is assembled into the *user* cache dir (``MLTUTOR_CACHE_DIR`` or the platform cache dir),
the same place the app uses: the file is 1.1 GB and takes ~8 s to assemble, so a CI run (or a dev
machine) assembles it once and every later run passes the sidecar check in microseconds; a tmp dir
would write 1.1 GB per run. Server logs go to a tmp dir.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
from openai import OpenAI

from mltutor.agent.embedded import EmbeddedServer, assemble_model, llama_server_command
from mltutor.agent.embedded.server import LLAMA_SERVER_ENV_KEYS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama_cpp is not importable: pip install 'llama-cpp-python[server]'",
)

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


def user_cache_dir() -> Path:
    return Path(os.environ.get("MLTUTOR_CACHE_DIR") or platformdirs.user_cache_dir("mltutor"))


def server_processes(port: int | None = None) -> list[tuple[int, int, str]]:
    """(pid, ppid, cmdline) of live llama_cpp.server processes (optionally on ``port``)."""
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
        if "llama_cpp.server" not in cmdline or fields.get("State", "").startswith("Z"):
            continue
        if port is None or f"--port {port} " in cmdline + " ":
            found.append((int(entry.name), int(fields["PPid"]), cmdline))
    return found


def test_env_scrub_list_covers_the_server_settings() -> None:
    """Every setting llama_cpp.server reads from the environment is removed from the child's."""
    from llama_cpp.server.settings import ConfigFileSettings, Settings

    fields = set(Settings.model_fields) | set(ConfigFileSettings.model_fields) | {"config_file"}
    assert fields <= LLAMA_SERVER_ENV_KEYS


def test_the_installed_server_accepts_our_flags(tmp_path: Path) -> None:
    from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
    from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

    parser = argparse.ArgumentParser(exit_on_error=False)
    add_args_from_model(parser, Settings)
    args = parser.parse_args(llama_server_command(tmp_path / "m.gguf", 4321, n_threads=2)[3:])
    model = parse_model_from_args(ModelSettings, args)
    server = parse_model_from_args(ServerSettings, args)
    assert (
        model.model_alias == "qwen2.5-coder-1.5b" and model.chat_format == "chatml-function-calling"
    )
    assert model.n_ctx == 4096 and model.n_threads == 2 and model.verbose is False
    assert model.use_mlock is False
    assert server.host == "127.0.0.1" and server.port == 4321 and server.interrupt_requests is False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    cache = user_cache_dir()
    assemble_model(cache)  # assembles once per machine, then a sidecar check
    srv = EmbeddedServer(cache, log_dir=tmp_path_factory.mktemp("embedded-logs"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server: EmbeddedServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="embedded", timeout=120, max_retries=0)


@pytest.mark.embedded
def test_serves_the_model_under_its_alias(server: EmbeddedServer, client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["qwen2.5-coder-1.5b"]


@pytest.mark.embedded
def test_short_prompt(server: EmbeddedServer, client: OpenAI) -> None:
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=32,
        messages=[{"role": "user", "content": "What is 2 + 3? Answer with the number only."}],
    )
    assert "5" in response.choices[0].message.content
    assert response.usage.completion_tokens > 0


@pytest.mark.embedded
def test_native_tool_call(server: EmbeddedServer, client: OpenAI) -> None:
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=200,
        tools=TOOLS,
        tool_choice="auto",
        messages=[
            {
                "role": "user",
                "content": "Use the tool to differentiate x**3*sin(x) with respect to x.",
            }
        ],
    )
    calls = response.choices[0].message.tool_calls
    assert calls, f"no tool call: {response.choices[0].message}"
    assert calls[0].function.name == "differentiate"
    args = json.loads(calls[0].function.arguments)
    assert isinstance(args, dict) and args.get("variable") == "x"
    assert "x" in args.get("expression", "")


@pytest.mark.embedded
def test_json_schema_response_format(server: EmbeddedServer, client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
    }
    response = client.chat.completions.create(
        model=server.alias,
        temperature=0,
        max_tokens=50,
        response_format={"type": "json_object", "schema": schema},
        messages=[{"role": "user", "content": "What is 6 times 7? Reply in JSON."}],
    )
    data = json.loads(response.choices[0].message.content)
    assert isinstance(data.get("answer"), int)


@pytest.mark.embedded
def test_stop_leaves_no_orphan(server: EmbeddedServer) -> None:
    """Runs last in this module: stops the shared server."""
    pid, port = server.pid, int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    assert pid is not None
    assert [p for p, _, _ in server_processes(port)] == [pid]
    server.stop()
    assert server_processes(port) == []
    assert [p for p, ppid, _ in server_processes() if ppid == os.getpid()] == []
