"""``mltutor search``: search the topic notes and the user's material (hybrid retrieval).

The query and ``-k`` are checked before the knowledge base is opened (opening may index), so a
mistyped command fails at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from mltutor.commands.common import EXIT_OK, error, print_json
from mltutor.commands.knowledge import knowledge_base

SEARCH_MAX_QUERY_CHARS = 2000
"""Longest search query; longer text is refused before any index work (it is not a query)."""

SEARCH_MAX_K = 100
"""Most hits one search returns."""


def cmd_search(args: argparse.Namespace) -> int:
    from mltutor.knowledge.errors import KnowledgeError

    query = " ".join(args.query)
    if len(query) > SEARCH_MAX_QUERY_CHARS:
        return error(
            f"the query is {len(query)} characters long; the limit is {SEARCH_MAX_QUERY_CHARS} "
            "(search with a few words or a formula)"
        )
    if not query.strip():
        return error("the query is empty; give a few words to search for")
    if not 1 <= args.k <= SEARCH_MAX_K:
        return error(f"-k must be between 1 and {SEARCH_MAX_K} (got {args.k})")
    try:
        hits = knowledge_base().search(query, k=args.k, topic=args.topic)
    except KnowledgeError as exc:
        return error(exc.message)
    if args.json:
        print_json([h.to_json() for h in hits])
    else:
        for i, h in enumerate(hits, 1):
            print(f"{i}. [{h.citation}] ({h.score:.3f})  {h.source}")
            print("   " + h.text[:300].replace("\n", "\n   "))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``search`` to the ``mltutor`` sub-commands."""
    s = sub.add_parser("search", help="search the topic notes and your material")
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    s.add_argument("--topic", help="only this topic slug")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)
