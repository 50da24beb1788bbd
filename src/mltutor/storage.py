"""Opening persistent stores safely: typed failures, proven corruption only, unique asides, notices.

Used by both stores in the data dir (the sessions SQLite file and the knowledge index). The rules:

- a failure is classified (:func:`classify`): *locked*, *disk full*, *read-only* and plain I/O
  problems raise :class:`StorageError` with a message a user can act on, and the file is left alone;
- a store is moved aside only when it is proven corrupt (SQLite ``quick_check``, "file is not a
  database"); the new name is unique (:func:`move_aside` reserves it with ``O_EXCL``/``mkdir``, so
  two processes never overwrite each other's copy);
- each move aside leaves a notice in ``<data_dir>/notices/`` that :func:`pending_notices` returns on
  every start until the user deletes or moves the kept copy;
- :func:`file_lock` is an inter-process ``flock`` (shared or exclusive, optional timeout);
  :func:`replace_dir` swaps a freshly built directory in with one atomic rename.

Nothing here imports the other parts, so ``tools``, ``knowledge`` and ``agent`` can all use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

StorageKind = Literal["locked", "disk_full", "read_only", "corrupt", "io"]
NOTICES_DIRNAME = "notices"
LOCKS_DIRNAME = "locks"
ASIDE_REASON = "unreadable"

# SQLite primary result codes (https://www.sqlite.org/rescode.html)
_SQLITE_KINDS: dict[int, StorageKind] = {
    5: "locked",  # SQLITE_BUSY
    6: "locked",  # SQLITE_LOCKED
    8: "read_only",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR (a full disk shows up here too: decided by free space)
    11: "corrupt",  # SQLITE_CORRUPT
    13: "disk_full",  # SQLITE_FULL
    14: "io",  # SQLITE_CANTOPEN (missing or read-only directory: decided by the file system)
    26: "corrupt",  # SQLITE_NOTADB
}
# The same conditions as worded by Chroma's Rust core, which passes SQLite/OS errors on as text.
_TEXT_KINDS: tuple[tuple[str, StorageKind], ...] = (
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("(code: 5)", "locked"),
    ("database or disk is full", "disk_full"),
    ("no space left on device", "disk_full"),
    ("(code: 13)", "disk_full"),
    ("readonly database", "read_only"),
    ("read-only file system", "read_only"),
    ("(code: 8)", "read_only"),
    ("file is not a database", "corrupt"),
    ("database disk image is malformed", "corrupt"),
    ("(code: 26)", "corrupt"),
    ("(code: 11)", "corrupt"),
)
_ERRNO_KINDS: dict[int, StorageKind] = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EROFS: "read_only",
    errno.EACCES: "read_only",
    errno.EPERM: "read_only",
}
LOW_SPACE_BYTES = 4 * 2**20
"""Below this much free space an unexplained write failure is reported as a full disk."""


class StorageError(Exception):
    """A store cannot be opened or written; ``message`` says why and what to do."""

    def __init__(self, message: str, *, kind: StorageKind, path: Path) -> None:
        super().__init__(message)
        self.message = message
        self.kind: StorageKind = kind
        self.path = path


class LockBusy(StorageError):
    """An inter-process lock was not free within the time allowed (or the wait was cancelled)."""

    def __init__(self, message: str, *, path: Path, holder: str = "") -> None:
        super().__init__(message, kind="locked", path=path)
        self.holder = holder


def human_size(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - loop always returns


# -- classifying failures ----------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def classify(exc: BaseException) -> StorageKind | None:
    """What kind of storage failure ``exc`` (or an exception it was raised from) is, if known."""
    for e in _chain(exc):
        if isinstance(e, sqlite3.Error):
            code = getattr(e, "sqlite_errorcode", None)
            if isinstance(code, int) and (code & 0xFF) in _SQLITE_KINDS:
                return _SQLITE_KINDS[code & 0xFF]
        if isinstance(e, OSError) and e.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[e.errno]
        text = str(e).lower()
        for fragment, kind in _TEXT_KINDS:
            if fragment in text:
                return kind
    return None


def _existing_parent(path: Path) -> Path:
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return p if p.is_dir() else p.parent


def free_bytes(path: Path) -> int | None:
    """Free space on the file system holding ``path`` (or its nearest existing parent)."""
    try:
        return shutil.disk_usage(_existing_parent(path)).free
    except OSError:
        return None


def is_read_only(path: Path) -> bool:
    """True if the file system holding ``path`` is mounted read-only or the directory is unwritable."""
    where = _existing_parent(path)
    try:
        if os.statvfs(where).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(where, os.W_OK)


def diagnose(exc: BaseException, path: Path, *, need_bytes: int = LOW_SPACE_BYTES) -> StorageKind:
    """Classify a failure on ``path``, asking the file system when the error text says too little."""
    kind = classify(exc)
    if kind in ("locked", "disk_full", "corrupt"):
        return kind
    if is_read_only(path):
        return "read_only"
    free = free_bytes(path)
    if free is not None and free < need_bytes:
        return "disk_full"
    return kind or "io"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160]}" if lines else type(exc).__name__


def explain(kind: StorageKind, path: Path, what: str, detail: str = "") -> str:
    """The user-facing message for a failure of ``kind`` on ``what`` stored at ``path``.

    A full disk and a read-only directory are said plainly, without the library's wording of them
    (Chroma reports a full disk as "Error in compaction").
    """
    tail = f" ({detail})" if detail and kind in ("locked", "corrupt", "io") else ""
    if kind == "locked":
        return (
            f"{what} ({path}) is locked by another program{tail}; close that program or wait, "
            "then try again (nothing was changed)"
        )
    if kind == "disk_full":
        free = free_bytes(path)
        left = f"{human_size(free)} free" if free is not None else "no space left"
        return (
            f"the disk holding {what} ({path}) is full ({left}){tail}; free some space and try "
            "again (nothing was lost)"
        )
    if kind == "read_only":
        return (
            f"{what} cannot be written: {_existing_parent(path)} is read-only{tail}; make it "
            "writable or point MLTUTOR_DATA_DIR at a writable directory"
        )
    if kind == "corrupt":
        return f"{what} ({path}) is damaged{tail}"
    return f"{what} ({path}) could not be read or written{tail}"


def storage_error(
    exc: BaseException, path: Path, what: str, *, need_bytes: int = LOW_SPACE_BYTES
) -> StorageError:
    """A :class:`StorageError` for ``exc`` on ``path``, with the kind diagnosed and explained."""
    if isinstance(exc, StorageError):
        return exc
    kind = diagnose(exc, path, need_bytes=need_bytes)
    return StorageError(explain(kind, path, what, _first_line(exc)), kind=kind, path=path)


# -- SQLite ------------------------------------------------------------------------------------


def sqlite_damage(path: Path, *, timeout: float, what: str) -> str | None:
    """Why the SQLite file at ``path`` is corrupt, or None if it passes ``PRAGMA quick_check``.

    Only a proven problem returns a reason; a lock, a full disk or an I/O error raises
    :class:`StorageError` (the file cannot be judged, so it must be left alone).
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if classify(exc) == "corrupt":
            return _first_line(exc)
        raise storage_error(exc, path, what) from exc
    if rows and rows[0][0] == "ok":
        return None
    return "integrity check: " + "; ".join(str(r[0]) for r in rows[:3])


