"""The sessions database: corrupt files moved aside (only those), typed errors, per-session turns.

Disk-full and read-only cases use a real small tmpfs (see tests/fs_faults.py); several-process
cases use real child processes with their own connections.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mltutor.agent.sessions import (
    SessionBusy,
    SessionStorageError,
    SessionStore,
    open_database,
)
from mltutor.storage import pending_notices

from ..fs_faults import MLTUTOR, cli_env, fill_up, make_read_only, small_tmpfs, snapshot


def store_at(data: Path, timeout: float = 2.0) -> tuple[SessionStore, str | None]:
    conn, notice = open_database(data / "sessions.sqlite", timeout=timeout)
    return SessionStore(conn), notice


def healthy(data: Path, n: int = 3) -> list[str]:
    """A sessions database with ``n`` sessions of one turn each; returns their ids."""
    store, _ = store_at(data)
    ids = []
    for i in range(n):
        info = store.create()
        store.touch(info.id, f"question {i} " + "x" * 2000)
        ids.append(info.id)
    store._conn.close()
    return ids


def run_children(code: str, args: list[list[str]], timeout: float = 60) -> list[tuple[int, str]]:
    """Start one child per argument list at once; return (exit code, stdout) of each."""
    script = textwrap.dedent(code)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *a],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((p.returncode, stdout + stderr))
    return out


def test_create_touch_list_delete(tmp_path: Path) -> None:
    store, notice = store_at(tmp_path)
    assert notice is None
    a = store.create()
    store.touch(a.id, "What is the derivative of the sigmoid?\nsecond line")
    store.touch(a.id, "and its second derivative?")
    (info,) = store.list()
    assert info.turns == 2 and info.title == "What is the derivative of the sigmoid?"
    store.delete(a.id)
    assert store.list() == []


@pytest.mark.parametrize("damage", ["garbage", "torn page"])
def test_corrupt_file_is_moved_aside_and_announced_until_removed(
    tmp_path: Path, damage: str
) -> None:
    db = tmp_path / "sessions.sqlite"
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    else:
        healthy(tmp_path, n=40)
        data = bytearray(db.read_bytes())
        data[4096 * 3 : 4096 * 4] = os.urandom(4096)
        db.write_bytes(bytes(data))
    original = db.read_bytes()
    store, notice = store_at(tmp_path)
    assert store.list() == []
    (aside,) = tmp_path.glob("sessions.sqlite.unreadable-*[0-9]")
    assert aside.read_bytes() == original
    assert notice and str(aside) in notice
    store._conn.close()
    for _ in range(2):  # told on every start, not once
        _, again = store_at(tmp_path)
        assert again is None
        (pending,) = pending_notices(tmp_path)
        assert pending.aside == aside and str(aside) in pending.message
    aside.unlink()
    assert pending_notices(tmp_path) == []


def test_locked_database_is_an_error_and_left_alone(tmp_path: Path) -> None:
    healthy(tmp_path)
    before = snapshot(tmp_path)
    holder = sqlite3.connect(tmp_path / "sessions.sqlite")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(SessionStorageError) as err:
        store_at(tmp_path, timeout=0.5)
    assert time.monotonic() - started < 5
    assert err.value.kind == "locked" and "locked by another program" in err.value.message
    holder.rollback()
    holder.close()
    assert snapshot(tmp_path) == before
    assert not list(tmp_path.glob("*unreadable*")) and pending_notices(tmp_path) == []
    store, _ = store_at(tmp_path)
    assert len(store.list()) == 3


def test_write_while_locked_is_a_typed_error(tmp_path: Path) -> None:
    store, _ = store_at(tmp_path, timeout=0.3)
    holder = sqlite3.connect(tmp_path / "sessions.sqlite")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(SessionStorageError) as err:
        store.create()
    holder.rollback()
    assert err.value.kind == "locked"
    assert store.create().title == "New session"


OPEN_CORRUPT = """
import sys, time
from pathlib import Path
from mltutor.agent.sessions import SessionStore, open_database
go = float(sys.argv[2])
while time.time() < go:
    time.sleep(0.001)
