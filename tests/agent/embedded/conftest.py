"""Helpers for the embedded-server tests: a fake server command and process checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mltutor.agent.embedded import EmbeddedServer, ServerOptions
from mltutor.settings import EmbeddedSettings

FAKE = Path(__file__).with_name("fake_llama_server.py")
LINUX = sys.platform.startswith("linux")


def fake_command(*extra: str) -> Callable[[Path, ServerOptions], list[str]]:
    """A command builder running the fake server (``{port}`` is filled in by the supervisor)."""

    def command(model: Path, options: ServerOptions) -> list[str]:
        assert model.name == "model.gguf"
        return [sys.executable, str(FAKE), "--port", "{port}", "--alias", options.alias, *extra]

    return command


def make_server(
    tmp_path: Path,
    *extra: str,
    idle_timeout_s: float = 0.0,
    startup_timeout_s: float = 20.0,
    max_restarts: int = 3,
) -> EmbeddedServer:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    return EmbeddedServer(
        tmp_path / "cache",
        settings=EmbeddedSettings(
            idle_timeout_s=idle_timeout_s,
            startup_timeout_s=startup_timeout_s,
            state_dir=tmp_path / "state",
        ),
        assemble=lambda cache, progress: model,
        command=fake_command(*extra),
        alias="fake",
        max_restarts=max_restarts,
        stop_grace_s=2.0,
    )


def alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def chat(base_url: str, stream: bool = False) -> str:
    """One chat request without the provider layer; returns the text."""
    import urllib.request

    body = json.dumps(
        {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    )
    request = urllib.request.Request(
        base_url + "/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as r:
        raw = r.read().decode()
    if not stream:
        return str(json.loads(raw)["choices"][0]["message"]["content"])
    return raw


USER_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import make_server

    tmp = Path(sys.argv[1])
    extra = sys.argv[2:]
    srv = make_server(tmp, *extra, idle_timeout_s=float({idle!r}))
    url = srv.start()
    print(json.dumps({{"url": url, "server": srv.pid}}), flush=True)
    {then}
""")


def user_process(
    tmp_path: Path, *extra: str, idle: float = 0.0, then: str = "time.sleep(600)"
) -> subprocess.Popen[str]:
    """Another mltutor-like process using the shared (fake) server; prints url and server pid."""
    script = USER_SCRIPT.format(tests=str(Path(__file__).parent), idle=idle, then=then)
    return subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    srv = make_server(tmp_path)
    try:
        yield srv
    finally:
        srv.shutdown_shared()
