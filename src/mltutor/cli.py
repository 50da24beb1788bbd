"""The ``mltutor`` command: parses arguments and calls the parts. No logic lives here.

Heavy modules (SymPy, Chroma, the embedder) are imported inside the handlers so that ``--help`` and
simple commands start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_WRONG, EXIT_INPUT = 0, 1, 2


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _error(message: str, code: int = EXIT_INPUT) -> int:
    print(f"mltutor: error: {message}", file=sys.stderr)
    return code


# -- check -------------------------------------------------------------------------------------


def _skip_pydantic_plugins() -> None:
    """mltutor uses no pydantic plugins; looking for them reads the metadata of every installed
    package (~20 ms of a command's start-up). A value set by the user is kept."""
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def _tool_limits() -> Any:
    """The ``[tools]`` settings. The full settings (pydantic-settings: ~0.1 s of imports) are
    loaded only when something could configure them: a config file or an MLTUTOR_TOOLS* variable."""
    import os

    from mltutor.tools.limits import DEFAULT_LIMITS

    configured = any(k.upper().startswith("MLTUTOR_TOOLS") for k in os.environ)
    if not configured:
        if os.environ.get("MLTUTOR_CONFIG"):
            path = Path(os.environ["MLTUTOR_CONFIG"]).expanduser()
        else:  # the rule of mltutor.settings.config_file (a test keeps the two in step)
            import platformdirs

            path = Path(platformdirs.user_config_dir("mltutor")) / "config.toml"
        try:
            configured = path.is_file()
        except OSError:
            configured = True  # let the settings loader report it
    if not configured:
        return DEFAULT_LIMITS
    from mltutor.settings import load_settings

    return load_settings().tools


def _read_bounded(source: str, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a file or stdin; None when there is more (nothing more is read)."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(source, "rb") as f:
            data = f.read(limit + 1)
    return None if len(data) > limit else data


def _cmd_check(args: argparse.Namespace) -> int:
    import codecs

    _skip_pydantic_plugins()
    limits = _tool_limits()
    source: str = args.file
    try:
        data = _read_bounded(source, limits.max_derivation_bytes)
    except OSError as exc:
        return _error(f"cannot read {source!r}: {exc.strerror or exc}")
    if data is None:
        return _error(
            f"{source!r} is larger than {limits.max_derivation_bytes} bytes; check a shorter "
            "derivation (or raise tools.max_derivation_bytes in the settings)"
        )
    try:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        encoding = "UTF-16" if utf16 else "UTF-8"
        return _error(f"cannot read {source!r}: not {encoding} text (byte {exc.start + 1})")
    from mltutor.tools.checker import check_derivation, format_report

    report = check_derivation(text, limits=limits)
    if args.json:
        _print_json(report.to_json())
    else:
        print(format_report(report))
    # an unverifiable step means "not every step holds": exit 1, as for a wrong step
    return EXIT_OK if report.verdict == "correct" else EXIT_WRONG


# -- tool ----------------------------------------------------------------------------------------


def _cmd_tool_list(args: argparse.Namespace) -> int:
    from mltutor.tools.registry import all_tools

    _print_json([{"name": t.name, "description": t.description} for t in all_tools()])
    return EXIT_OK


def _cmd_tool_schema(args: argparse.Namespace) -> int:
    from mltutor.tools.errors import ToolError
    from mltutor.tools.registry import get_tool, openai_tool_schema

    try:
        _print_json(openai_tool_schema(get_tool(args.name)))
    except ToolError as exc:
        return _error(exc.message)
    return EXIT_OK


def _cmd_tool_run(args: argparse.Namespace) -> int:
    _skip_pydantic_plugins()
    from mltutor.tools.errors import ToolError
    from mltutor.tools.registry import parse_arguments, run_tool

    try:
        payload = parse_arguments(args.args) if args.args else {}
    except ToolError as exc:
        _print_json({"error": exc.message, "tool": args.name})
        return EXIT_INPUT
    try:
        result = run_tool(args.name, payload, limits=_tool_limits())
    except ToolError as exc:
        _print_json({"error": exc.message, "tool": args.name})
        return EXIT_WRONG
    _print_json(result.model_dump(mode="json"))
    return EXIT_OK


# -- search / knowledge ----------------------------------------------------------------------


def _knowledge_base() -> Any:
    from mltutor.knowledge.base import open_knowledge_base
    from mltutor.settings import load_settings

    s = load_settings()
    return open_knowledge_base(data_dir=s.data_dir, chroma_url=s.chroma_url, progress=_progress)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


SEARCH_MAX_QUERY_CHARS = 2000
"""Longest search query; longer text is refused before any index work (it is not a query)."""

SEARCH_MAX_K = 100
"""Most hits one search returns."""


def _cmd_search(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    query = " ".join(args.query)
    if len(query) > SEARCH_MAX_QUERY_CHARS:
        return _error(
            f"the query is {len(query)} characters long; the limit is {SEARCH_MAX_QUERY_CHARS} "
            "(search with a few words or a formula)"
        )
    if not query.strip():
        return _error("the query is empty; give a few words to search for")
    if not 1 <= args.k <= SEARCH_MAX_K:
        return _error(f"-k must be between 1 and {SEARCH_MAX_K} (got {args.k})")
    try:
        hits = _knowledge_base().search(query, k=args.k, topic=args.topic)
    except KnowledgeError as exc:
        return _error(exc.message)
    if args.json:
        _print_json([h.to_json() for h in hits])
    else:
        for i, h in enumerate(hits, 1):
            print(f"{i}. [{h.citation}] ({h.score:.3f})  {h.source}")
            print("   " + h.text[:300].replace("\n", "\n   "))
    return EXIT_OK


def _storage_notices() -> None:
    """Tell the user, on every run, about stores that were moved aside until they deal with them."""
    from mltutor.settings import load_settings
    from mltutor.storage import notice_messages

    for message in notice_messages(load_settings().data_dir):
        print(f"mltutor: notice: {message}", file=sys.stderr)


def _cmd_knowledge_add(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    kb, failed = _knowledge_base(), 0
    for i, path in enumerate(args.paths):
        try:  # each file is added whole or not at all; one bad path does not stop the others
            n = kb.add_user_file(Path(path))
            print(f"added {path}: {n} chunks")
        except KnowledgeError as exc:
            failed += 1
            print(f"mltutor: error: {exc.message}", file=sys.stderr)
            rest = args.paths[i + 1 :]
            if exc.kind in ("read_only", "disk_full", "locked") and rest:
                print(f"mltutor: error: not added either: {', '.join(rest)}", file=sys.stderr)
                failed += len(rest)
                break
    _storage_notices()
    return EXIT_INPUT if failed else EXIT_OK


def _cmd_knowledge_list(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    try:
        docs = _knowledge_base().list_user_files()
    except KnowledgeError as exc:
        if args.json:
            _print_json({"error": {"message": exc.message, "kind": exc.kind}})
        return _error(exc.message)
    _storage_notices()
    if args.json:
        _print_json([d.model_dump(mode="json") for d in docs])
    elif not docs:
        print("no user material yet; add some with: mltutor knowledge add FILE")
    else:
        for d in docs:
            print(f"{d.path}  ({d.chunks} chunks, added {d.added_at:%Y-%m-%d %H:%M})")
    return EXIT_OK


def _cmd_knowledge_remove(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    kb, failed = _knowledge_base(), 0
    for path in args.paths:
        try:
            kb.remove_user_file(Path(path))
            print(f"removed {path}")
        except KnowledgeError as exc:
            failed += 1
            print(f"mltutor: error: {exc.message}", file=sys.stderr)
    _storage_notices()
    return EXIT_INPUT if failed else EXIT_OK


# -- ask / sessions ------------------------------------------------------------------------------


def _cmd_sessions(args: argparse.Namespace) -> int:
    import sqlite3

    from mltutor.agent import create_service
    from mltutor.agent.errors import SessionError
    from mltutor.settings import load_settings
    from mltutor.storage import pending_notices, storage_error

    def fail(message: str, kind: str = "session") -> int:
        if args.json:  # --json always prints JSON: an error object on failure
            _print_json({"error": {"message": message, "kind": kind}})
        return _error(message)

    if args.action != "list" and not args.id:
        return fail(f"`mltutor sessions {args.action}` needs a session id (see `sessions list`)")
    settings = load_settings()
    try:
        service = create_service(settings)
    except SessionError as exc:
        return fail(exc.message, getattr(exc, "kind", "session"))
    notices = pending_notices(settings.data_dir)
    for notice in notices:  # every time, until the user deletes or moves the kept copy
        print(f"mltutor: notice: {notice.message}", file=sys.stderr)
    extra = getattr(service, "notice", None)
    if extra and not any(str(n.aside) in extra for n in notices):
        print(f"mltutor: notice: {extra}", file=sys.stderr)
    try:
        if args.action == "list":
            infos = service.sessions()
            if args.json:
                _print_json([i.model_dump(mode="json") for i in infos])
            for i in infos if not args.json else []:
                print(f"{i.id}  {i.updated_at:%Y-%m-%d %H:%M}  {i.turns:>3} turns  {i.title}")
            if not infos and not args.json:
                print('no sessions yet; start one with: mltutor ask "..."')
        elif args.action == "delete":
            service.delete_session(args.id)
            _print_json({"deleted": args.id}) if args.json else print(f"deleted {args.id}")
        elif args.action == "export":
            text = service.export_markdown(args.id)
            _print_json({"session": args.id, "markdown": text}) if args.json else print(text)
    except SessionError as exc:
        return fail(exc.message, getattr(exc, "kind", "session"))
    except (sqlite3.Error, OSError) as exc:  # e.g. the checkpoint tables on a full disk
        err = storage_error(exc, settings.data_dir / "sessions.sqlite", "the sessions database")
        return fail(err.message, err.kind)
    finally:
        service.close()
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from mltutor import __version__

    p = argparse.ArgumentParser(
        prog="mltutor", description="A terminal tutor for the mathematics of ML interviews."
    )
    p.add_argument("--version", action="version", version=f"mltutor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser(
        "check", help="check a derivation, one step per line; find the first wrong step"
    )
    c.add_argument("file", nargs="?", default="-", help="file with the derivation, or - for stdin")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(func=_cmd_check)

    t = sub.add_parser("tool", help="list or run the typed math tools (JSON in, JSON out)")
    tsub = t.add_subparsers(dest="tool_command", metavar="ACTION", required=True)
    tl = tsub.add_parser("list", help="list the tools")
    tl.set_defaults(func=_cmd_tool_list)
    ts = tsub.add_parser("schema", help="print a tool's JSON schema (as given to the LLM)")
    ts.add_argument("name")
    ts.set_defaults(func=_cmd_tool_schema)
    tr = tsub.add_parser("run", help="run a tool: mltutor tool run NAME 'JSON-ARGS'")
    tr.add_argument("name")
    tr.add_argument("args", nargs="?", default="{}", help="tool arguments as a JSON object")
    tr.set_defaults(func=_cmd_tool_run)

    s = sub.add_parser("search", help="search the topic notes and your material")
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    s.add_argument("--topic", help="only this topic slug")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_search)

    from mltutor.commands import ask

    ask.register(sub)
    from mltutor.commands import grade

    grade.register(sub)
    from mltutor.commands import interview, progress, topics

    interview.register(sub)
    topics.register(sub)
    progress.register(sub)
    from mltutor.commands import evals

    evals.register(sub)

    se = sub.add_parser("sessions", help="list, export or delete tutor sessions")
    se.add_argument("action", choices=["list", "export", "delete"])
    se.add_argument("id", nargs="?", default=None)
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=_cmd_sessions)

    k = sub.add_parser("knowledge", help="manage your own study material")
    ksub = k.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    ka = ksub.add_parser("add", help="index Markdown/text files")
    ka.add_argument("paths", nargs="+")
    ka.set_defaults(func=_cmd_knowledge_add)
    kl = ksub.add_parser("list", help="list indexed files")
    kl.add_argument("--json", action="store_true")
    kl.set_defaults(func=_cmd_knowledge_list)
    kr = ksub.add_parser("remove", help="remove files from the index")
    kr.add_argument("paths", nargs="+")
    kr.set_defaults(func=_cmd_knowledge_remove)
    return p


def _settings_error(exc: BaseException) -> str | None:
    """The message of a SettingsError. Only commands that load the settings import them (~0.1 s),
    so an error from a module that was never imported cannot be one."""
    settings = sys.modules.get("mltutor.settings")
    if settings is not None and isinstance(exc, settings.SettingsError):
        return str(exc.message)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
            return _error(message)
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
        return _error(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
