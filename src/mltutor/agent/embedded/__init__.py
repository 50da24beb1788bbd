"""The embedded local model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served by llama-cpp-python.

Used when no ``base_url`` is configured. Two concerns, two modules:
``embedded_model`` assembles and verifies the GGUF from its chunk packages;
``embedded_server`` runs and supervises ``python -m llama_cpp.server`` as a child process.

Typical use by the provider layer::

    server = EmbeddedServer(settings.cache_dir)
    base_url = server.start(progress)          # once; later: server.ensure_running()
    client = OpenAI(base_url=base_url, api_key="embedded")  # model=server.alias

Measured behaviour to respect (see bench/bench_embedded.py): tool calls work only non-streaming
with ``tool_choice="auto"`` passed explicitly; structured output via
``response_format={"type": "json_object", "schema": ...}``; one request at a time (the server
serialises them), and ``GET /v1/models`` blocks while a generation runs.
"""

from __future__ import annotations

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
from mltutor.agent.embedded.server import (
    MODEL_ALIAS,
    CommandBuilder,
    EmbeddedServer,
    free_port,
    llama_server_command,
)

__all__ = [
    "MODEL_ALIAS",
    "MODEL_FILE_NAME",
    "MODEL_SHA256",
    "CommandBuilder",
    "EmbeddedServer",
    "ModelPart",
    "ModelSpec",
    "Progress",
    "assemble_model",
    "default_model_spec",
    "free_port",
    "llama_server_command",
    "locate_parts",
    "verify_file",
]
