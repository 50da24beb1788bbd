"""Several processes on one data dir: one builds the index while the others wait and use it; a
rebuild is swapped in whole; concurrent material adds lose nothing. All with real processes.

The acceptance experiment (three ``mltutor search --json`` at once on a fresh data dir) runs once in
the default run; ``pytest -m slow`` repeats it ten times (bench/bench_multiprocess.py records
timings of the same experiment in bench/results/multiprocess.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from mltutor.knowledge.chunking import chunk_notes
from mltutor.knowledge.notes import bundled_notes_dir, load_notes

from ..fs_faults import MLTUTOR, REPO_ROOT, cli_env
from .conftest import real_notes_present, write_synthetic_notes

QUERY = "derivative of the sigmoid"


def first_run_trial(data_dir: Path, processes: int = 3) -> list[dict[str, Any]]:
    """Start ``processes`` searches at once on a fresh ``data_dir``; return each one's outcome."""
    procs = [
        subprocess.Popen(
            [*MLTUTOR, "search", "--json", "-k", "3", QUERY],
            env=cli_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        try:
            hits = json.loads(stdout)
        except ValueError:
            hits = None
        out.append({"code": p.returncode, "hits": hits, "stderr": stderr})
    return out


def index_chunk_count(data_dir: Path) -> int:
    from mltutor.knowledge.index import (
        NOTES_COLLECTION,
        ChunkStore,
        persistent_client,
        release_local,
    )

    path = data_dir / "index" / "notes"
    try:
        return ChunkStore(persistent_client(path), NOTES_COLLECTION).count()
    finally:
        release_local(path)


def check_trial(data_dir: Path, results: list[dict[str, Any]]) -> None:
    for r in results:
        assert r["code"] == 0, r["stderr"][-2000:]
        assert isinstance(r["hits"], list) and r["hits"], r["stderr"][-2000:]
        assert r["hits"][0]["topic"] == "calculus"
        assert "Traceback" not in r["stderr"]
    builders = [r for r in results if "embedded) in" in r["stderr"]]
    assert len(builders) == 1, [r["stderr"][-500:] for r in results]  # only one process embeds
    expected = len(chunk_notes(load_notes(bundled_notes_dir())))
    assert (
        f"knowledge index ready: {expected} chunks ({expected} embedded)" in builders[0]["stderr"]
    )
    assert index_chunk_count(data_dir) == expected
    index_dir = data_dir / "index"
    assert sorted(
        p.name for p in index_dir.iterdir() if p.name.startswith(("notes", ".notes"))
    ) == ["notes"]


@pytest.mark.timeout(900)
@pytest.mark.skipif(not real_notes_present(), reason="no bundled notes")
def test_three_first_run_searches_build_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    check_trial(data, first_run_trial(data))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not real_notes_present(), reason="no bundled notes")
def test_three_first_run_searches_ten_times(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("ten repetitions take minutes: run with -m slow")
    for rep in range(10):
        data = tmp_path / f"data{rep}"
        check_trial(data, first_run_trial(data))


CHILD_PRELUDE = """
import sys, time
from pathlib import Path
from mltutor.knowledge.base import KnowledgeBase
from tests.knowledge.conftest import random_embed

def slow_embed(texts):
    time.sleep(0.002 * len(texts))  # long enough for the others to arrive while one builds
    return random_embed(texts)

def make(data, notes, log=None):
    return KnowledgeBase(
        data_dir=Path(data), chroma_url=None, notes_dir=Path(notes), embed=slow_embed,
        progress=(lambda m: print("progress:", m, flush=True)),
    )
"""


def run_children(body: str, args: list[list[str]], timeout: float = 180) -> list[tuple[int, str]]:
    script = textwrap.dedent(CHILD_PRELUDE) + textwrap.dedent(body)
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'src'}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *a],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        for a in args
    ]
    return [(p.wait(timeout), p.stdout.read() if p.stdout else "") for p in procs]


def test_one_builder_the_others_wait_and_reuse(tmp_path: Path) -> None:
    notes = write_synthetic_notes(tmp_path / "notes")
    data = tmp_path / "data"
    body = """
        kb = make(sys.argv[1], sys.argv[2])
        kb.ensure_index()
        print("embedded", kb.last_build_embedded, "chunks", len(kb._note_chunks), flush=True)
    """
    results = run_children(body, [[str(data), str(notes)]] * 3)
    assert [c for c, _ in results] == [0] * 3, results
    counts = [
        tuple(int(x) for x in line.split()[1::2])
        for _, out in results
        for line in out.splitlines()
        if line.startswith("embedded ")
    ]
    total = len(chunk_notes(load_notes(notes)))
    assert sorted(e for e, _ in counts) == [0, 0, total]  # one process embedded everything
    assert all(n == total for _, n in counts)


