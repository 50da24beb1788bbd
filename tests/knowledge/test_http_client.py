"""``MLTUTOR_CHROMA_URL``: the same knowledge base against a real ``chroma run`` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltutor.knowledge.base import open_knowledge_base

from .conftest import Recorder


def chroma_binary() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    binary = chroma_binary()
    if binary is None:
        pytest.skip("the `chroma` CLI (shipped with chromadb) is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chroma run exited early: {(tmp_path / 'chroma.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma server did not answer its heartbeat within 30 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_http_client_build_search_and_user_material(
    chroma_server: str, tmp_path: Path, synthetic_notes: Path, recorder: Recorder
) -> None:
    kb = open_knowledge_base(
        data_dir=tmp_path / "data", chroma_url=chroma_server, progress=recorder,
        notes_dir=synthetic_notes,
    )  # fmt: skip
    hits = kb.search("sigmoid derivative", k=2)
    assert hits[0].topic == "calculus"
    assert recorder.saw("building the knowledge index (first run)")
    assert not (tmp_path / "data" / "index" / "notes").exists()  # nothing stored locally

    doc = tmp_path / "mine.md"
    doc.write_text("# Mine\n\n## Quokka lemma\n\nThe quokka lemma bounds the loss.\n")
    assert kb.add_user_file(doc) == 1
    assert kb.search("quokka lemma", k=1)[0].citation == "mine.md § Quokka lemma"

    recorder.messages.clear()
    kb2 = open_knowledge_base(
        data_dir=tmp_path / "data", chroma_url=chroma_server, progress=recorder,
        notes_dir=synthetic_notes,
    )  # fmt: skip
    assert kb2.search("quokka lemma", k=1)[0].topic == "user"
    assert not recorder.saw("building")  # reused: the content hash lives on the server
    kb2.remove_user_file(doc)
    assert all(h.topic != "user" for h in kb2.search("quokka lemma", k=3))
