"""End to end with the real embedded model: `mltutor ask --json` on a derivative question.

Marked ``embedded`` (run with ``pytest -m embedded``): assembles the model (once per machine, in the
user cache dir), starts the llama.cpp server, asks, and checks there is no orphan server afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.embedded


def _servers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"llama_cpp.server" in cmd:
            pids.append(int(proc.name))
    return pids


def test_ask_derivative_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    before = set(_servers())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLTUTOR_BASE_URL", "MLTUTOR_MODEL", "OPENAI_"))
    }
    env["MLTUTOR_DATA_DIR"] = str(tmp_path / "data")
    mltutor = Path(sys.executable).with_name("mltutor")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(mltutor), "ask", "--json", "What is the derivative of x^2 sin(x)?"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    call = out["tool_calls"][0]
    assert call["name"] == "differentiate"
    assert call["result"]["derivative"]["text"] == "x*(x*cos(x) + 2*sin(x))"
    first_line = out["answer"].splitlines()[0]
    assert "x \\left(x \\cos" in first_line  # the computed result leads the answer
    assert out["verification"]["claims_checked"] >= 1
    assert out["citations"], "the answer cites the notes"
    assert out["model"] and out["timings"]["total"] > 0
    # every line still in the answer verified (unverified ones are removed)
    assert "2x(\\cos" not in out["answer"]
    time.sleep(0.5)
    assert set(_servers()) - before == set(), "the embedded server outlived the command"
    print(f"end-to-end ask took {elapsed:.1f} s")
