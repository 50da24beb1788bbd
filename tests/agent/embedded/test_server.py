"""The shared embedded server's lifecycle, with a fake server process instead of llama.cpp:
readiness, sharing across processes, reference counting and the idle stop, restarts and their cap,
start-up failures, stale state, a taken port, and no orphans on any exit path."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mltutor.agent.embedded import EmbeddedServer, ServerState
from mltutor.agent.errors import ProviderError
from mltutor.agent.llm.endpoint import EndpointConfig
from mltutor.agent.llm.openai_chat import OpenAIChatModel

from .conftest import LINUX, alive, chat, make_server, user_process, wait_until

pytestmark = pytest.mark.skipif(not LINUX, reason="process supervision is tested on Linux")


def state_of(srv: EmbeddedServer) -> ServerState:
    state = srv.registry.read_state()
    assert state is not None
    return state


def read_json_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    data: dict[str, object] = json.loads(line)
    return data


def test_start_waits_for_loading_and_answers(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--loading-s", "1.0")
    seen: list[tuple[str, float | None]] = []
    try:
        t0 = time.monotonic()
        url = srv.start(lambda m, f: seen.append((m, f)))
        assert time.monotonic() - t0 >= 1.0  # /health said 503 "Loading model" until then
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert chat(url) == f"pid {srv.pid}"
        assert seen[0] == ("Starting the embedded model", None)
        assert seen[-1] == ("Embedded model ready", 1.0)
        assert srv.start() == url and srv.ensure_running() == url  # idempotent
        assert state_of(srv).status == "ready"
    finally:
        srv.shutdown_shared()


def test_release_with_no_user_left_stops_the_server(tmp_path: Path) -> None:
    srv = make_server(tmp_path, idle_timeout_s=0.5)
    srv.start()
    state = state_of(srv)
    srv.stop()
    srv.stop()  # idempotent
    assert alive(state.server_pid)  # the idle timeout has not passed yet
    assert wait_until(lambda: not alive(state.server_pid) and not alive(state.warden_pid), 5)
    assert srv.registry.read_state() is None


def test_the_server_is_shared_and_reference_counted(tmp_path: Path) -> None:
    first = make_server(tmp_path, idle_timeout_s=0.3)
    second = make_server(tmp_path, idle_timeout_s=0.3)
    url = first.start()
    assert second.start() == url and second.pid == first.pid
    assert "starting the server" in first.log_path.read_text()
    assert first.log_path.read_text().count("starting the server") == 1
    first.stop()
    time.sleep(1.0)  # well past the idle timeout: the second user keeps it alive
    assert alive(second.pid) and chat(url) == f"pid {second.pid}"
    pid = second.pid
    second.stop()
    assert wait_until(lambda: not alive(pid), 5)


def test_another_process_uses_the_same_server(tmp_path: Path, server: EmbeddedServer) -> None:
    url = server.start()
    other = user_process(tmp_path, then="print(chat_url := srv.ensure_running(), flush=True)")
    try:
        out = read_json_line(other)
        assert out == {"url": url, "server": server.pid}
        other.wait(10)
    finally:
        other.kill()
        other.wait()
    assert alive(server.pid)  # the other process's exit released only its own use


def test_two_processes_starting_at_the_same_moment_get_one_server(tmp_path: Path) -> None:
    users = [user_process(tmp_path, "--loading-s", "0.5", idle=0.3) for _ in range(3)]
    try:
        outs = [read_json_line(u) for u in users]
        assert len({o["server"] for o in outs}) == 1 and len({o["url"] for o in outs}) == 1
        log = (tmp_path / "state" / "server.log").read_text()
        assert log.count("starting the server") == 1, log
        assert log.count("fake server") == 1
    finally:
        for u in users:
            u.kill()
            u.wait()
    server_pid = outs[0]["server"]
    assert isinstance(server_pid, int)
    # every user was killed (SIGKILL: no clean-up ran): the supervisor notices and stops it
    assert wait_until(lambda: not alive(server_pid), 10), "server orphaned after its users died"
    assert wait_until(lambda: not (tmp_path / "state" / "state.json").exists(), 5)


def test_a_killed_supervisor_takes_the_server_down_and_is_replaced(
    tmp_path: Path, server: EmbeddedServer
) -> None:
    server.start()
    before = state_of(server)
    os.kill(before.warden_pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(before.server_pid), 5)  # PR_SET_PDEATHSIG
    # the state file it left names a dead supervisor: the next request starts a new one
    assert server.registry.read_state() is not None
    url = server.ensure_running()
    after = state_of(server)
    assert after.warden_pid != before.warden_pid and after.server_pid != before.server_pid
    assert chat(url) == f"pid {after.server_pid}"


def test_a_supervisor_stopped_by_a_signal_is_replaced(server: EmbeddedServer) -> None:
    server.start()
    before = state_of(server)
    os.kill(before.warden_pid, signal.SIGTERM)  # e.g. the system shutting down, or another user
    assert wait_until(lambda: not alive(before.server_pid), 5)
    url = server.ensure_running()  # its supervisor may still be stopping: waits, then replaces it
    after = state_of(server)
    assert after.warden_pid != before.warden_pid and after.status == "ready"
    assert chat(url) == f"pid {after.server_pid}"
    assert not alive(before.server_pid)


def test_a_stop_signal_during_start_up_is_not_a_failure(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--loading-s", "30")
    errors: list[ProviderError] = []

    def start() -> None:
        try:
            srv.start()
        except ProviderError as exc:
            errors.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    assert wait_until(lambda: (s := srv.registry.read_state()) is not None and s.server_alive())
    state = state_of(srv)
    os.kill(state.warden_pid, signal.SIGTERM)
    starter.join(20)
    assert errors and "supervisor exited" in errors[0].message  # the start was interrupted
    assert wait_until(lambda: not alive(state.warden_pid) and not alive(state.server_pid))
    assert srv.registry.read_state() is None  # no "failed" state that would block the next start
    fast = make_server(tmp_path)
    try:
        assert chat(fast.start()) == f"pid {fast.pid}"
    finally:
        fast.shutdown_shared()


def test_a_stale_state_file_is_replaced(tmp_path: Path) -> None:
    srv = make_server(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    srv.registry.write_state(
        ServerState(status="ready", warden_pid=dead.pid, server_pid=dead.pid, port=1, alias="fake")
    )
    (srv.registry.users_dir / f"{dead.pid}-old").write_text(json.dumps({"pid": dead.pid}))
    (srv.registry.root / "garbage").write_text("x")
    try:
        url = srv.start()
        assert chat(url) == f"pid {srv.pid}"
        assert srv.registry.live_users() == [os.getpid()]  # the dead user was pruned
    finally:
        srv.shutdown_shared()
    srv.registry.state_path.write_text("{not json")  # an unreadable state counts as none
    try:
        assert chat(srv.start()) == f"pid {srv.pid}"
    finally:
        srv.shutdown_shared()


def test_a_crashed_server_is_restarted_on_the_same_port(server: EmbeddedServer) -> None:
    url = server.start()
    first = server.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: not alive(first), 5)
    assert server.ensure_running() == url  # waits for the supervisor's restart
    assert server.pid not in (None, first)
    assert chat(url) == f"pid {server.pid}"
    assert state_of(server).restarts == 1


def test_a_taken_port_moves_the_restarted_server(server: EmbeddedServer) -> None:
    url = server.start()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    first = server.pid
    assert first is not None
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: not alive(first), 5)
        squatter.bind(("127.0.0.1", port))  # another program takes the port before the restart
        squatter.listen()
        new_url = server.ensure_running()
    assert new_url != url
    assert chat(new_url) == f"pid {server.pid}"
    assert "Address already in use" in server.log_path.read_text()


def test_a_hung_server_is_restarted_when_a_process_joins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltutor.agent.embedded import server as server_module

    stuck = tmp_path / "stuck"
    first = make_server(tmp_path, "--stuck-file", str(stuck))
    second = make_server(tmp_path, "--stuck-file", str(stuck))
    try:
        url = first.start()
        hung = first.pid
        stuck.touch()  # from now on its /health never answers
        monkeypatch.setattr(server_module, "HEALTH_TIMEOUT_S", 0.5)
        assert second.start() == url  # same port, a new server
        assert second.pid != hung and not alive(hung)
        assert chat(url) == f"pid {second.pid}"
    finally:
        first.stop()
        second.shutdown_shared()


def test_a_crash_loop_gives_up_with_the_log(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--mode", "die-after-ready", max_restarts=2)
    try:
        srv.start()
        with pytest.raises(ProviderError) as info:
            for _ in range(50):
                srv.ensure_running()
                time.sleep(0.1)
        assert "keeps crashing" in info.value.message and "fake server" in info.value.message
        state = state_of(srv)
        assert state.status == "failed" and wait_until(lambda: not alive(state.warden_pid), 5)
        with pytest.raises(ProviderError, match="keeps crashing"):  # no restart loop
            srv.ensure_running()
    finally:
        srv.shutdown_shared()


def test_a_failed_start_reports_the_log_tail(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--mode", "fail")
    with pytest.raises(ProviderError) as info:
        srv.start()
    assert info.value.kind == "embedded" and "exit code 3" in info.value.message
    assert "tensor data is not within file bounds" in info.value.message
    assert not srv.is_running()
    assert wait_until(lambda: not alive(state_of(srv).warden_pid), 5)


def test_a_server_that_never_answers_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    srv = make_server(tmp_path, "--mode", "hang", "--pidfile", str(pidfile), startup_timeout_s=1)
    with pytest.raises(ProviderError) as info:
        srv.start()
    assert "did not answer within 1 s" in info.value.message
    assert not alive(int(pidfile.read_text()))


def test_a_corrupt_model_is_refused_before_anything_starts(tmp_path: Path) -> None:
    def corrupt(cache: Path, progress: object) -> Path:
        raise ProviderError(
            "The embedded model failed verification; refusing to use it.", "embedded"
        )

    srv = make_server(tmp_path)
    srv._assemble = corrupt  # what assemble_model raises on a sha256 mismatch (see test_model)
    with pytest.raises(ProviderError, match="refusing"):
        srv.start()
    assert srv.registry.read_state() is None


def test_server_dies_mid_answer_then_the_next_request_works(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--mode", "die-mid-answer", "--marker", str(tmp_path / "died"))
    try:
        url = srv.start()
        config = EndpointConfig(base_url=url, model="fake", embedded=True, backoff_base_s=0.05)
        model = OpenAIChatModel(config, before_request=srv.ensure_running)
        pieces: list[str] = []
        with pytest.raises(ProviderError):
            pieces.extend(model.stream([{"role": "user", "content": "hi"}]))
        assert len(pieces) >= 1  # what was shown stays shown; the failure is reported
        reply = model.complete([{"role": "user", "content": "again"}])
        assert reply.content == f"pid {srv.pid}" and srv.registry.read_state() is not None
        assert state_of(srv).restarts == 1
        model.close()
    finally:
        srv.shutdown_shared()


def test_no_start_after_exit_clean_up(server: EmbeddedServer) -> None:
    server.start()
    server._at_exit()  # what atexit runs at interpreter shutdown
    with pytest.raises(ProviderError, match="shutting down"):
        server.ensure_running()
    assert server.registry.live_users() == []


def test_a_server_started_from_a_short_lived_thread_survives_it(server: EmbeddedServer) -> None:
    urls: list[str] = []
    worker = threading.Thread(target=lambda: urls.append(server.start()))
    worker.start()
    worker.join()
    time.sleep(0.5)
    assert urls and alive(server.pid) and chat(urls[0]) == f"pid {server.pid}"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_orphan_whatever_kills_the_last_user(tmp_path: Path, sig: signal.Signals) -> None:
    user = user_process(tmp_path, idle=0.3)
    try:
        out = read_json_line(user)
        server_pid = out["server"]
        assert isinstance(server_pid, int) and alive(server_pid)
        user.send_signal(sig)
        user.wait(10)
    finally:
        user.kill()
        user.wait()
    assert wait_until(lambda: not alive(server_pid), 10), f"orphan {server_pid} after {sig!r}"
    assert wait_until(lambda: not (tmp_path / "state" / "state.json").exists(), 5)


def test_ctrl_c_while_streaming_exits_fast_and_the_server_sees_it(tmp_path: Path) -> None:
    events = tmp_path / "events"
    then = (
        "from mltutor.agent.llm.endpoint import EndpointConfig\n"
        "from mltutor.agent.llm.openai_chat import OpenAIChatModel\n"
        "m = OpenAIChatModel(EndpointConfig(base_url=url, model='fake', embedded=True),\n"
        "                    before_request=srv.ensure_running, default_max_tokens=64)\n"
        "for piece in m.stream([{'role': 'user', 'content': 'go'}]):\n"
        "    print(piece, flush=True)\n"
    )
    user = user_process(tmp_path, "--mode", "endless", "--events", str(events), idle=30, then=then)
    try:
        read_json_line(user)
        assert user.stdout is not None and user.stdout.readline()  # streaming
        t0 = time.monotonic()
        user.send_signal(signal.SIGINT)
        user.wait(10)
        assert time.monotonic() - t0 < 2.0
    finally:
        user.kill()
        user.wait()
    assert wait_until(lambda: "client gone" in events.read_text(), 5)
    assert "request max_tokens=64" in events.read_text()  # the default budget was sent
    make_server(tmp_path).shutdown_shared()
