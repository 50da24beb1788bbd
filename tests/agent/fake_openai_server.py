"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests (standard library only).

It speaks just enough of the chat-completions protocol for the ``openai`` client: ``GET /v1/models``,
``POST /v1/chat/completions`` as one JSON body or as SSE chunks (``"stream": true``). Each chat request
takes the next scripted :class:`Reply` from a queue, so a test states exactly what the "model" does:
answer text, call tools, send tool-call arguments that are not JSON, fail with 401/404/429/5xx, answer
too late, or drop the connection in the middle of a stream. Usage is sent like a real server's: in every
non-streamed answer, and in a last chunk without choices when a stream asks for it
(``stream_options={"include_usage": true}``); ``reject_stream_options=True`` plays a server that
answers HTTP 400 to that option. Every request is recorded, so tests can
assert what the client sent (model, ``tool_choice``, number of attempts).

Usage::

    with FakeOpenAIServer() as server:
        server.script(text("hello"), error(503), tool_call("grad", {"f": "x^2"}))
        model = OpenAIChatModel(EndpointConfig(base_url=server.url, model="fake", ...))
        ...
        assert server.chat_requests[0].body["tool_choice"] == "auto"

A reply scripted as text is streamed (split into word pieces) when the client asks for a stream, and a
streamed reply is answered as one body when it does not, so graph tests need not care which call the
code under test makes. A script entry may also be a function of the :class:`RecordedRequest` (for replies
that depend on the conversation).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "ScriptedToolCall",
    "error",
    "hang_up",
    "raw",
    "stream",
    "text",
    "tool_call",
    "tool_calls",
]

DEFAULT_MODEL = "fake-model"


@dataclass(frozen=True)
class ScriptedToolCall:
    """One tool call in a scripted reply; ``arguments`` is sent verbatim when it is a string."""

    name: str
    arguments: Mapping[str, Any] | str
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """What the server does with one chat request. Build these with the helper functions below."""

    status: int = 200
    content: str | None = None
    chunks: tuple[str, ...] | None = None
    """Stream pieces; default: ``content`` split after each space."""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None
    model: str | None = None
    """Model name in the answer; default: the one requested."""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    """Raw body sent as is (status, headers and content type from this reply)."""
    content_type: str = "application/json"
    delay_s: float = 0.0
    """Wait this long before sending anything (longer than the client timeout = a timeout)."""
    chunk_delay_s: float = 0.0
    """Wait between stream chunks."""
    drop_after_chunks: int | None = None
    """Streaming: close the socket abruptly after this many content chunks."""
    error_after_chunks: int | None = None
    """Streaming: send an SSE ``{"error": ...}`` event after this many content chunks, then end."""
    error_message: str = "scripted error"
    hang_up: bool = False
    """Close the connection without answering at all."""


ReplySource = Reply | Callable[["RecordedRequest"], Reply]


def text(
    content: str,
    *,
    finish_reason: str = "stop",
    usage: Mapping[str, int] | None = None,
    model: str | None = None,
    delay_s: float = 0.0,
) -> Reply:
    """A plain text answer (streamed word by word when the client streams)."""
    return Reply(
        content=content, finish_reason=finish_reason, usage=usage, model=model, delay_s=delay_s
    )


def tool_call(
    name: str, arguments: Mapping[str, Any] | str, *, id: str | None = None, content: str = ""
) -> Reply:
    """One tool call; pass ``arguments`` as a string to send invalid JSON."""
    return tool_calls([ScriptedToolCall(name, arguments, id)], content=content)


def tool_calls(calls: Iterable[ScriptedToolCall], *, content: str = "") -> Reply:
    """Several tool calls in one answer."""
    return Reply(content=content, tool_calls=tuple(calls), finish_reason="tool_calls")


def error(
    status: int,
    message: str = "scripted error",
    *,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    type: str | None = None,
    delay_s: float = 0.0,
) -> Reply:
    """An HTTP error with an OpenAI-style JSON error body.

    For example ``error(429, headers={"Retry-After": "1"})`` or ``error(503)``.
    """
    payload = {"error": {"message": message, "type": type or "error", "code": code, "param": None}}
    return Reply(
        status=status,
        headers=dict(headers or {}),
        body=json.dumps(payload).encode(),
        delay_s=delay_s,
        error_message=message,
    )


