"""``mltutor sessions``: list, export (Markdown) or delete the tutor's saved chat sessions.

With ``--json`` the output is always JSON, an error object included, so scripts never have to parse
an error line. Notices about a sessions database moved aside are repeated on every run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mltutor.commands.common import EXIT_OK, error, print_json


def cmd_sessions(args: argparse.Namespace) -> int:
    import sqlite3

    from mltutor.agent import create_service
    from mltutor.agent.errors import SessionError
    from mltutor.settings import load_settings
    from mltutor.storage import pending_notices, storage_error

    def fail(message: str, kind: str = "session") -> int:
        if args.json:  # --json always prints JSON: an error object on failure
            print_json({"error": {"message": message, "kind": kind}})
        return error(message)

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
                print_json([i.model_dump(mode="json") for i in infos])
            for i in infos if not args.json else []:
                print(f"{i.id}  {i.updated_at:%Y-%m-%d %H:%M}  {i.turns:>3} turns  {i.title}")
            if not infos and not args.json:
                print('no sessions yet; start one with: mltutor ask "..."')
        elif args.action == "delete":
            service.delete_session(args.id)
            print_json({"deleted": args.id}) if args.json else print(f"deleted {args.id}")
        elif args.action == "export":
            text = service.export_markdown(args.id)
            print_json({"session": args.id, "markdown": text}) if args.json else print(text)
    except SessionError as exc:
        return fail(exc.message, getattr(exc, "kind", "session"))
    except (sqlite3.Error, OSError) as exc:  # e.g. the checkpoint tables on a full disk
        err = storage_error(exc, settings.data_dir / "sessions.sqlite", "the sessions database")
        return fail(err.message, err.kind)
    finally:
        service.close()
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``sessions`` to the ``mltutor`` sub-commands."""
    se = sub.add_parser("sessions", help="list, export or delete tutor sessions")
    se.add_argument("action", choices=["list", "export", "delete"])
    se.add_argument("id", nargs="?", default=None)
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_sessions)
