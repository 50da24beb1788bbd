"""The embedded model server process: llama.cpp's native HTTP server, hosted through xllamacpp.

Run by the supervisor (:mod:`mltutor.agent.embedded.warden`) as
``python -m mltutor.agent.embedded.child --model M --port P ...``. ``xllamacpp.Server`` starts the HTTP
server first (``GET /health`` answers 503 "Loading model" while the model loads, then 200), loads the
model, and serves from background threads; this module only configures it and then waits for a signal.

It imports nothing from mltutor but the chat template, so the process starts in well under a second
plus the model load. llama.cpp installs its own SIGINT/SIGTERM handlers (a graceful shutdown that
waits for running requests); ours replace them once the server runs, so SIGTERM ends the process at
once: the server holds no state worth saving. The process also exits when its parent is gone (on
Linux the supervisor additionally sets ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mltutor-embedded-server")
    p.add_argument("--model", required=True, help="path of the verified GGUF")
    p.add_argument("--alias", required=True, help="model name to serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--slots", type=int, default=1)
    p.add_argument("--context", type=int, default=4096, help="context tokens per slot")
    p.add_argument("--prompt-cache-mib", type=int, default=256)
    p.add_argument("--batch", type=int, default=32, help="prompt tokens per decoding step")
    return p.parse_args(argv)


def build_params(args: argparse.Namespace) -> object:
    """``xllamacpp.CommonParams`` for our model (field names of xllamacpp 2026.x)."""
    import xllamacpp

    from mltutor.agent.embedded.template import CHAT_TEMPLATE

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = args.slots
    params.n_ctx = args.context * args.slots  # llama.cpp splits n_ctx evenly across the slots
    params.n_batch = args.batch
    params.n_ubatch = min(args.batch, 512)
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.cache_prompt = True  # reuse the KV cache of a repeated prefix (system prompt, tools)
    params.cache_ram_mib = args.prompt_cache_mib
    params.chat_template = CHAT_TEMPLATE
    params.use_jinja = True
    params.fit_params = False  # sizes are explicit; the fitting pass costs ~1 s at start
    # an SSE comment every second while a streamed request waits (for instance while the prompt is
    # read): writing it is how the server notices a closed connection, and cancels, before the
    # first token; measured: cancelled 2 s after the close instead of at the end of the prompt
    params.sse_ping_interval = 1
    params.endpoint_metrics = True
    params.ui = False
    return params


def _watch_parent(parent: int) -> None:
    """Exit when the parent is gone (re-parented), for systems without ``PR_SET_PDEATHSIG``."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


PASSIVE_WAIT = {"OMP_WAIT_POLICY": "PASSIVE"}
"""llama.cpp's CPU threads synchronise at every step through OpenMP; by default a waiting thread
spins. When other programs use the cores too, a spinning thread burns the time slice its partner
needs: measured on the 2-core machine at load ~9, decode fell to 0.17-0.29 tok/s with spinning and ran
at 8.6-14.1 tok/s with passive waiting (see bench/results/embedded.json for the quiet case). Set
before xllamacpp (and with it libgomp) is loaded; an explicit OMP_WAIT_POLICY wins."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for key, value in PASSIVE_WAIT.items():
        os.environ.setdefault(key, value)
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        import xllamacpp
    except ImportError as exc:
        print(f"mltutor: the embedded model needs xllamacpp: {exc}", file=sys.stderr, flush=True)
        return 2
    params = build_params(args)
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # the C++ side reports why on stderr just before this
        print(f"mltutor: the model server did not start: {exc}", file=sys.stderr, flush=True)
        return 1

    def bye(signum: int, frame: object) -> None:
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, bye)
    print(
        f"mltutor: serving {args.alias} at {server.listening_address}", file=sys.stderr, flush=True
    )
    while True:  # the server runs in its own threads; this thread only waits for a signal
        if hasattr(signal, "pause"):
            signal.pause()
        else:  # Windows
            time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