def raw(body: bytes | str, *, status: int = 200, content_type: str = "application/json") -> Reply:
    """A raw body (for malformed responses)."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(status=status, body=data, content_type=content_type)


def stream(
    chunks: Iterable[str],
    *,
    chunk_delay_s: float = 0.0,
    drop_after_chunks: int | None = None,
    error_after_chunks: int | None = None,
    error_message: str = "scripted stream error",
    finish_reason: str = "stop",
) -> Reply:
    """A streamed answer made of exactly these pieces, optionally failing part-way."""
    pieces = tuple(chunks)
    return Reply(
        content="".join(pieces),
        chunks=pieces,
        chunk_delay_s=chunk_delay_s,
        drop_after_chunks=drop_after_chunks,
        error_after_chunks=error_after_chunks,
        error_message=error_message,
        finish_reason=finish_reason,
    )


def hang_up(*, delay_s: float = 0.0) -> Reply:
    """Close the connection without sending a response."""
    return Reply(hang_up=True, delay_s=delay_s)


@dataclass
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: Any
    """Decoded JSON body (None when empty or not JSON)."""
    received_at: float

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def stream(self) -> bool:
        return bool(isinstance(self.body, dict) and self.body.get("stream"))

    @property
    def include_usage(self) -> bool:
        """The request asks for usage in the stream's last chunk."""
        options = self.body.get("stream_options") if isinstance(self.body, dict) else None
        return bool(isinstance(options, dict) and options.get("include_usage"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []


class FakeOpenAIServer:
    """A threaded, scripted OpenAI-compatible server; use as a context manager.

    ``url`` is the base URL to give the client (ends with ``/v1``). Unscripted chat requests get the
    ``default`` reply, or HTTP 500 ``no scripted reply left`` when there is none (which also shows up in
    ``unscripted``), so a test that under-scripts fails loudly.
    """

    def __init__(
        self,
        *,
        models: Iterable[str] = (DEFAULT_MODEL,),
        default: Reply | None = None,
        reject_stream_options: bool = False,
    ):
        self.models = list(models)
        self.default = default
        self.reject_stream_options = reject_stream_options
        """Answer HTTP 400 to any request carrying ``stream_options`` (without using the script)."""
        self._lock = threading.Lock()
        self._queue: deque[ReplySource] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.unscripted = 0
        """Chat requests that found the script empty."""
        self.disconnects = 0
        """Streams the client closed before the server finished writing them."""
        self.completed_streams = 0
        """Streams written to the end (``[DONE]`` sent)."""
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake sleeping handlers and cut open connections (port becomes free)."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting and inspection --------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: ReplySource) -> FakeOpenAIServer:
        """Append replies to the queue; each chat request consumes one."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat-completions requests."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` until true or ``timeout`` (for effects observed by handler threads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    # -- internals used by the handler ---------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            source: ReplySource | None = self._queue.popleft() if self._queue else None
            if source is None:
                self.unscripted += 1
        if source is None:
            return self.default or error(500, "fake server: no scripted reply left")
        return source(request) if callable(source) else source

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when interrupted."""
        return not self._stopping.wait(seconds) if seconds > 0 else True

    def _count(self, attribute: str) -> None:
        with self._lock:
            setattr(self, attribute, getattr(self, attribute) + 1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeOpenAIServer

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.owner._lock:
            self.owner._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.owner._lock:
            self.owner._connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def owner(self) -> FakeOpenAIServer:
        return self.server.owner

    # -- routing --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._receive()
        if self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in self.owner.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_json(
                404, {"error": {"message": f"no route {self.path}", "type": "not_found"}}
            )

    def do_POST(self) -> None:
        request = self._receive()
        if not self.path.endswith("/chat/completions"):
            self._send_json(
                404, {"error": {"message": f"no route {self.path}", "type": "not_found"}}
            )
            return
        body = request.body if isinstance(request.body, dict) else {}
        if self.owner.reject_stream_options and "stream_options" in body:
            message = "Unrecognized request argument supplied: stream_options"
            self._send_json(400, {"error": {"message": message, "type": "invalid_request"}})
            return
        reply = self.owner._next_reply(request)
        try:
            self._answer(request, reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _receive(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(data) if data else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        self.owner._record(request)
        return request

    # -- replies --------------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest, reply: Reply) -> None:
        if reply.delay_s and not self.owner._sleep(reply.delay_s):
            self.close_connection = True
            return
        if reply.hang_up:
            self._abort()
            return
        if reply.body is not None or reply.status != 200:
            body = reply.body if reply.body is not None else b""
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            return
        model = reply.model or request.model or DEFAULT_MODEL
        if request.stream:
            self._stream(reply, model, include_usage=request.include_usage)
        else:
            self._send_json(200, _completion(reply, model), headers=reply.headers)

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _abort(self) -> None:
        """Close the socket at once (RST where possible), so the client sees a broken connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {data}\n\n".encode())

    def _stream(self, reply: Reply, model: str, *, include_usage: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        pieces = reply.chunks if reply.chunks is not None else _split(reply.content or "")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        try:
            self._event(chunk({"role": "assistant", "content": ""}))
            for i, piece in enumerate(pieces):
                if reply.drop_after_chunks is not None and i >= reply.drop_after_chunks:
                    self._abort()
                    return
                if reply.error_after_chunks is not None and i >= reply.error_after_chunks:
                    err = {"message": reply.error_message, "type": "server_error", "code": None}
                    self._event({"error": err})
                    self._chunk(b"")
                    return
                if i and reply.chunk_delay_s and not self.owner._sleep(reply.chunk_delay_s):
                    self._abort()
                    return
                self._event(chunk({"content": piece}))
            if reply.tool_calls:
                self._event(chunk({"tool_calls": _tool_calls_json(reply.tool_calls, indexed=True)}))
            self._event(chunk({}, reply.finish_reason or "stop"))
            if include_usage:  # OpenAI's form: a last chunk with no choices
                self._event({**chunk({}), "choices": [], "usage": _usage(reply)})
            self._event("[DONE]")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.owner._count("disconnects")
            self.close_connection = True
            return
        self.owner._count("completed_streams")


def _split(content: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\S*\s*", content)[:-1] or [content]) if content else ()


def _tool_calls_json(
    calls: tuple[ScriptedToolCall, ...], *, indexed: bool = False
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, call in enumerate(calls):
        item: dict[str, Any] = {
            "id": call.id or f"call_{i}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json()},
        }
        if indexed:
            item["index"] = i
        out.append(item)
    return out


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls_json(reply.tool_calls)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": reply.finish_reason or "stop"}
        ],
        "usage": _usage(reply),
    }


def _usage(reply: Reply) -> dict[str, int]:
    usage = dict(reply.usage or {"prompt_tokens": 10, "completion_tokens": 5})
    usage.setdefault(
        "total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
    )
    return usage
