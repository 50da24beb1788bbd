"""mltutor.storage: failure classes, proven corruption, unique asides, notices, locks, dir swap."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mltutor.storage import (
    LockBusy,
    StorageError,
    classify,
    diagnose,
    file_lock,
    move_aside,
    notice_messages,
    pending_notices,
    replace_dir,
    sqlite_damage,
)

from .fs_faults import fill_up, make_read_only, small_tmpfs


def make_db(path: Path, rows: int = 2000) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.executemany("INSERT INTO t VALUES (?)", [(os.urandom(100),) for _ in range(rows)])
    conn.commit()
    conn.close()


def test_classify_sqlite_and_os_errors(tmp_path: Path) -> None:
    db = tmp_path / "a.sqlite"
    make_db(db, 10)
    holder = sqlite3.connect(db)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        sqlite3.connect(db, timeout=0.1).execute("SELECT count(*) FROM t").fetchall()
    holder.rollback()
    holder.close()
    assert classify(locked.value) == "locked"

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(sqlite3.DatabaseError) as notadb:
        sqlite3.connect(junk).execute("SELECT 1 FROM sqlite_master").fetchall()
    assert classify(notadb.value) == "corrupt"

    assert classify(OSError(28, "No space left on device")) == "disk_full"
    assert classify(OSError(30, "Read-only file system")) == "read_only"
    # Chroma's Rust core passes SQLite errors on as text
    assert classify(RuntimeError("error returned from database: (code: 5) database is locked")) == (
        "locked"
    )
    assert classify(RuntimeError("Error in compaction: Failed to apply logs")) is None
    assert diagnose(RuntimeError("opaque"), tmp_path) == "io"


def test_sqlite_damage_proves_corruption_only(tmp_path: Path) -> None:
    good = tmp_path / "good.sqlite"
    make_db(good)
    assert sqlite_damage(good, timeout=1, what="x") is None
    torn = tmp_path / "torn.sqlite"
    data = bytearray(good.read_bytes())
    data[4096 * 5 : 4096 * 6] = os.urandom(4096)
    torn.write_bytes(bytes(data))
    assert sqlite_damage(torn, timeout=1, what="x")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 500)
    assert "not a database" in (sqlite_damage(junk, timeout=1, what="x") or "")

    holder = sqlite3.connect(good)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StorageError) as err:
        sqlite_damage(good, timeout=0.2, what="the test db")
    holder.close()
    assert err.value.kind == "locked" and "the test db" in err.value.message


def test_move_aside_names_are_unique_and_notices_repeat_until_acted_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = data / "sessions.sqlite"
    asides = []
    for i in range(5):  # five in the same second: five distinct copies, none overwritten
        store.write_bytes(f"copy {i}".encode())
        (data / "sessions.sqlite-wal").write_bytes(f"wal {i}".encode())
        asides.append(
            move_aside(
                store, data_dir=data, what="the sessions database", reason="test",
                sidecars=("-wal",),
            )
        )  # fmt: skip
    assert len(set(asides)) == 5
    assert [a.read_bytes() for a in asides] == [f"copy {i}".encode() for i in range(5)]
    assert all(a.with_name(a.name + "-wal").exists() for a in asides)
    assert not store.exists()

    notices = pending_notices(data)
    assert [n.aside for n in notices] == asides
    assert all(str(n.aside) in n.message and "the sessions database" in n.message for n in notices)
    assert pending_notices(data) == notices  # every time, not once
    asides[0].unlink()  # the user acted on one
    assert [n.aside for n in pending_notices(data)] == asides[1:]
    assert len(notice_messages(data)) == 4


def test_aside_without_notice_file_is_still_announced(tmp_path: Path) -> None:
    data = tmp_path
    store = data / "sessions.sqlite"
    store.write_bytes(b"x")
    aside = move_aside(store, data_dir=data, what="db", reason="test")
    for marker in (data / "notices").iterdir():
        marker.unlink()  # e.g. the disk was full when the notice was written
    (notice,) = pending_notices(data)
    assert notice.aside == aside and str(aside) in notice.message


def _hold_lock(path: Path, seconds: float, ready: threading.Event) -> None:
    with file_lock(path, holder="thread A"):
        ready.set()
        time.sleep(seconds)


def test_file_lock_excludes_waits_and_times_out(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "x.lock"
    ready = threading.Event()
    t = threading.Thread(target=_hold_lock, args=(path, 0.6, ready))
    t.start()
    ready.wait(5)
    waits: list[str] = []
    with pytest.raises(LockBusy) as busy, file_lock(path, timeout=0.1, on_wait=waits.append):
        pass
    assert busy.value.holder == "thread A" and waits == ["thread A"]
    started = time.monotonic()
    with file_lock(path, timeout=10):
        waited = time.monotonic() - started
    t.join()
    assert 0.2 < waited < 5
    cancel = threading.Event()
    cancel.set()
    with file_lock(path, cancel=cancel):  # free: cancel only matters while waiting
        pass


def test_file_lock_shared_readers_coexist(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with (
        file_lock(path, shared=True),
        file_lock(path, shared=True, timeout=0),
        pytest.raises(LockBusy),
        file_lock(path, timeout=0),
    ):
        pass


def test_file_lock_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    code = (
        "import sys, time; from pathlib import Path; from mltutor.storage import file_lock\n"
        "with file_lock(Path(sys.argv[1]), holder='child'):\n"
        "    print('locked', flush=True); time.sleep(1.5)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().strip() == b"locked"
    with pytest.raises(LockBusy, match="child"), file_lock(path, timeout=0.2):
        pass
    started = time.monotonic()
    with file_lock(path, timeout=30):
        waited = time.monotonic() - started
    assert waited > 0.5  # we got it only when the child let go (it held it for 1.5 s)
    assert child.wait(10) == 0


def test_replace_dir_swaps_in_new_content(tmp_path: Path) -> None:
    target, new = tmp_path / "notes", tmp_path / "build"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    replace_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert not new.exists()
    again = tmp_path / "again"
    again.mkdir()
    replace_dir(again, tmp_path / "fresh")  # nothing there yet
    assert (tmp_path / "fresh").is_dir()


def count_failure(db: Path) -> sqlite3.Error:
    conn = sqlite3.connect(db, timeout=0.2)
    try:
        conn.execute("SELECT count(*) FROM t").fetchall()
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("reading the database unexpectedly worked")


def test_disk_full_and_read_only_are_diagnosed_on_a_real_file_system() -> None:
    with small_tmpfs("1m") as fs:
        db = fs / "s.sqlite"
        make_db(db, 500)
        fill_up(fs)
        full = count_failure(db)
        assert diagnose(full, db) == "disk_full"
        for name in ("filler", "s.sqlite-wal", "s.sqlite-shm"):
            (fs / name).unlink(missing_ok=True)
        make_read_only(fs)
        ro = count_failure(db)
        assert diagnose(ro, db) == "read_only"
        with pytest.raises(StorageError) as err:
            move_aside(db, data_dir=fs, what="the test db", reason="test")
        assert err.value.kind == "read_only" and db.exists()


def test_switching_to_wal_waits_for_a_reader_instead_of_failing_at_once(tmp_path: Path) -> None:
    import sqlite3
    import threading

    from mltutor.storage import enable_wal

    path = tmp_path / "db.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (x)")
    setup.execute("INSERT INTO t VALUES (1)")
    setup.commit()
    setup.close()
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # holds a shared lock
    other = sqlite3.connect(path, timeout=0.1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(other, timeout=0.2)  # still held when the wait is over: the error stands
    threading.Timer(0.3, lambda: reader.execute("COMMIT")).start()
    enable_wal(other, timeout=5.0)  # waits for the reader, then switches
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    enable_wal(other, timeout=0.0)  # already in WAL: nothing to wait for
    other.close()
    reader.close()


def test_connections_switching_to_wal_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    """Two connections upgrading to the exclusive lock at once: SQLite fails one at once (its busy
    timeout does not apply); without the retry this failed in ~7% of rounds of four threads."""
    import sqlite3
    import threading

    from mltutor.storage import enable_wal

    errors: list[BaseException] = []
    for round_ in range(60):
        path = tmp_path / f"db{round_}.sqlite"
        setup = sqlite3.connect(path)
        setup.execute("CREATE TABLE t (x)")
        setup.commit()
        setup.close()
        start = threading.Barrier(4)

        def one(path: Path = path, start: threading.Barrier = start) -> None:
            conn = sqlite3.connect(path, timeout=5.0)
            try:
                start.wait()
                enable_wal(conn, timeout=5.0)
                conn.execute("SELECT count(*) FROM t").fetchone()
            except BaseException as exc:
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
