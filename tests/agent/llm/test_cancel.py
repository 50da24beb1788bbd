"""Stopping a request while the server is still reading the prompt (nothing has arrived yet): the
provider raises ``Cancelled`` at once and the server sees its connection closed, for a non-streamed
call (the reply would come in one piece at the end) and for a stream (headers and keep-alive pings,
no token yet). Against a raw socket server that plays a long prefill and records when the client's
side of the connection closes."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai  # noqa: F401  (imported here, so the timings below do not include it)
import pytest

from mltutor.agent.errors import Cancelled
from mltutor.agent.llm import EndpointConfig, OpenAIChatModel
from mltutor.agent.llm.cancel import cancel_scope, cancellable, current_cancel, watched_requests

USER = [{"role": "user", "content": "Summarise this long note."}]
PREFILL_S = 30.0
"""How long the fake server "reads the prompt" before it would answer."""


class PrefillServer:
    """Accepts connections, reads a request, then answers nothing for :data:`PREFILL_S` (a
    streamed request gets its headers and an SSE comment every 0.1 s, like llama.cpp's pings)
    while watching for the client to close; records when each connection was closed by the client."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.requests = 0
        self.closed_at: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests += 1
            streamed = b'"stream":true' in body.replace(b" ", b"")
            if streamed:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
            conn.settimeout(0.1)
            deadline = time.monotonic() + PREFILL_S
            while time.monotonic() < deadline and not self._stop.is_set():
                try:
                    if conn.recv(1) == b"":  # the client closed its side
                        self.closed_at.append(time.monotonic())
                        return
                except TimeoutError:
                    pass
                except OSError:
                    self.closed_at.append(time.monotonic())
                    return
                if streamed:
                    try:
                        conn.sendall(b"d\r\n: ping - ok\n\n\r\n")
                    except OSError:
                        self.closed_at.append(time.monotonic())
                        return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def server() -> Iterator[PrefillServer]:
    srv = PrefillServer()
    try:
        yield srv
    finally:
        srv.close()


def model(url: str) -> OpenAIChatModel:
    return OpenAIChatModel(EndpointConfig(base_url=url, model="m", timeout_s=60.0, max_retries=2))


def stop_during_prefill(event: threading.Event, server: PrefillServer) -> list[float]:
    """Set ``event`` 0.3 s after the server got the request (in a thread); returns [when]."""
    when: list[float] = []

    def later() -> None:
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        when.append(time.monotonic())
        event.set()

    threading.Thread(target=later, daemon=True).start()
    return when


def test_a_non_streamed_call_stops_during_prefill_and_the_server_sees_the_close(
    server: PrefillServer,
) -> None:
    stop = threading.Event()
    when = stop_during_prefill(stop, server)
    with cancel_scope(stop), pytest.raises(Cancelled):
        model(server.url).complete(USER)
    raised = time.monotonic()
    assert raised - when[0] < 0.5, f"Cancelled came {raised - when[0]:.2f} s after the stop"
    deadline = time.monotonic() + 2
    while not server.closed_at and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.closed_at and server.closed_at[0] - when[0] < 0.5
    assert server.requests == 1  # cancelled, not retried
    assert watched_requests() == 0


def test_a_stream_stops_before_its_first_token_and_the_server_sees_the_close(
    server: PrefillServer,
) -> None:
    stop = threading.Event()
    pieces: list[str] = []
    with cancel_scope(stop):
        stream = model(server.url).stream(USER)
        when = stop_during_prefill(stop, server)
        with pytest.raises(Cancelled):
            pieces.extend(stream)  # blocks: only pings arrive while the prompt is read
    raised = time.monotonic()
    assert pieces == []
    assert raised - when[0] < 0.5, f"Cancelled came {raised - when[0]:.2f} s after the stop"
    deadline = time.monotonic() + 2
    while not server.closed_at and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.closed_at and server.closed_at[0] - when[0] < 0.5
    assert server.requests == 1
    assert watched_requests() == 0


def test_a_stop_set_before_the_call_sends_nothing(server: PrefillServer) -> None:
    stop = threading.Event()
    stop.set()
    with cancel_scope(stop), pytest.raises(Cancelled):
        model(server.url).complete(USER)
    assert server.requests == 0


def test_without_a_scope_nothing_is_watched_and_the_call_runs_on(server: PrefillServer) -> None:
    """Outside a cancel scope the call is not guarded: it waits for its reply (here: the timeout)."""
    m = OpenAIChatModel(
        EndpointConfig(base_url=server.url, model="m", timeout_s=0.5, max_retries=0)
    )
    t0 = time.monotonic()
    with pytest.raises(Exception) as caught:
        m.complete(USER)
    assert not isinstance(caught.value, Cancelled)
    assert time.monotonic() - t0 >= 0.4
    assert watched_requests() == 0


def test_the_scope_reaches_threads_that_carry_the_context_and_only_them() -> None:
    stop = threading.Event()
    seen: list[threading.Event | None] = []

    def turn() -> Iterator[int]:
        seen.append(current_cancel())
        ctx = contextvars.copy_context()
        worker = threading.Thread(target=lambda: seen.append(ctx.run(current_cancel)))
        worker.start()
        worker.join()
        yield 1
        seen.append(current_cancel())
        yield 2

    items = []
    for item in cancellable(turn(), stop):
        items.append(item)
        seen.append(current_cancel())  # the consumer, between items: no scope leaks out
    assert items == [1, 2]
    assert seen == [stop, stop, None, stop, None]
    assert current_cancel() is None


def test_a_stopped_tutor_turn_cuts_the_request_the_server_is_reading(
    server: PrefillServer, tmp_path: Path
) -> None:
    """Through the service (graph nodes in their own threads): Esc / Ctrl-C during the first model
    call's prefill ends the turn at once, and the server sees the connection closed."""
    from mltutor.agent.facade import Tutor
    from mltutor.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    tutor = Tutor(
        settings,
        model_factory=lambda progress: model(server.url),
        retriever_factory=lambda progress: lambda q, k, **kw: [],
    )
    stop = threading.Event()
    when = stop_during_prefill(stop, server)
    events = list(tutor.ask("Why does L1 regularisation give sparse weights?", cancel=stop))
    ended = time.monotonic()
    assert events[-1].type == "error" and events[-1].kind == "cancelled", events[-1]
    assert ended - when[0] < 1.0, f"the turn ended {ended - when[0]:.2f} s after the stop"
    deadline = time.monotonic() + 2
    while not server.closed_at and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.closed_at and server.closed_at[0] - when[0] < 1.0
    assert server.requests == 1


def test_a_stop_during_a_retry_backoff_ends_the_call_without_another_attempt() -> None:
    """The server is down and the call backs off before retrying: a stop ends the wait at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    m = OpenAIChatModel(
        EndpointConfig(
            base_url=f"http://127.0.0.1:{port}/v1",
            model="m",
            max_retries=5,
            backoff_base_s=20.0,
            backoff_max_s=20.0,
        )
    )
    stop = threading.Event()
    t0 = time.monotonic()
    threading.Timer(0.5, stop.set).start()
    with cancel_scope(stop), pytest.raises(Cancelled):
        m.complete(USER)
    assert time.monotonic() - t0 < 3.0  # the first backoff alone is 10-20 s
    assert watched_requests() == 0
