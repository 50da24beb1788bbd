"""The embedded local model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served by llama.cpp's native
server (through the xllamacpp wheel), one server per user shared by every mltutor process.

Used when no ``base_url`` is configured. One concern per module:
``model`` assembles and verifies the GGUF from its chunk packages; ``command`` is the server's argv
and options; ``child`` is the server process itself (xllamacpp); ``template`` its chat template;
``process`` spawns and stops processes that must not outlive their parent; ``registry`` is the state
file, lock and user list in the cache dir; ``warden`` the supervisor process that owns the server;
``server`` the per-process handle the provider layer uses.

Typical use by the provider layer::

    server = EmbeddedServer(settings.cache_dir, settings=settings.embedded)
    base_url = server.start(progress)          # once; later: server.ensure_running()
    client = OpenAI(base_url=base_url, api_key="embedded")  # model=server.alias
    ...
    server.stop()                              # this process no longer uses it

Measured behaviour to respect (see bench/bench_embedded.py and tests/agent/embedded): tool calls
work streamed and non-streamed, with the fenced-JSON chat template of ``template``; structured output
via the standard ``response_format={"type": "json_schema", ...}``; one slot by default, so
concurrent requests queue (all are served); closing a streamed response cancels its generation.
"""

from __future__ import annotations

from mltutor.agent.embedded.command import (
    MODEL_ALIAS,
    CommandBuilder,
    ServerOptions,
    free_port,
    native_server_command,
    usable_cpus,
)
from mltutor.agent.embedded.model import (
    MODEL_FILE_NAME,
    MODEL_SHA256,
    ModelPart,
    ModelSpec,
    Progress,
    assemble_model,
    default_model_spec,
    locate_parts,
    verify_file,
)
from mltutor.agent.embedded.registry import Registry, ServerState
from mltutor.agent.embedded.server import EmbeddedServer

__all__ = [
    "MODEL_ALIAS",
    "MODEL_FILE_NAME",
    "MODEL_SHA256",
    "CommandBuilder",
    "EmbeddedServer",
    "ModelPart",
    "ModelSpec",
    "Progress",
    "Registry",
    "ServerOptions",
    "ServerState",
    "assemble_model",
    "default_model_spec",
    "free_port",
    "locate_parts",
    "native_server_command",
    "usable_cpus",
    "verify_file",
]
