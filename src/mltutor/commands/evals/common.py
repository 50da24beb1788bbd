"""What the ``eval`` sub-commands share: where runs go, the consoles, the settings, errors.

Every import of rich, the settings or the agent is inside a function so that building the parser
(which imports the handler modules) stays cheap for every other ``mltutor`` command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("eval-runs")
"""Where runs go unless ``--out`` says otherwise (relative to the current directory)."""


def stdout_console() -> Any:
    """A rich console on stdout (tables and reports)."""
    from rich.console import Console

    return Console()


def out_dir(args: argparse.Namespace) -> Path:
    """The ``--out`` directory, or :data:`DEFAULT_OUT`."""
    return Path(args.out) if args.out else DEFAULT_OUT


def settings_of(args: argparse.Namespace) -> Any:
    """The settings, with ``--base-url`` and ``--model`` (if given) over the configured ones."""
    from mltutor.settings import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "base_url", None):
        overrides["base_url"] = args.base_url
    if getattr(args, "model", None):
        overrides["model"] = args.model
    return load_settings(**overrides)


def agent_errors() -> tuple[type[BaseException], ...]:
    """The errors a run can end with that are not the suite's fault (model, knowledge base): they
    exit 1, not 2."""
    from mltutor.agent.errors import AgentError
    from mltutor.knowledge.errors import KnowledgeError

    return (AgentError, KnowledgeError)


def write_text(path: str, text: str) -> None:
    """Write a ``--markdown`` file and say so on stderr."""
    Path(path).write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
