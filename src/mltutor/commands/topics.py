"""``mltutor topics``: every topic with its number of interview questions and your mastery."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mltutor.commands.common import EXIT_INPUT, EXIT_OK, error, print_json
from mltutor.commands.progress import learner_report, mastery_bar


def cmd_topics(args: argparse.Namespace) -> int:
    from mltutor.agent.errors import AgentError
    from mltutor.knowledge.errors import KnowledgeError
    from mltutor.knowledge.notes import load_notes
    from mltutor.settings import load_settings

    settings = load_settings()
    try:
        notes = load_notes()
    except KnowledgeError as exc:
        return error(exc.message, EXIT_INPUT)
    try:
        progress = {t.slug: t for t in learner_report(settings).topics}
    except AgentError as exc:  # the topics still list; mastery is unknown
        print(f"mltutor: notice: mastery unavailable: {exc.message}", file=sys.stderr)
        progress = {}
    rows: list[dict[str, Any]] = [
        {
            "slug": n.slug,
            "title": n.title,
            "title_ru": n.title_ru,
            "questions": len(n.questions),
            "difficulties": {
                d: sum(1 for q in n.questions if q.difficulty == d)
                for d in ("easy", "medium", "hard")
            },
            "mastery": progress[n.slug].mastery if n.slug in progress else None,
            "practised": progress[n.slug].practised if n.slug in progress else 0,
        }
        for n in notes
    ]
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"{'topic':<26} {'questions':>9}  {'mastery':<14} title")
    for r in rows:
        title = r["title"] if len(r["title"]) <= 26 else r["title"][:25] + "…"
        print(f"{r['slug'][:26]:<26} {r['questions']:>9}  {mastery_bar(r['mastery']):<14} {title}")
    total = sum(r["questions"] for r in rows)
    print(f"\n{len(rows)} topics, {total} questions · mltutor interview --topic SLUG")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``topics`` to the ``mltutor`` sub-commands."""
    p = sub.add_parser("topics", help="list the topics with question counts and your mastery")
    p.add_argument("--json", action="store_true", help="print the topics as JSON")
    p.set_defaults(func=cmd_topics)
