"""The user's material in its Chroma store: atomic adds, removals and repair, under a file lock.

- Each version of a file has its own chunk ids (``<id>@<sha prefix>``) and every chunk records the
  file's ``doc_sha`` and ``parts`` (the version's chunk count), so the index itself shows which
  versions are complete.
- An add embeds first, with no lock held and nothing written (Ctrl-C there changes nothing); then,
  under the exclusive lock, it writes the new version, commits it in the manifest (one atomic file
  replace) and only then deletes the old version. A failure or Ctrl-C before the commit deletes what
  was written; a process killed outright leaves chunks the manifest does not point to, and the next
  open removes them and says so. ``knowledge list`` shows the manifest: only committed, whole files.
- The manifest is the truth while it is readable; if it is damaged, complete versions found in the
  index are listed again and incomplete ones dropped.
- Several processes: the store is opened under a shared lock (``<data_dir>/locks/index-user.lock``);
  every change takes it exclusively and first reloads what other processes changed (a version stamp
  next to the manifest says whether anything did). A damaged store is moved aside (never deleted)
  only after it failed again under the exclusive lock and the failure is not a lock, a full disk or
  a read-only directory.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.chunking import Chunk
from mltutor.knowledge.embedding import embedder_id
from mltutor.knowledge.errors import KnowledgeError, describe, storage_failure
from mltutor.knowledge.index import BATCH, ChunkStore, Embedder, is_fatal
from mltutor.knowledge.material_plan import RepairPlan, plan_repair
from mltutor.knowledge.user_material import (
    Manifest,
    UserDoc,
    canonical,
    chunk_user_file,
    read_bytes,
    sha256_hex,
    tag_generation,
)
from mltutor.storage import StorageError, diagnose, file_lock, lock_path, move_aside

Progress = Callable[[str], None]
LOCK_NAME = "index-user"
WHAT = "the index of your material"


class MaterialIndex:
    """The user's material store and its manifest (see the module docstring for the protocol)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        store_dir: Path | None,
        manifest: Manifest,
        open_store: Callable[[], ChunkStore],
        release: Callable[[], None],
        embed: Embedder,
        progress: Progress,
        server: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.server = server
        self.store_dir = store_dir  # None with a Chroma server: nothing local to move aside
        self.manifest = manifest
        self._open_store = open_store
        self._release = release
        self.embed = embed
        self.progress = progress
        self.store: ChunkStore | None = None
        self.chunks: dict[str, Chunk] = {}
        self._stamp_path = manifest.path.with_name(f".{manifest.path.stem}.version")
        self._seen = ""

    # -- locking and change stamps -------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, *, shared: bool = False) -> Iterator[None]:
        def waiting(holder: str) -> None:
            self.progress("another mltutor process is changing your material; waiting for it…")

        try:
            with file_lock(
                lock_path(self.data_dir, LOCK_NAME),
                shared=shared,
                on_wait=None if shared else waiting,
                holder=f"pid {os.getpid()}",
            ):
                yield
        except StorageError as exc:
            raise KnowledgeError(exc.message, kind=exc.kind) from exc

    def _stamp(self) -> str:
        try:
            return self._stamp_path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _bump(self) -> None:
        """Tell other processes the store changed (they reload before their next change)."""
        stamp = uuid.uuid4().hex
        tmp = self._stamp_path.with_name(f"{self._stamp_path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(stamp, encoding="utf-8")
            os.replace(tmp, self._stamp_path)
            self._seen = stamp

    # -- opening -------------------------------------------------------------------------------
    def _open(self) -> tuple[ChunkStore, dict[str, Any]] | BaseException:
        """The store and all its ids/metadata, or why it cannot be read (a damaged store)."""
        try:
            store = self._open_store()
            got = store.get_all(["documents", "metadatas"])
            store.probe()
            return store, got
        except KnowledgeError:
            raise
        except BaseException as exc:
            if is_fatal(exc):
                raise
            self._release()
            if self.store_dir is None:  # a server: its failures are not ours to repair
                raise KnowledgeError(
                    f"the Chroma server at {self.server} failed: {describe(exc)}"
                ) from exc
            kind = diagnose(exc, self.store_dir)
            if kind in ("locked", "disk_full", "read_only"):
                raise storage_failure(exc, self.store_dir, WHAT) from exc
            return exc

    def _use(self, store: ChunkStore, got: dict[str, Any]) -> None:
        self.store = store
        self.chunks = {}
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            m = meta or {}
            self.chunks[cid] = Chunk(
                id=cid,
                topic=str(m.get("topic", "")),
                title=str(m.get("title", "")),
                heading=str(m.get("heading", "")),
                source=str(m.get("source", "")),
                text=doc or "",
                kind=str(m.get("kind", "")),
                language=str(m.get("language", "en")),
                question_id=str(m.get("question_id", "")),
            )

    def ensure(self) -> ChunkStore:
        """Open the store (repairing it under the exclusive lock if it needs it)."""
        if self.store is not None:
            return self.store
        missing = self.store_dir is not None and not (self.store_dir / "chroma.sqlite3").exists()
        with self._lock(shared=True) if not missing else contextlib.nullcontext():
            self._seen = self._stamp()
            self.manifest.reload()
            opened = self._open() if not missing else None  # creating it is a change: exclusive
            if opened is not None and not isinstance(opened, BaseException):
                store, got = opened
                healthy = store.meta.get("embedder") == embedder_id() and self._plan(got).clean
                if healthy and not self.manifest.unreadable:
                    self._use(store, got)
                    return store
        with self._lock():
            self._reload(force=True)
        assert self.store is not None
        return self.store

    def _reload(self, *, force: bool = False) -> None:
        """Under the exclusive lock: reopen if another process changed the store, and repair it."""
        if not force and self.store is not None and self._stamp() == self._seen:
            return
        self._release()
        self._seen = self._stamp()
        self.manifest.reload()
        opened = self._open()
        if isinstance(opened, BaseException):
            store, got = self._recover(opened)
        else:
            store, got = opened
        self._use(store, got)
        if store.meta.get("embedder") != embedder_id():
            if store.meta.get("embedder"):
                self.progress("the embedder changed; re-indexing your material…")
                store.recreate()
                self.chunks = {}
                got = {"ids": [], "documents": [], "metadatas": []}
            store.set_meta(embedder=embedder_id())
        self._repair(self._plan(got))

    def _recover(self, error: BaseException) -> tuple[ChunkStore, dict[str, Any]]:
        """Move a damaged local store aside (with the manifest) and start an empty one."""
        assert self.store_dir is not None
        try:
            aside = move_aside(
                self.store_dir,
                data_dir=self.data_dir,
                what=WHAT,
                reason=describe(error),
                keep_with=(self.manifest.path,),
            )
        except StorageError as exc:
            raise KnowledgeError(exc.message, kind=exc.kind) from exc
        self.progress(
            f"your material index was unreadable ({describe(error)}); a copy is kept in {aside}"
        )
        opened = self._open()
        if isinstance(opened, BaseException):
            raise storage_failure(
                opened, self.store_dir, WHAT, prefix="cannot create a new index: "
            )
        return opened

    # -- repair --------------------------------------------------------------------------------
    def _plan(self, got: dict[str, Any]) -> RepairPlan:
        return plan_repair(got, self.manifest)

    def _repair(self, plan: RepairPlan) -> None:
        store = self.store
        assert store is not None
        changed = False
        if plan.drop:
            store.delete_ids(plan.drop)
            for cid in plan.drop:
                self.chunks.pop(cid, None)
            for message in dict.fromkeys(plan.messages):
                self.progress(message)
            changed = True
        if self.manifest.unreadable:
            self.progress("the list of your material was unreadable; rebuilt it from the index")
            self.manifest.docs, self.manifest.unreadable = {}, False
            self.manifest.save()
        for source, (sha, n) in plan.relist.items():
            self.manifest.put(Path(source), n, sha256=sha)
        if plan.lost:
            self.progress(f"{len(plan.lost)} file(s) of your material are missing from the index")
            self._readd(plan.lost)
            changed = True
        if changed or plan.relist:
            self._bump()

    def _readd(self, docs: list[UserDoc]) -> None:
        """After losing (part of) the index, re-add the files still on disk; name the rest."""
        for doc in docs:
            self.manifest.docs.pop(str(doc.path), None)
        self.manifest.save()
        missing: list[str] = []
        for doc in docs:
            try:
                chunks, vectors, digest = self._prepare(doc.path)
                self._write(doc.path, chunks, vectors, digest)
            except KnowledgeError as exc:
                missing.append(f"{doc.path} ({exc.message})")
        self.progress(
            f"re-indexed {len(docs) - len(missing)} of {len(docs)} files of your material"
        )
        if missing:
            self.progress("re-add these files with `mltutor knowledge add`: " + "; ".join(missing))

    # -- changing ------------------------------------------------------------------------------
    def _prepare(self, path: Path) -> tuple[list[Chunk], npt.NDArray[np.float32], str]:
        """Read, chunk and embed one file (no lock, nothing written)."""
        data = read_bytes(path)
        digest = sha256_hex(data)
        chunks = tag_generation(chunk_user_file(path, data), digest)
        rows = []
        for start in range(0, len(chunks), BATCH):
            rows.append(self.embed([c.search_text() for c in chunks[start : start + BATCH]]))
            if len(chunks) > BATCH:
                done = min(start + BATCH, len(chunks))
                self.progress(f"  embedded {done}/{len(chunks)} chunks of {path.name}")
        return chunks, np.concatenate(rows).astype(np.float32), digest

    def _write(
        self, path: Path, chunks: list[Chunk], vectors: npt.NDArray[np.float32], digest: str
    ) -> int:
        """Under the exclusive lock: write the new version, commit it, then drop the old one."""
        store = self.store
        assert store is not None
        new_ids = [c.id for c in chunks]
        fresh = set(new_ids)
        old_ids = [
            cid for cid, c in self.chunks.items() if c.source == str(path) and cid not in fresh
        ]
        extra: dict[str, str | int] = {
            "doc_sha": digest,
            "parts": len(chunks),
            "added": datetime.now(UTC).isoformat(),
        }
        try:
            store.add(chunks, embeddings=vectors, extra=extra)
            self.manifest.put(path, len(chunks), digest)  # the commit
        except BaseException as exc:
            with contextlib.suppress(Exception):
                store.delete_ids(new_ids)
            if is_fatal(exc):
                self.progress(f"{path}: interrupted; nothing of it was added (rolled back)")
                raise
            if isinstance(exc, KnowledgeError):
                raise
            raise storage_failure(
                exc,
                self.store_dir or self.manifest.path,
                WHAT,
                prefix=f"{path}: could not be indexed: ",
            ) from exc
        with contextlib.suppress(Exception):  # leftovers are dropped at the next open
            if old_ids:
                store.delete_ids(old_ids)
        for cid in old_ids:
            self.chunks.pop(cid, None)
        self.chunks.update({c.id: c for c in chunks})
        self._bump()
        return len(chunks)

    def add(self, path: Path) -> int:
        """Index one file atomically (a changed file replaces its old version); its chunk count."""
        p = canonical(Path(path))
        self.ensure()
        known = self.manifest.get(p)
        if known is not None and self._has(p, known.sha256):
            data = read_bytes(p)
            if sha256_hex(data) == known.sha256:
                return known.chunks
        chunks, vectors, digest = self._prepare(p)
        with self._lock():
            self._reload()
            known = self.manifest.get(p)
            if known is not None and known.sha256 == digest and self._has(p, digest):
                return known.chunks  # another process added the same version meanwhile
            return self._write(p, chunks, vectors, digest)

    def _has(self, path: Path, digest: str) -> bool:
        tag = f"@{digest[:12]}"
        return any(c.source == str(path) and cid.endswith(tag) for cid, c in self.chunks.items())

    def remove(self, path: Path) -> None:
        """Remove a file's chunks; the file itself is untouched and need not exist any more."""
        p = canonical(Path(path))
        self.ensure()
        with self._lock():
            self._reload()
            store = self.store
            assert store is not None
            ids = [cid for cid, c in self.chunks.items() if c.source == str(p)]
            if self.manifest.get(p) is None and not ids:
                raise KnowledgeError(f"{p} is not in your material; see `mltutor knowledge list`")
            try:
                store.delete_source(str(p))
            except Exception as exc:
                where = self.store_dir or self.manifest.path
                raise storage_failure(
                    exc, where, WHAT, prefix=f"{p}: could not be removed: "
                ) from exc
            for cid in ids:
                del self.chunks[cid]
            self.manifest.remove(p)
            self._bump()

    def list(self) -> list[UserDoc]:
        """The files the user added (the manifest as on disk now)."""
        self.manifest.reload()
        return self.manifest.list()