# -- moving aside, notices ---------------------------------------------------------------------


class StorageNotice(BaseModel):
    """A store that was moved aside because it was corrupt, kept for the user to look at."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    what: str
    """What the store is, e.g. "the sessions database"."""

    original: Path
    """Where it was."""

    aside: Path
    """Where it is now."""

    reason: str
    """Why it was judged corrupt."""

    moved_at: datetime
    """When it was moved (UTC)."""

    @property
    def message(self) -> str:
        """The line front ends show on every start until the kept copy is deleted or moved."""
        return (
            f"{self.what} was damaged ({self.reason}) and was moved to {self.aside} on "
            f"{self.moved_at:%Y-%m-%d %H:%M} UTC; a fresh one was started. Delete or move that "
            "copy once you no longer need it (this notice repeats until then)."
        )


_counter_lock = threading.Lock()
_counter = 0


def _unique_name(path: Path, reason: str) -> Path:
    global _counter
    with _counter_lock:
        _counter += 1
        n = _counter
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.name}.{reason}-{stamp}-{os.getpid()}-{n}")


def _reserve(path: Path, reason: str, *, directory: bool) -> Path:
    """Create a new, never-used name next to ``path`` (O_EXCL file or mkdir) and return it."""
    for _ in range(1000):
        target = _unique_name(path, reason)
        try:
            if directory:
                target.mkdir()
            else:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return target
        except FileExistsError:
            continue
    raise StorageError(
        f"cannot find a free name next to {path}", kind="io", path=path
    )  # pragma: no cover - 1000 collisions of pid+counter+time


SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def move_aside(
    path: Path,
    *,
    data_dir: Path,
    what: str,
    reason: str,
    sidecars: tuple[str, ...] = (),
    keep_with: tuple[Path, ...] = (),
) -> Path:
    """Move a corrupt file or directory to a unique ``<name>.unreadable-<time>-<pid>-<n>``.

    ``sidecars`` (e.g. SQLite's ``-wal``) follow the main file under the same new name; files in
    ``keep_with`` are copied into a moved directory. A notice is recorded for
    :func:`pending_notices`. Nothing is ever overwritten; on failure the store stays where it was.
    """
    is_dir = path.is_dir()
    try:
        target = _reserve(path, ASIDE_REASON, directory=is_dir)
    except OSError as exc:
        raise storage_error(exc, path, what) from exc
    try:
        os.rename(path, target)  # replaces only our empty placeholder
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.rmdir() if is_dir else target.unlink()
        raise storage_error(exc, path, what) from exc
    for suffix in sidecars:
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            with contextlib.suppress(OSError):  # the main file is safe; a stray sidecar is harmless
                dest = target.with_name(target.name + suffix)
                os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                os.rename(extra, dest)
    if is_dir:
        for extra in keep_with:
            with contextlib.suppress(OSError):
                if extra.exists():
                    shutil.copy2(extra, target / extra.name)
    record_notice(
        data_dir,
        StorageNotice(
            what=what, original=path, aside=target, reason=reason, moved_at=datetime.now(UTC)
        ),
    )
    return target


def _notices_dir(data_dir: Path) -> Path:
    return Path(data_dir) / NOTICES_DIRNAME


def record_notice(data_dir: Path, notice: StorageNotice) -> None:
    """Persist a notice (best effort: on a full disk the kept copy itself still announces it)."""
    folder = _notices_dir(data_dir)
    final = folder / f"{notice.aside.name}.json"
    tmp = folder / f".{notice.aside.name}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(notice.model_dump_json(), encoding="utf-8")
        os.replace(tmp, final)
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def _orphan_asides(data_dir: Path, known: set[Path]) -> list[StorageNotice]:
    """Kept copies with no notice file (it could not be written): found by their names."""
    out = []
    for folder in (data_dir, data_dir / "index"):
        with contextlib.suppress(OSError):
            for p in folder.glob(f"*.{ASIDE_REASON}-*"):
                if p in known or any(p.name.endswith(s) for s in SQLITE_SIDECARS):
                    continue
                original = p.with_name(p.name.split(f".{ASIDE_REASON}-", 1)[0])
                out.append(
                    StorageNotice(
                        what=original.name,
                        original=original,
                        aside=p,
                        reason="it could not be read",
                        moved_at=datetime.fromtimestamp(p.stat().st_mtime, UTC),
                    )
                )
    return out


def pending_notices(data_dir: Path) -> list[StorageNotice]:
    """Notices whose kept copy still exists, oldest first; notices of removed copies are dropped.

    Front ends show ``notice.message`` for each (the CLI on stderr, the app in its status line).
    """
    data_dir = Path(data_dir).expanduser()
    found: list[StorageNotice] = []
    folder = _notices_dir(data_dir)
    with contextlib.suppress(OSError):
        for marker in sorted(folder.glob("*.json")):
            try:
                notice = StorageNotice.model_validate_json(marker.read_text(encoding="utf-8"))
            except (OSError, ValidationError, ValueError):
                continue
            if notice.aside.exists():
                found.append(notice)
            else:  # the user acted on it: stop telling them
                with contextlib.suppress(OSError):
                    marker.unlink()
    found += _orphan_asides(data_dir, {n.aside for n in found})
    return sorted(found, key=lambda n: n.moved_at)


def notice_messages(data_dir: Path) -> list[str]:
    """The messages of :func:`pending_notices` (what the CLI prints to stderr)."""
    return [n.message for n in pending_notices(data_dir)]


# -- inter-process locks -----------------------------------------------------------------------


def lock_path(data_dir: Path, name: str) -> Path:
    """Where the lock called ``name`` lives: ``<data_dir>/locks/<name>.lock``."""
    return Path(data_dir) / LOCKS_DIRNAME / f"{name}.lock"


def _open_lock_file(path: Path, *, shared: bool) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        with contextlib.suppress(OSError):
            return os.open(path, os.O_RDONLY)  # flock needs no write access
        if shared and classify(exc) == "read_only":
            return None  # nobody can write here either: reading needs no lock
        raise storage_error(exc, path, "the lock file") from exc


def _read_holder(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8", errors="replace").strip()[:200]
    return ""


@contextlib.contextmanager
def file_lock(
    path: Path,
    *,
    shared: bool = False,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_wait: Callable[[str], None] | None = None,
    holder: str = "",
    poll: float = 0.05,
) -> Iterator[None]:
    """Hold an inter-process ``flock`` on ``path`` (created if missing) for the ``with`` block.

    ``timeout=None`` waits as long as it takes, ``0`` fails at once; a timeout or a set ``cancel``
    raises :class:`LockBusy`. ``on_wait(holder_text)`` is called once if the lock is taken by
    someone else. An exclusive holder writes ``holder`` into the file so waiters can name it. A lock
    file deleted while we waited is detected (the inode changed) and the lock is taken again.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    told = False
    while True:
        fd = _open_lock_file(path, shared=shared)
        if fd is None:
            yield
            return
        try:
            while True:
                try:
                    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    other = _read_holder(path)
                    if not told and on_wait is not None:
                        on_wait(other)
                        told = True
                    if cancel is not None and cancel.is_set():
                        raise LockBusy(
                            f"stopped waiting for {path}", path=path, holder=other
                        ) from None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise LockBusy(
                            f"{path} is held by another process ({other or 'unknown'})",
                            path=path,
                            holder=other,
                        ) from None
                    time.sleep(poll)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # deleted (or replaced) while we waited: lock the current file instead
                continue
            if not shared and holder:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, holder.encode(), 0)
            yield
            return
        finally:
            os.close(fd)  # closing releases the flock


# -- replacing a directory atomically ----------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths with one ``renameat2(RENAME_EXCHANGE)`` (Linux); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new: Path, target: Path) -> None:
    """Put directory ``new`` at ``target`` atomically and delete whatever was there.

    With ``RENAME_EXCHANGE`` there is no moment without a ``target``; elsewhere the old directory
    is renamed away first (callers hold an exclusive :func:`file_lock`, so readers never see the gap).
    """
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        old = new
    else:
        old = _reserve(target, "old", directory=target.is_dir())
        os.rename(target, old)
        os.rename(new, target)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            old.unlink()
