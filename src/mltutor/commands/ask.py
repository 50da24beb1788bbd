"""``mltutor ask``: one question to the tutor, streamed, or as JSON."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from mltutor.commands.common import EXIT_OK, EXIT_WRONG, error, print_json


def ask_once(
    service: Any,
    question: str,
    *,
    session_id: str | None = None,
    best_of: int | None = None,
    on_event: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Ask one question and return the documented JSON shape of ``mltutor ask --json``."""
    start = time.perf_counter()
    final: Any = None
    error: Any = None
    sid = session_id
    for event in service.ask(question, session_id=session_id, best_of=best_of, cancel=cancel):
        if on_event is not None:
            on_event(event)
        sid = event.session_id or sid
        if event.type == "final":
            final = event
        elif event.type == "error":
            error = event
    total = time.perf_counter() - start
    trace = service.last_trace(sid) if sid and final is not None else None
    timings = dict(trace.timings) if trace else {}
    timings["total"] = round(total, 3)
    v = trace.verification if trace else None
    out: dict[str, Any] = {
        "answer": final.answer if final else "",
        "citations": [c.model_dump() for c in final.citations] if final else [],
        "tool_calls": [
            {
                "name": c.name,
                "args": c.args,
                "result": c.result,
                "origin": c.origin,
                "grounded": c.grounded,
            }
            for c in (trace.tool_calls if trace else [])
        ],
        "verification": {
            "claims_checked": v.claims_checked if v else 0,
            "claims_failed": v.claims_failed if v else 0,
            "statements_checked": len(v.statements) if v else 0,
            "statements_supported": v.count("supported") if v else 0,
            "statements_contradicted": v.count("contradicted") if v else 0,
        },
        "candidates": [
            {"score": c.score, "details": c.details} for c in (trace.candidates if trace else [])
        ],
        "timings": timings,
        "usage": dict(trace.usage) if trace else {},
        "model": service.status().model,
        "session": sid,
    }
    if final is not None:
        out["verification"]["summary"] = final.verified
        out["verification"]["failures"] = list(v.failures) if v else []
    if error is not None:
        out["error"] = {"message": error.message, "kind": error.kind, "retryable": error.retryable}
    return out


STOP_GRACE_S = 1.0
"""After Ctrl-C the run is cancelled (a streamed answer stops at its next token and its HTTP stream
is closed, which stops the generation on the server); if it has not ended within this many seconds
(the model is still reading the prompt, a tool or the grading runs), the process exits anyway: the
kernel closes its connection, so the server cancels the request all the same."""


def _stop_on_ctrl_c(cancel: threading.Event) -> Callable[[], None]:
    """Make Ctrl-C set ``cancel`` (a second one raises KeyboardInterrupt); returns the undo."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_sigint(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

        def hard_exit() -> None:
            print("\ninterrupted", file=sys.stderr, flush=True)
            os._exit(130)

        timer = threading.Timer(STOP_GRACE_S, hard_exit)
        timer.daemon = True
        timer.start()

    previous = signal.signal(signal.SIGINT, on_sigint)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def cmd_ask(args: argparse.Namespace) -> int:
    from mltutor.agent import create_service
    from mltutor.agent.errors import SessionError
    from mltutor.settings import load_settings
    from mltutor.storage import pending_notices

    settings = load_settings()
    for notice in pending_notices(settings.data_dir):
        print(f"mltutor: notice: {notice.message}", file=sys.stderr)
    try:
        service = create_service(settings)
    except SessionError as exc:
        if args.json:
            print_json({"error": {"message": exc.message, "kind": "session"}})
        return error(exc.message)
    streamed = False

    def show(event: Any) -> None:
        nonlocal streamed
        if args.json:
            return
        if event.type == "retrieval" and event.hits:
            print("sources: " + "; ".join(h.label for h in event.hits[:3]), file=sys.stderr)
        elif event.type == "tool_result":
            print(f"tool: {event.summary}", file=sys.stderr)
        elif event.type == "token" and event.candidate == 0:
            streamed = True
            print(event.text, end="", flush=True)

    cancel = threading.Event()
    restore = _stop_on_ctrl_c(cancel)
    try:
        result = ask_once(
            service,
            " ".join(args.question),
            session_id=args.session,
            best_of=args.best_of,
            on_event=show,
            cancel=cancel,
        )
    finally:
        restore()
        service.close()
    if cancel.is_set():  # stopped by Ctrl-C: the session is saved and the server released
        if args.json:
            print_json(result)  # with its "error" (kind "cancelled")
        print("\ninterrupted", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)  # now: interpreter teardown takes seconds on a loaded machine
    if args.json:
        print_json(result)
    else:
        if streamed:
            print("\n")
        if result["answer"]:
            print("--- answer ---")
            print(result["answer"])
            if result["citations"]:
                print("\nsources: " + "; ".join(c["label"] for c in result["citations"]))
            print(result["verification"].get("summary", ""))
            print(f"(session {result['session']}; continue with --session {result['session']})")
    if "error" in result:
        print(f"mltutor: error: {result['error']['message']}", file=sys.stderr)
        return EXIT_WRONG
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``ask`` to the ``mltutor`` sub-commands."""
    a = sub.add_parser("ask", help="ask the tutor one question (streams the answer)")
    a.add_argument("question", nargs="+")
    a.add_argument(
        "--json",
        action="store_true",
        help="print answer, citations, tool calls, verification, candidates and timings as JSON",
    )
    a.add_argument(
        "--best-of",
        type=int,
        default=None,
        metavar="N",
        help="generate N candidates and keep the best verified one",
    )
    a.add_argument("--session", default=None, metavar="ID", help="continue a session")
    a.set_defaults(func=cmd_ask)
