"""``mltutor tool``: list the typed math tools, print one's JSON schema, or run one (JSON in and out).

``tool run`` prints a JSON error object (and exits 2 for arguments that are not a JSON object, 1 for
a tool error) rather than an error line, so that scripts always get JSON.
"""

from __future__ import annotations

import argparse
from typing import Any

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, EXIT_WRONG, error, print_json
from mltutor.commands.limits import skip_pydantic_plugins, tool_limits


def cmd_tool_list(args: argparse.Namespace) -> int:
    from mltutor.tools.registry import all_tools

    print_json([{"name": t.name, "description": t.description} for t in all_tools()])
    return EXIT_OK


def cmd_tool_schema(args: argparse.Namespace) -> int:
    from mltutor.tools.errors import ToolError
    from mltutor.tools.registry import get_tool, openai_tool_schema

    try:
        print_json(openai_tool_schema(get_tool(args.name)))
    except ToolError as exc:
        return error(exc.message)
    return EXIT_OK


def cmd_tool_run(args: argparse.Namespace) -> int:
    skip_pydantic_plugins()
    from mltutor.tools.errors import ToolError
    from mltutor.tools.registry import parse_arguments, run_tool

    try:
        payload = parse_arguments(args.args) if args.args else {}
    except ToolError as exc:
        print_json({"error": exc.message, "tool": args.name})
        return EXIT_INPUT
    try:
        result = run_tool(args.name, payload, limits=tool_limits())
    except ToolError as exc:
        print_json({"error": exc.message, "tool": args.name})
        return EXIT_WRONG
    print_json(result.model_dump(mode="json"))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``tool`` and its actions to the ``mltutor`` sub-commands."""
    t = sub.add_parser("tool", help="list or run the typed math tools (JSON in, JSON out)")
    tsub = t.add_subparsers(dest="tool_command", metavar="ACTION", required=True)
    tl = tsub.add_parser("list", help="list the tools")
    tl.set_defaults(func=cmd_tool_list)
    ts = tsub.add_parser("schema", help="print a tool's JSON schema (as given to the LLM)")
    ts.add_argument("name")
    ts.set_defaults(func=cmd_tool_schema)
    tr = tsub.add_parser("run", help="run a tool: mltutor tool run NAME 'JSON-ARGS'")
    tr.add_argument("name")
    tr.add_argument("args", nargs="?", default="{}", help="tool arguments as a JSON object")
    tr.set_defaults(func=cmd_tool_run)
