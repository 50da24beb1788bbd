"""The notes index: opened under a shared lock, built by one process at a time, swapped in whole.

Every process opens ``index/notes`` under a shared ``flock`` (``<data_dir>/locks/index-notes.lock``).
When the index is missing, stale (the notes' content hash changed) or unreadable, the process takes
the lock exclusively; the others wait for it and then use what it built, so only one process
embeds. The build happens in ``index/.notes-build-*`` (vectors of unchanged chunks are copied from
the old index, so an edit re-embeds only what changed) and replaces ``index/notes`` with one atomic
rename; a failed or interrupted build leaves the old index as it was. A locked index, a full disk
or a read-only directory is a :class:`KnowledgeError` that says so.

With a Chroma server (``MLTUTOR_CHROMA_URL``) the collection is synced in place instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mltutor.knowledge.chunking import CHUNKER_VERSION, Chunk, chunk_notes
from mltutor.knowledge.embedding import embedder_id
from mltutor.knowledge.errors import KnowledgeError, describe, storage_failure
from mltutor.knowledge.index import (
    NOTES_COLLECTION,
    ChunkStore,
    Embedder,
    is_fatal,
    persistent_client,
    release_local,
    text_hash,
)
from mltutor.knowledge.notes import load_notes
from mltutor.storage import LockBusy, StorageError, diagnose, file_lock, lock_path, replace_dir

Progress = Callable[[str], None]
LOCK_NAME = "index-notes"
BUILD_PREFIX = ".notes-build-"
LOCKED_RETRY_S = 10.0
"""How long a locked index (another program holds it) is retried before that is reported."""
BYTES_PER_CHUNK = 32 * 1024
"""Disk a built chunk needs at the peak of a build (index + SQLite journal; measured ~13 KiB final)."""


@dataclass
class Opened:
    """A usable notes store, its chunks, and how many chunks this process embedded for it."""

    store: ChunkStore
    chunks: list[Chunk]
    embedded: int = 0


@dataclass
class _Stale:
    store: ChunkStore
    chunks: list[Chunk]


@dataclass
class _Unreadable:
    error: BaseException


def build_need(n_chunks: int) -> int:
    """Free space a build of ``n_chunks`` should have (used to recognise a full disk)."""
    return 8 * 2**20 + n_chunks * BYTES_PER_CHUNK


@contextlib.contextmanager
def _lock(data_dir: Path, **kwargs: Any) -> Iterator[None]:
    try:
        with file_lock(lock_path(data_dir, LOCK_NAME), **kwargs):
            yield
    except StorageError as exc:
        raise KnowledgeError(exc.message, kind=exc.kind) from exc


def _probe(target: Path, want: str, embed: Embedder) -> Opened | _Stale | _Unreadable | None:
    """Open ``target`` if it holds an index: ready, stale, unreadable, or None if there is none.

    A locked index is retried for :data:`LOCKED_RETRY_S`; it, a full disk and a read-only
    directory raise (they are not damage, and rebuilding would not help).
    """
    if not target.exists():
        return None
    if not target.is_dir():
        return _Unreadable(NotADirectoryError(f"{target} is not a directory"))
    if not (target / "chroma.sqlite3").exists():
        return None if not any(target.iterdir()) else _Unreadable(FileNotFoundError("no database"))
    deadline = time.monotonic() + LOCKED_RETRY_S
    while True:
        try:
            store = ChunkStore(persistent_client(target), NOTES_COLLECTION, embed=embed)
            chunks = store.load()
            store.probe()
        except KnowledgeError:
            raise
        except BaseException as exc:
            if is_fatal(exc):
                raise
            release_local(target)
            kind = diagnose(exc, target)
            if kind == "locked" and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            if kind in ("locked", "disk_full", "read_only"):
                raise storage_failure(exc, target, "the knowledge index") from exc
            return _Unreadable(exc)
        if store.meta.get("content_hash") == want:
            return Opened(store, chunks)
        return _Stale(store, chunks)


def _reusable_vectors(old: _Stale | _Unreadable | None) -> dict[str, Any]:
    """text hash -> vector of the old index (same embedder only): unchanged chunks are copied."""
    if not isinstance(old, _Stale) or old.store.meta.get("embedder") != embedder_id():
        return {}
    try:
        got = old.store.get_all(["embeddings", "metadatas"])
    except Exception:  # an old index we cannot read fully is simply not reused
        return {}
    return {
        str((m or {}).get("text_hash")): e
        for m, e in zip(got["metadatas"], got["embeddings"], strict=True)
        if (m or {}).get("text_hash") and e is not None
    }


def _clean_stale_builds(index_dir: Path) -> None:
    """Remove build directories left by a killed process (we hold the exclusive lock)."""
    for leftover in index_dir.glob(f"{BUILD_PREFIX}*"):
        release_local(leftover)
        shutil.rmtree(leftover, ignore_errors=True)


def _build(
    tmp: Path,
    chunks: list[Chunk],
    reuse: dict[str, Any],
    want: str,
    embed: Embedder,
    progress: Progress,
) -> int:
    """Write a complete notes index into ``tmp``; return how many chunks were embedded."""
    store = ChunkStore(persistent_client(tmp), NOTES_COLLECTION, embed=embed)
    hashes = [text_hash(c.search_text()) for c in chunks]
    copied = [c for c, h in zip(chunks, hashes, strict=True) if h in reuse]
    todo = [c for c, h in zip(chunks, hashes, strict=True) if h not in reuse]
    if copied:
        vectors = np.asarray([reuse[text_hash(c.search_text())] for c in copied], dtype=np.float32)
        store.add(copied, embeddings=vectors)
    store.add(todo, progress, label="chunks")
    store.set_meta(content_hash=want, embedder=embedder_id(), chunker=CHUNKER_VERSION)
    release_local(tmp)
    return len(todo)


def open_notes_local(
    *,
    data_dir: Path,
    index_dir: Path,
    want: str,
    embed: Embedder,
    notes_dir: Path,
    progress: Progress,
) -> Opened:
    """The local notes index, built (once, by one process) if missing, stale or unreadable."""
    target = index_dir / "notes"
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_failure(
            exc,
            index_dir,
            "the knowledge index",
            prefix=f"cannot create the index directory {index_dir}: ",
        ) from exc
    waited: list[str] = []

    def waiting(holder: str) -> None:
        if not waited:
            progress("another mltutor process is building the knowledge index; waiting for it…")
        waited.append(holder)

    with _lock(data_dir, shared=True, on_wait=waiting):
        state = _probe(target, want, embed)
    if isinstance(state, Opened):
        if waited:
            progress("using the knowledge index the other process built")
        return state
    holder = f"pid {os.getpid()} building the index"
    lock = lock_path(data_dir, LOCK_NAME)
    while True:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(file_lock(lock, timeout=0, holder=holder))
            except LockBusy as busy:  # someone is building: wait for it, then read what it built
                waiting(busy.holder)
                stack.enter_context(_lock(data_dir, shared=True))
                state = _probe(target, want, embed)
                if isinstance(state, Opened):
                    progress("using the knowledge index the other process built")
                    return state
                continue  # it failed or built something else: try to build ourselves
            except StorageError as exc:
                raise KnowledgeError(exc.message, kind=exc.kind) from exc
            release_local(target)
            state = _probe(target, want, embed)
            if isinstance(state, Opened):
                if waited:
                    progress("using the knowledge index the other process built")
                return state
            return _rebuild(state, target, index_dir, want, embed, notes_dir, progress)


def _rebuild(
    old: _Stale | _Unreadable | None,
    target: Path,
    index_dir: Path,
    want: str,
    embed: Embedder,
    notes_dir: Path,
    progress: Progress,
) -> Opened:
    started = time.perf_counter()
    if isinstance(old, _Unreadable):
        progress(f"the knowledge index was unreadable ({describe(old.error)}); rebuilding…")
        progress("building the knowledge index…")
    elif isinstance(old, _Stale) and old.chunks:
        progress("the notes changed; updating the knowledge index…")
    else:
        progress("building the knowledge index (first run)…")
    chunks = chunk_notes(load_notes(notes_dir))
    reuse = _reusable_vectors(old)
    release_local(target)
    _clean_stale_builds(index_dir)
    tmp = index_dir / f"{BUILD_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
    swapped = False
    try:
        embedded = _build(tmp, chunks, reuse, want, embed, progress)
        replace_dir(tmp, target)
        swapped = True
    except KnowledgeError:
        raise
    except BaseException as exc:
        if is_fatal(exc):
            raise
        raise _build_failure(exc, index_dir, len(chunks)) from exc
    finally:
        if not swapped:
            release_local(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
    state = _probe(target, want, embed)
    if not isinstance(state, Opened):
        detail = describe(state.error) if isinstance(state, _Unreadable) else "it does not match"
        raise KnowledgeError(
            f"the knowledge index just built in {target} cannot be read ({detail})"
        )
    state.embedded = embedded
    progress(
        f"knowledge index ready: {len(chunks)} chunks "
        f"({embedded} embedded) in {time.perf_counter() - started:.1f} s"
    )
    return state


def _build_failure(exc: BaseException, index_dir: Path, n_chunks: int) -> KnowledgeError:
    """Why a build failed, in words: a full disk is called that (Chroma says "Error in compaction")."""
    need = build_need(n_chunks)
    kind = diagnose(exc, index_dir, need_bytes=need)
    if kind in ("disk_full", "read_only", "locked"):
        return storage_failure(
            exc,
            index_dir,
            "the knowledge index",
            prefix="building the knowledge index failed: ",
            need_bytes=need,
        )
    return KnowledgeError(f"building the knowledge index failed: {describe(exc)}")


def open_notes_remote(
    client: Any, *, want: str, embed: Embedder, notes_dir: Path, progress: Progress
) -> Opened:
    """The notes collection on a Chroma server, synced in place when the notes changed."""
    store = ChunkStore(client, NOTES_COLLECTION, embed=embed)
    chunks = store.load()
    store.probe()
    if store.meta.get("content_hash") == want:
        return Opened(store, chunks)
    started = time.perf_counter()
    progress(
        "the notes changed; updating the knowledge index…"
        if chunks
        else "building the knowledge index (first run)…"
    )
    if store.meta.get("embedder") not in (None, embedder_id()):
        store.recreate()
    new_chunks = chunk_notes(load_notes(notes_dir))
    embedded = store.sync(new_chunks, progress)
    store.set_meta(content_hash=want, embedder=embedder_id(), chunker=CHUNKER_VERSION)
    progress(
        f"knowledge index ready: {len(new_chunks)} chunks "
        f"({embedded} embedded) in {time.perf_counter() - started:.1f} s"
    )
    return Opened(store, new_chunks, embedded)