conn, notice = open_database(Path(sys.argv[1]) / "sessions.sqlite", timeout=20)
store = SessionStore(conn)
store.create()
print(len(store.list()), bool(notice))
"""


def test_concurrent_recovery_keeps_the_one_corrupt_copy(tmp_path: Path) -> None:
    """Several processes find the same corrupt file at once: one copy kept, none overwritten."""
    db = tmp_path / "sessions.sqlite"
    original = os.urandom(64 * 1024)
    db.write_bytes(original)
    go = str(time.time() + 1.5)
    results = run_children(OPEN_CORRUPT, [[str(tmp_path), go]] * 4)
    assert [code for code, _ in results] == [0] * 4, results
    asides = sorted(tmp_path.glob("sessions.sqlite.unreadable-*[0-9]"))
    assert len(asides) == 1 and asides[0].read_bytes() == original
    assert sum(out.split()[1] == "True" for _, out in results) == 1  # one process recovered
    store, _ = store_at(tmp_path)
    assert len(store.list()) == 4  # every process's new session is in the one fresh file


def test_disk_full_leaves_the_sessions_file_alone() -> None:
    with small_tmpfs("2m") as fs:
        data = fs / "data"
        data.mkdir()
        ids = healthy(data)
        main_before = (data / "sessions.sqlite").read_bytes()
        fill_up(fs)
        script = """
            import sys
            from pathlib import Path
            from mltutor.agent.sessions import SessionStorageError, open_database
            try:
                open_database(Path(sys.argv[1]) / "sessions.sqlite", timeout=2)
                print("opened")
            except SessionStorageError as exc:
                print(exc.kind, "|", exc.message)
        """
        results = run_children(script, [[str(data)]] * 2)
        for code, out in results:
            assert code == 0 and out.startswith("disk_full | "), out
            assert "is full" in out and "Traceback" not in out
        assert (data / "sessions.sqlite").read_bytes() == main_before
        assert not list(data.glob("*unreadable*"))
        (fs / "filler").unlink()
        store, notice = store_at(data)
        assert notice is None and sorted(i.id for i in store.list()) == sorted(ids)
        store._conn.close()


def test_cli_sessions_list_json_on_a_full_disk() -> None:
    """Two `sessions list --json` at once on a full disk: exit 2, an error object, file intact."""
    with small_tmpfs("2m") as fs:
        data = fs / "data"
        data.mkdir()
        healthy(data)
        main_before = (data / "sessions.sqlite").read_bytes()
        fill_up(fs)
        procs = [
            subprocess.Popen(
                [*MLTUTOR, "sessions", "list", "--json"],
                env=cli_env(data),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 2, (out, err)
            payload = json.loads(out)
            assert payload["error"]["kind"] == "disk_full" and "full" in payload["error"]["message"]
            assert "Traceback" not in err
        assert (data / "sessions.sqlite").read_bytes() == main_before
        assert not list(data.glob("*unreadable*"))


def test_read_only_dir_reads_but_refuses_writes() -> None:
    with small_tmpfs("4m") as fs:
        data = fs / "data"
        data.mkdir()
        ids = healthy(data)
        empty = fs / "empty"
        empty.mkdir()
        make_read_only(fs)
        store, notice = store_at(data)
        assert notice and "read-only" in notice
        assert sorted(i.id for i in store.list()) == sorted(ids)
        with pytest.raises(SessionStorageError) as err:
            store.create()
        assert err.value.kind == "read_only" and "read-only" in err.value.message
        store._conn.close()
        with pytest.raises(SessionStorageError) as none:
            store_at(empty)
        assert none.value.kind == "read_only"
        listed = subprocess.run(
            [*MLTUTOR, "sessions", "list", "--json"],
            env=cli_env(data),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        assert sorted(s["id"] for s in json.loads(listed.stdout)) == sorted(ids)
        assert "Traceback" not in listed.stderr


TURN = """
import json, sqlite3, sys, time
from pathlib import Path
from mltutor.agent.sessions import SessionStore, open_database
data, sid, who = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
conn, _ = open_database(data / "sessions.sqlite", timeout=20)
store = SessionStore(conn)
log = sqlite3.connect(data / "log.sqlite", timeout=20)
for i in range(3):
    with store.turn_lock(sid):
        start = time.time()
        # read-modify-write of the transcript, as the checkpointer does
        row = log.execute("SELECT v FROM transcript").fetchone()
        turns = json.loads(row[0])
        time.sleep(0.15)
        turns.append(f"{who}-{i}")
        log.execute("UPDATE transcript SET v = ?", (json.dumps(turns),))
        log.commit()
        store.touch(sid, f"{who} {i}")
        print(f"{start} {time.time()}", flush=True)
"""


def test_turn_lock_serializes_turns_across_processes(tmp_path: Path) -> None:
    store, _ = store_at(tmp_path)
    sid = store.create().id
    log = sqlite3.connect(tmp_path / "log.sqlite")
    log.execute("CREATE TABLE transcript (v TEXT)")
    log.execute("INSERT INTO transcript VALUES ('[]')")
    log.commit()
    results = run_children(TURN, [[str(tmp_path), sid, "A"], [str(tmp_path), sid, "B"]])
    assert [c for c, _ in results] == [0, 0], results
    spans = sorted(
        tuple(map(float, line.split())) for _, out in results for line in out.splitlines()
    )
    assert len(spans) == 6
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.001  # no two turns of one session overlap
    turns = json.loads(log.execute("SELECT v FROM transcript").fetchone()[0])
    assert sorted(turns) == sorted([f"{w}-{i}" for w in "AB" for i in range(3)])  # none lost
    assert store.get(sid).turns == 6


def test_turn_lock_can_reject_at_once_with_a_clear_message(tmp_path: Path) -> None:
    store, _ = store_at(tmp_path)
    other, _ = store_at(tmp_path)  # a second connection, as a second front end would have
    sid = store.create().id
    free = store.create().id
    inside, release = threading.Event(), threading.Event()

    def turn() -> None:
        with store.turn_lock(sid):
            inside.set()
            release.wait(10)

    t = threading.Thread(target=turn)
    t.start()
    inside.wait(10)
    with pytest.raises(SessionBusy) as busy, other.turn_lock(sid, timeout=0):
        pass
    assert sid in busy.value.message and f"pid {os.getpid()}" in busy.value.message
    with other.turn_lock(free, timeout=0):  # other sessions are not held up
        pass
    waited: list[str] = []
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(SessionBusy), other.turn_lock(sid, cancel=cancel, on_wait=waited.append):
        pass
    assert waited and "pid" in waited[0]
    release.set()
    t.join()
    with other.turn_lock(sid, timeout=1):
        pass


def test_cli_tells_where_the_corrupt_file_went_every_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sessions.sqlite").write_bytes(b"this is not a database" * 100)

    def listed() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MLTUTOR, "sessions", "list", "--json"],
            env=cli_env(data),
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = listed()
    assert first.returncode == 0 and json.loads(first.stdout) == []
    (aside,) = data.glob("sessions.sqlite.unreadable-*[0-9]")
    assert str(aside) in first.stderr
    second = listed()  # a later run, nothing corrupt any more: still told, once
    assert second.returncode == 0 and second.stderr.count(str(aside)) == 1
    aside.unlink()
    third = listed()
    assert third.returncode == 0 and "notice" not in third.stderr
