"""A stand-in for the embedded model server process, run as a script by the supervision tests.

It behaves like our xllamacpp child where the supervisor and the client can see it: ``/health``
answers 503 "Loading model" for ``--loading-s`` seconds and 200 after; ``/v1/models`` lists
``--alias`` once loaded; ``/v1/chat/completions`` answers with this process's pid (so tests see which
server answered), streamed when asked. ``--mode`` makes it misbehave:

- ``fail``: exits 3 at start with a model-load error on stderr;
- ``hang``: never answers;
- ``die-after-ready``: exits 0.1 s after first listing the model;
- ``die-mid-answer``: exits after 3 streamed pieces, once (a marker file makes the restart healthy);
- ``endless``: streams without end (until the client goes away, which it records in --events).

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--alias", required=True)
p.add_argument("--mode", default="ok")
p.add_argument("--loading-s", type=float, default=0.0)
p.add_argument("--pidfile")
p.add_argument("--events", help="append one line per notable event")
p.add_argument("--marker", help="file whose existence disarms die-mid-answer")
p.add_argument(
    "--stuck-file", help="while this file exists, /health hangs; a new server removes it"
)
args = p.parse_args()

STARTED = time.monotonic()


def event(text: str) -> None:
    if args.events:
        with open(args.events, "a") as f:
            f.write(f"{os.getpid()} {text}\n")


if args.stuck_file and os.path.exists(args.stuck_file):
    os.unlink(args.stuck_file)
if args.pidfile:
    Path(args.pidfile).write_text(str(os.getpid()))
print(f"fake server {os.getpid()} starting on {args.port}", flush=True)
event("start")
if args.mode == "fail":
    print(
        "llama_model_load: error loading model: tensor data is not within file bounds",
        file=sys.stderr,
    )
    sys.exit(3)
if args.mode == "hang":
    time.sleep(600)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _loading(self) -> bool:
        if time.monotonic() - STARTED < args.loading_s:
            self._json(503, {"error": {"message": "Loading model", "code": 503}})
            return True
        return False

    def do_GET(self) -> None:
        if self._loading():
            return
        if self.path == "/health":
            while args.stuck_file and os.path.exists(args.stuck_file):
                time.sleep(0.1)  # hung (e.g. a deadlock in the server)
            self._json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": args.alias, "object": "model"}]})
            if args.mode == "die-after-ready":
                threading.Timer(0.1, os._exit, (1,)).start()
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        event(f"request max_tokens={body.get('max_tokens')}")
        if self._loading():
            return
        answer = f"pid {os.getpid()}"
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": args.alias,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")  # as llama.cpp: a cut is detectable
        self.end_headers()

        def send(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        die = args.mode == "die-mid-answer" and not (args.marker and Path(args.marker).exists())
        pieces = 10**9 if args.mode == "endless" else 5
        try:
            for i in range(pieces):
                if die and i == 3:
                    Path(args.marker or "/dev/null").touch()
                    os._exit(1)
                chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": args.alias,
                    "choices": [{"index": 0, "delta": {"content": f"{answer} {i} "}}],
                }
                send(f"data: {json.dumps(chunk)}\n\n".encode())
                time.sleep(0.05)
            send(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # BrokenPipeError, ConnectionResetError
            event("client gone")

    def log_message(self, *a: object) -> None:
        pass


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
