"""``mltutor knowledge``: add, list or remove the user's own study material in the index.

Each file is added or removed whole or not at all; one bad path does not stop the others, but a
read-only, full or locked store stops the rest (they would fail the same way). The notices about
stores moved aside are repeated on every run until the user deals with them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, error, print_json


def knowledge_base() -> Any:
    """The knowledge base of the configured data dir (index progress on stderr)."""
    from mltutor.knowledge.base import open_knowledge_base
    from mltutor.settings import load_settings

    s = load_settings()
    return open_knowledge_base(data_dir=s.data_dir, chroma_url=s.chroma_url, progress=_progress)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def storage_notices() -> None:
    """Tell the user, on every run, about stores that were moved aside until they deal with them."""
    from mltutor.settings import load_settings
    from mltutor.storage import notice_messages

    for message in notice_messages(load_settings().data_dir):
        print(f"mltutor: notice: {message}", file=sys.stderr)


def cmd_knowledge_add(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    kb, failed = knowledge_base(), 0
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
    storage_notices()
    return EXIT_INPUT if failed else EXIT_OK


def cmd_knowledge_list(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    try:
        docs = knowledge_base().list_user_files()
    except KnowledgeError as exc:
        if args.json:
            print_json({"error": {"message": exc.message, "kind": exc.kind}})
        return error(exc.message)
    storage_notices()
    if args.json:
        print_json([d.model_dump(mode="json") for d in docs])
    elif not docs:
        print("no user material yet; add some with: mltutor knowledge add FILE")
    else:
        for d in docs:
            print(f"{d.path}  ({d.chunks} chunks, added {d.added_at:%Y-%m-%d %H:%M})")
    return EXIT_OK


def cmd_knowledge_remove(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    kb, failed = knowledge_base(), 0
    for path in args.paths:
        try:
            kb.remove_user_file(Path(path))
            print(f"removed {path}")
        except KnowledgeError as exc:
            failed += 1
            print(f"mltutor: error: {exc.message}", file=sys.stderr)
    storage_notices()
    return EXIT_INPUT if failed else EXIT_OK


def register(sub: Any) -> None:
    """Add ``knowledge`` and its actions to the ``mltutor`` sub-commands."""
    k = sub.add_parser("knowledge", help="manage your own study material")
    ksub = k.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    ka = ksub.add_parser("add", help="index Markdown/text files")
    ka.add_argument("paths", nargs="+")
    ka.set_defaults(func=cmd_knowledge_add)
    kl = ksub.add_parser("list", help="list indexed files")
    kl.add_argument("--json", action="store_true")
    kl.set_defaults(func=cmd_knowledge_list)
    kr = ksub.add_parser("remove", help="remove files from the index")
    kr.add_argument("paths", nargs="+")
    kr.set_defaults(func=cmd_knowledge_remove)
