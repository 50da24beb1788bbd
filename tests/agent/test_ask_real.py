"""End to end with the real embedded model: `mltutor ask --json` on a derivative question, and Ctrl-C
during a streamed answer.

Marked ``embedded`` (run with ``pytest -m embedded``): assembles the model (once per machine, in the
user cache dir), starts llama.cpp's server through our supervisor, asks, and checks that no server or
supervisor is left once the last user is gone. The registry lives in a tmp dir (so these tests never
join a server the user has running).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.embedded


def _embedded_processes() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (b"mltutor.agent.embedded.child" in cmd or b"embedded.warden" in cmd):
            pids.add(int(proc.name))
    return pids


def _env(tmp_path: Path, idle_timeout_s: float) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLTUTOR_BASE_URL", "MLTUTOR_MODEL", "OPENAI_"))
    }
    env["MLTUTOR_DATA_DIR"] = str(tmp_path / "data")
    env["MLTUTOR_EMBEDDED__STATE_DIR"] = str(tmp_path / "embedded")
    env["MLTUTOR_EMBEDDED__IDLE_TIMEOUT_S"] = str(idle_timeout_s)
    return env


def _wait_gone(pids: set[int], timeout_s: float) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while (left := pids & _embedded_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_ask_derivative_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    before = _embedded_processes()
    mltutor = Path(sys.executable).with_name("mltutor")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(mltutor), "ask", "--json", "What is the derivative of x^2 sin(x)?"],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(tmp_path, idle_timeout_s=0),
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    call = out["tool_calls"][0]
    assert call["name"] == "differentiate"
    assert call["result"]["derivative"]["text"] == "x*(x*cos(x) + 2*sin(x))"
    first_line = out["answer"].splitlines()[0]
    assert "x \\left(x \\cos" in first_line  # the computed result leads the answer
    assert out["verification"]["claims_checked"] >= 1
    assert out["citations"], "the answer cites the notes"
    assert out["model"] and out["timings"]["total"] > 0
    # every line still in the answer verified (unverified ones are removed)
    assert "2x(\\cos" not in out["answer"]
    # the last user is gone and the idle timeout is 0: the server and its supervisor stop
    assert not _wait_gone(_embedded_processes() - before, 10), "the embedded server outlived ask"
    print(f"end-to-end ask took {elapsed:.1f} s")


def test_ctrl_c_during_ask_exits_fast_and_cancels_the_request(tmp_path: Path) -> None:
    """The process is gone within 2 s of Ctrl-C, and the server stops generating its answer."""
    pytest.importorskip("xllamacpp")
    before = _embedded_processes()
    mltutor = Path(sys.executable).with_name("mltutor")
    env = _env(tmp_path, idle_timeout_s=60)  # the server stays up so we can look at it after
    ask = subprocess.Popen(
        [str(mltutor), "ask", "Explain in detail why L1 regularisation gives sparse weights."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    state_file = tmp_path / "embedded" / "state.json"
    try:
        assert ask.stdout is not None
        first = ask.stdout.read(1)  # the answer is streaming (the model is generating)
        assert first, ask.stderr.read().decode()[-2000:] if ask.stderr else ""
        t0 = time.monotonic()
        ask.send_signal(signal.SIGINT)
        ask.wait(30)
        exit_s = time.monotonic() - t0
    finally:
        ask.kill()
        ask.wait()
    state = json.loads(state_file.read_text())
    root = f"http://127.0.0.1:{state['port']}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    t0 = time.monotonic()
    busy = True
    while busy and time.monotonic() - t0 < 20:
        with opener.open(root + "/slots", timeout=10) as r:
            busy = any(s.get("is_processing") for s in json.load(r))
        time.sleep(0.1)
    cancel_s = time.monotonic() - t0
    try:
        assert exit_s < 2.0, f"mltutor ask took {exit_s:.1f} s to exit after Ctrl-C"
        assert not busy, "the server kept generating the interrupted answer"
    finally:
        os.kill(state["warden_pid"], signal.SIGTERM)
        assert not _wait_gone(_embedded_processes() - before, 15)
    print(f"exit after Ctrl-C {exit_s:.2f} s; server idle {cancel_s:.2f} s later")


def _slots(state_file: Path) -> list[dict[str, object]]:
    """The server's ``/slots`` ([] while there is no server yet)."""
    try:
        port = json.loads(state_file.read_text())["port"]
    except (OSError, ValueError, KeyError):
        return []
    if not port:
        return []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/slots", timeout=30) as r:
            slots = json.load(r)
    except (OSError, ValueError):
        return []
    return slots if isinstance(slots, list) else []


