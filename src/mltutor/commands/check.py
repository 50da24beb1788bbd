"""``mltutor check``: check a derivation (a file or stdin), one step per line; find the first wrong step.

The input is read bounded (never more than ``tools.max_derivation_bytes`` + 1 bytes) and decoded as
UTF-8 or, with a byte-order mark, UTF-16, before SymPy is imported: a file that is too big or not
text is refused at once. Exit 0 when every step holds, 1 otherwise (a step that cannot be verified
counts as not holding), 2 for input that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mltutor.commands.common import EXIT_OK, EXIT_WRONG, error, print_json
from mltutor.commands.limits import skip_pydantic_plugins, tool_limits


def read_bounded(source: str, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a file or stdin; None when there is more (nothing more is read)."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(source, "rb") as f:
            data = f.read(limit + 1)
    return None if len(data) > limit else data


def cmd_check(args: argparse.Namespace) -> int:
    import codecs

    skip_pydantic_plugins()
    limits = tool_limits()
    source: str = args.file
    try:
        data = read_bounded(source, limits.max_derivation_bytes)
    except OSError as exc:
        return error(f"cannot read {source!r}: {exc.strerror or exc}")
    if data is None:
        return error(
            f"{source!r} is larger than {limits.max_derivation_bytes} bytes; check a shorter "
            "derivation (or raise tools.max_derivation_bytes in the settings)"
        )
    try:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        encoding = "UTF-16" if utf16 else "UTF-8"
        return error(f"cannot read {source!r}: not {encoding} text (byte {exc.start + 1})")
    from mltutor.tools.checker import check_derivation, format_report

    report = check_derivation(text, limits=limits)
    if args.json:
        print_json(report.to_json())
    else:
        print(format_report(report))
    # an unverifiable step means "not every step holds": exit 1, as for a wrong step
    return EXIT_OK if report.verdict == "correct" else EXIT_WRONG


def register(sub: Any) -> None:
    """Add ``check`` to the ``mltutor`` sub-commands."""
    c = sub.add_parser(
        "check", help="check a derivation, one step per line; find the first wrong step"
    )
    c.add_argument("file", nargs="?", default="-", help="file with the derivation, or - for stdin")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(func=cmd_check)