def test_rebuild_is_swapped_in_whole_while_others_read(tmp_path: Path) -> None:
    """Readers opening the index during repeated rebuilds never fail and never see a mix."""
    notes = write_synthetic_notes(tmp_path / "notes")
    data = tmp_path / "data"
    reader = """
        import json
        seen = set()
        deadline = time.time() + float(sys.argv[3])
        while time.time() < deadline:
            kb = make(sys.argv[1], sys.argv[2])
            kb.ensure_index()
            seen.add(len(kb._note_chunks))
            kb.close()
        print("seen", json.dumps(sorted(seen)), flush=True)
    """
    writer = """
        stats = Path(sys.argv[2]) / "statistics.md"
        base = stats.read_text(encoding="utf-8")
        for i in range(6):
            extra = "".join(f"\\n\\n## Extra {j}\\n\\nExtra section {j} of round {i}." for j in range(i))
            stats.write_text(base + extra, encoding="utf-8")
            kb = make(sys.argv[1], sys.argv[2])
            kb.ensure_index()
            print("built", len(kb._note_chunks), flush=True)
            kb.close()
    """
    first = run_children(reader, [[str(data), str(notes), "0"]])  # build the first version
    assert first[0][0] == 0, first
    procs_out = run_children_mixed(
        [(writer, [str(data), str(notes)]), (reader, [str(data), str(notes), "8"])]
    )
    (wcode, wout), (rcode, rout) = procs_out
    assert wcode == 0 and rcode == 0, procs_out
    built = {int(line.split()[1]) for line in wout.splitlines() if line.startswith("built ")}
    seen_line = next(line for line in rout.splitlines() if line.startswith("seen "))
    seen = set(json.loads(seen_line.split(" ", 1)[1]))
    base_total = len(chunk_notes(load_notes(write_synthetic_notes(tmp_path / "fresh"))))
    assert seen <= built | {base_total}  # every index a reader opened was one whole build
    assert not list((data / "index").glob(".notes-build-*"))


def run_children_mixed(jobs: list[tuple[str, list[str]]]) -> list[tuple[int, str]]:
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'src'}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(CHILD_PRELUDE) + textwrap.dedent(body), *a],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        for body, a in jobs
    ]
    return [(p.wait(300), p.stdout.read() if p.stdout else "") for p in procs]


def test_concurrent_material_adds_lose_nothing(tmp_path: Path) -> None:
    notes = write_synthetic_notes(tmp_path / "notes")
    data = tmp_path / "data"
    files = []
    for who in "AB":
        for i in range(3):
            f = tmp_path / f"{who}{i}.md"
            f.write_text(
                f"# File {who}{i}\n\n## Part one\n\nAlpha text {who}{i}.\n\n"
                f"## Part two\n\nBeta text {who}{i}.\n",
                encoding="utf-8",
            )
            files.append(f)
    body = """
        kb = make(sys.argv[1], sys.argv[2])
        for f in sys.argv[3:]:
            print("added", f, kb.add_user_file(Path(f)), flush=True)
    """
    results = run_children(
        body,
        [
            [str(data), str(notes), *map(str, files[:3])],
            [str(data), str(notes), *map(str, files[3:])],
        ],
    )
    assert [c for c, _ in results] == [0, 0], results
    from mltutor.knowledge.base import KnowledgeBase

    from .conftest import random_embed

    kb = KnowledgeBase(data_dir=data, chroma_url=None, notes_dir=notes, embed=random_embed)
    assert sorted(d.path for d in kb.list_user_files()) == sorted(f.resolve() for f in files)
    kb.ensure_index()
    sources = sorted({c.source for c in kb._user_chunks.values()})
    assert sources == sorted(str(f.resolve()) for f in files)
    assert len(kb._user_chunks) == 2 * len(files)
    kb.close()


def test_killed_add_is_rolled_back_at_the_next_open(tmp_path: Path) -> None:
    """A process killed in the middle of writing a file's chunks: the next open removes them."""
    notes = write_synthetic_notes(tmp_path / "notes")
    data = tmp_path / "data"
    keep = tmp_path / "keep.md"
    keep.write_text("# Keep\n\n## Kept part\n\nKept quokka text.\n", encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text(
        "\n\n".join(
            f"{i}. Section {i}\n\nWombat paragraph {i} " + "text " * 60 for i in range(700)
        ),
        encoding="utf-8",
    )
    body = """
        import os
        from mltutor.knowledge import index
        kb = make(sys.argv[1], sys.argv[2])
        kb.add_user_file(Path(sys.argv[3]))
        real_upsert = None
        calls = {"n": 0}
        store = kb._ensure_user()
        real = store.collection.upsert
        def upsert(*a, **k):
            real(*a, **k)
            calls["n"] += 1
            if calls["n"] == 2:
                print("killing myself mid-write", flush=True)
                os._exit(9)
        store.collection.upsert = upsert
        kb.add_user_file(Path(sys.argv[4]))
    """
    ((code, out),) = run_children(body, [[str(data), str(notes), str(keep), str(big)]])
    assert code == 9 and "killing myself mid-write" in out, out
    from mltutor.knowledge.base import KnowledgeBase

    from .conftest import Recorder, random_embed

    rec = Recorder()
    kb = KnowledgeBase(
        data_dir=data, chroma_url=None, notes_dir=notes, embed=random_embed, progress=rec
    )
    assert [d.path for d in kb.list_user_files()] == [keep.resolve()]
    kb.ensure_index()
    assert rec.saw(f"an interrupted add of {big.resolve()} was rolled back")
    assert {c.source for c in kb._user_chunks.values()} == {str(keep.resolve())}
    kb.close()
    started = time.monotonic()
    kb = KnowledgeBase(data_dir=data, chroma_url=None, notes_dir=notes, embed=random_embed)
    kb.ensure_index()  # repaired once: the next open is clean and quiet
    assert time.monotonic() - started < 30
    kb.close()
