"""Small helpers every command shares: JSON output and error lines."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

EXIT_OK, EXIT_WRONG, EXIT_INPUT = 0, 1, 2


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Valid JSON on stdout (never NaN/Infinity)."""
    json.dump(_finite(data), sys.stdout, ensure_ascii=False, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def error(message: str, code: int = EXIT_INPUT) -> int:
    """Print an error line on stderr and return the exit code."""
    print(f"mltutor: error: {message}", file=sys.stderr)
    return code
