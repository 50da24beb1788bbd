"""What runs as the embedded model server: the argv of our xllamacpp child and its options.

The server is llama.cpp's own C++ HTTP server (``xllamacpp.Server``, from a prebuilt wheel) hosted by a
small Python entry point of ours, :mod:`mltutor.agent.embedded.child`, so it can run as a separate
process (a crash inside llama.cpp cannot take the tutor down, and the process can be restarted and
killed). The command is injectable so tests run a fake server instead.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MODEL_ALIAS = "qwen2.5-coder-1.5b"
"""The model name the embedded server answers to (``model=`` in requests), whatever the file name."""

HOST = "127.0.0.1"
"""The server listens on loopback only."""

PORT_PLACEHOLDER = "{port}"
"""Stands for the port in a command; the supervisor substitutes the port it picked."""

RUNTIME_REQUIREMENT = "xllamacpp==2026.10.11549"
"""The server runtime as pinned in pyproject.toml (the version the parameters and the chat template's
tool-call parsing were tested with)."""

CHILD_MODULE = "mltutor.agent.embedded.child"
"""The module the server process runs (also how a stale server is recognised in ``/proc``)."""

CommandBuilder = Callable[[Path, "ServerOptions"], Sequence[str]]
"""``command(model_path, options)``: the server's argv, with :data:`PORT_PLACEHOLDER` for the port."""


@dataclass(frozen=True)
class ServerOptions:
    """How the server runs (from :class:`~mltutor.settings.EmbeddedSettings`)."""

    alias: str = MODEL_ALIAS
    """Model name served."""
    threads: int | None = None
    """Generation threads; None: every usable CPU."""
    slots: int = 1
    """Parallel request slots (more requests queue)."""
    context_tokens: int = 4096
    """Context window per slot."""
    prompt_cache_mib: int = 256
    """Host memory for cached prompt prefixes beyond the slots."""
    batch_tokens: int = 32
    """Prompt tokens evaluated per step (llama.cpp's default is 2048). A cancelled request stops
    only at the end of the step it is in (the server looks at its queue between steps), so this
    bounds how long a stopped request keeps the server reading its prompt, and so how long the next
    request (from any process) waits. Measured side by side on the idle 2-core machine
    (``bench/results/prompt_steps.json``): 27.0 prompt tokens/s with steps of 16, 32.3 with 32
    (x1.19), 34.2 with 64 (x1.26). 32 takes most of the gain while a step lasts ~1 s idle (~3 s
    at load, where 16 vs 128 had shown no speed difference but 8-12 s longer waits after a stop
    with 128)."""

    def thread_count(self) -> int:
        return self.threads or usable_cpus()


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers restrict), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def native_server_command(model: Path, options: ServerOptions) -> list[str]:
    """The argv of our xllamacpp child for ``model`` (see :mod:`mltutor.agent.embedded.child`)."""
    return [
        sys.executable,
        "-m",
        CHILD_MODULE,
        "--model",
        str(model),
        "--alias",
        options.alias,
        "--host",
        HOST,
        "--port",
        PORT_PLACEHOLDER,
        "--threads",
        str(options.thread_count()),
        "--slots",
        str(options.slots),
        "--context",
        str(options.context_tokens),
        "--prompt-cache-mib",
        str(options.prompt_cache_mib),
        "--batch",
        str(options.batch_tokens),
    ]


def with_port(argv: Sequence[str], port: int) -> list[str]:
    """``argv`` with every :data:`PORT_PLACEHOLDER` replaced by ``port``."""
    return [a.replace(PORT_PLACEHOLDER, str(port)) for a in argv]
