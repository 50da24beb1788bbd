"""A scriptable `mltutor interview` with the real embedded model (it writes the follow-ups the bank
has none on target for), then `mltutor progress --json`.

Marked ``embedded`` (run with ``pytest -m embedded``): assembles the model once per machine in the
user cache dir and starts llama.cpp's server through our supervisor; the server's registry lives in
a tmp dir, and no server is left once the command exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mltutor.knowledge.bank import load_questions
from mltutor.knowledge.questions import DIFFICULTIES

pytestmark = pytest.mark.embedded

GENERIC = "I would start from the definition and its assumptions, but I do not remember more."


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLTUTOR_BASE_URL", "MLTUTOR_MODEL", "OPENAI_"))
    }
    env["MLTUTOR_DATA_DIR"] = str(tmp_path / "data")
    env["MLTUTOR_EMBEDDED__STATE_DIR"] = str(tmp_path / "embedded")
    env["MLTUTOR_EMBEDDED__IDLE_TIMEOUT_S"] = "0"
    env["MLTUTOR_CONFIG"] = str(tmp_path / "no-config.toml")
    return env


def test_a_scripted_interview_with_the_embedded_model(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    mltutor = Path(sys.executable).with_name("mltutor")
    order = [
        q
        for q in sorted(
            load_questions("statistics"), key=lambda q: DIFFICULTIES.index(q.difficulty)
        )
    ][:5]
    partial = ". ".join(order[1].reference_answer.split(". ")[:2]) + "."
    blocks = ["show answer", partial, *[GENERIC] * 12]
    proc = subprocess.run(
        [str(mltutor), "interview", "--topic", "statistics", "-n", "5", "--json"],
        input="\n---\n".join(blocks) + "\n---\n",
        capture_output=True,
        text=True,
        timeout=1800,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    questions = data["questions"]
    assert [q["id"] for q in questions] == [q.id for q in order]
    assert all(q["grade"] is not None for q in questions[1:])
    follow_ups = [f for q in questions for f in q["follow_ups"]]
    assert follow_ups and all(f["grade"] is not None for f in follow_ups)
    for f in follow_ups:  # whatever wrote it, a follow-up is one question
        assert f["question"].strip().endswith("?")
    progress = subprocess.run(
        [str(mltutor), "progress", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
    )
    assert progress.returncode == 0, progress.stderr[-2000:]
    report = json.loads(progress.stdout)
    assert report["attempts"] == 5
    stats = next(t for t in report["topics"] if t["slug"] == "statistics")
    assert stats["practised"] == 5