def _reading_a_prompt(slot: dict[str, object]) -> bool:
    """The slot works on a request that has read some of its prompt and generated nothing yet
    (while the prompt is read, ``n_prompt_tokens`` counts what is read so far, not the whole)."""
    done, after = slot.get("n_prompt_tokens_processed"), slot.get("next_token")
    decoded = after[0].get("n_decoded") if isinstance(after, list) and after else None
    return bool(slot.get("is_processing")) and isinstance(done, int) and done >= 32 and decoded == 0


def _first_token_s(state_file: Path) -> float:
    """Seconds until the first token of a short request (a fresh prompt: nothing cached)."""
    port = json.loads(state_file.read_text())["port"]
    body = {
        "model": "qwen2.5-coder-1.5b",
        "messages": [{"role": "user", "content": f"[{os.urandom(4).hex()}] What is 2 + 3?"}],
        "max_tokens": 4,
        "stream": True,
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    t0 = time.monotonic()
    with opener.open(request, timeout=300) as r:
        for line in r:
            if line.startswith(b"data: {") and b'"content":"' in line:
                return time.monotonic() - t0
    raise AssertionError("no token")


STOP_MARGIN_S = 2.5
"""After Ctrl-C while a prompt is read, the next request starts at most this much later than
usual: the request is cut at once (the provider shuts its socket down), the server notices within
its 1 s look at the connection and stops at the end of its 16-token prompt step. (Nothing polls
``/slots`` meanwhile: each answer from it restarts that 1 s wait, so polling it hides the close.)"""


def test_ctrl_c_while_the_model_reads_the_prompt_exits_fast_and_frees_the_server(
    tmp_path: Path,
) -> None:
    """Ctrl-C while the server reads a model request's prompt (no token of it generated yet; what
    is on screen by then is the lead from the notes): the process is gone within 2 s, and the server
    drops the request instead of reading the prompt to its end."""
    pytest.importorskip("xllamacpp")
    before = _embedded_processes()
    mltutor = Path(sys.executable).with_name("mltutor")
    env = _env(tmp_path, idle_timeout_s=60)  # the server stays up so we can look at it after
    ask = subprocess.Popen(
        [str(mltutor), "ask", "Explain in detail why L1 regularisation gives sparse weights."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    state_file = tmp_path / "embedded" / "state.json"
    try:
        assert ask.stdout is not None
        deadline = time.monotonic() + 600  # first run: the index is built, the model loaded
        reading: dict[str, object] | None = None
        while reading is None and time.monotonic() < deadline and ask.poll() is None:
            reading = next((s for s in _slots(state_file) if _reading_a_prompt(s)), None)
            time.sleep(0.2)
        assert reading is not None, ask.stderr.read().decode()[-2000:] if ask.stderr else ""
        t0 = time.monotonic()
        ask.send_signal(signal.SIGINT)
        ask.wait(30)
        exit_s = time.monotonic() - t0
        after = _first_token_s(state_file)  # queued behind the interrupted request, if it runs on
        usual = _first_token_s(state_file)
    finally:
        ask.kill()
        ask.wait()
    state = json.loads(state_file.read_text())
    try:
        print(
            f"Ctrl-C after {reading.get('n_prompt_tokens_processed')} prompt tokens read: "
            f"exit {exit_s:.2f} s; the next request's first token {after:.2f} s (usually "
            f"{usual:.2f} s)"
        )
        assert exit_s < 2.0, f"mltutor ask took {exit_s:.1f} s to exit after Ctrl-C"
        assert after - usual < STOP_MARGIN_S, f"the server read on for {after - usual:.1f} s"
    finally:
        os.kill(state["warden_pid"], signal.SIGTERM)
        assert not _wait_gone(_embedded_processes() - before, 15)
