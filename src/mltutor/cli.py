"""The ``mltutor`` command: builds the parser and dispatches to the parts. No logic lives here.

Each sub-command is a module of :mod:`mltutor.commands` with a ``register(sub)`` that adds its
parser; the handlers import heavy modules (SymPy, Chroma, the embedder) themselves, so that
``--help`` and simple commands start fast. ``check`` and ``tool`` are measured against
``import sympy`` (bench/bench_startup.py): for them only their own sub-parser is built, which saves
importing and building the other ten (their ``--help`` and errors read the same either way).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, EXIT_WRONG, error
from mltutor.commands.limits import tool_limits as _tool_limits  # where tests import it from

COMMANDS = (
    "check",
    "tool",
    "search",
    "ask",
    "grade",
    "interview",
    "topics",
    "progress",
    "evals",
    "sessions",
    "knowledge",
)
"""The modules of :mod:`mltutor.commands` that register a sub-command, in ``--help`` order."""

LIGHT = frozenset({"check", "tool"})
"""The sub-commands (each a module of the same name) that get a parser with only their own."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``mltutor`` parser; ``only``: one of :data:`LIGHT`, whose sub-parser alone is added."""
    from mltutor import __version__

    p = argparse.ArgumentParser(
        prog="mltutor", description="A terminal tutor for the mathematics of ML interviews."
    )
    p.add_argument("--version", action="version", version=f"mltutor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only in LIGHT else COMMANDS:
        importlib.import_module(f"mltutor.commands.{name}").register(sub)
    return p


def _settings_error(exc: BaseException) -> str | None:
    """The message of a SettingsError. Only commands that load the settings import them (~0.1 s),
    so an error from a module that was never imported cannot be one."""
    settings = sys.modules.get("mltutor.settings")
    if settings is not None and isinstance(exc, settings.SettingsError):
        return str(exc.message)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=argv[0] if argv and argv[0] in LIGHT else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help()  # no terminal to draw on (piped, CI): the commands instead
            return EXIT_OK
        from mltutor.tui.shutdown import run_app  # lazy: Textual is imported only for the app

        try:
            return run_app()  # settings are loaded before the screen is taken over
        except KeyboardInterrupt:  # SIGINT from outside (in the app, ctrl+c stops an answer)
            return 130
        except Exception as exc:
            if (message := _settings_error(exc)) is None:
                raise
            return error(message)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mltutor tool list | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if (message := _settings_error(exc)) is None:
            raise
        return error(message)
    return code


__all__ = ["EXIT_INPUT", "EXIT_OK", "EXIT_WRONG", "_tool_limits", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
