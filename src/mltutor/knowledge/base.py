"""The knowledge base facade: one object that owns the indexes and answers searches.

Opening is cheap; the Chroma stores are opened (and built, or repaired) on first use, so commands
such as ``knowledge list`` never pay for the index. The notes index is rebuilt only when the content
hash (notes + embedder + chunker version) changes, and then only changed chunks are re-embedded.
"""

from __future__ import annotations

import hashlib
import time
from collections import ChainMap
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.chunking import CHUNKER_VERSION, USER_TOPIC, Chunk, chunk_notes
from mltutor.knowledge.embedding import embed_texts, embedder_id, preload_async
from mltutor.knowledge.errors import KnowledgeError, describe
from mltutor.knowledge.index import (
    NOTES_COLLECTION,
    USER_COLLECTION,
    ChunkStore,
    Embedder,
    discard_store,
    http_client,
    is_fatal,
    persistent_client,
    release_local,
)
from mltutor.knowledge.lexical import LexicalIndex
from mltutor.knowledge.notes import load_notes, notes_fingerprint, resolve_notes_dir
from mltutor.knowledge.retrieval import Hit, SearchFilter, hybrid_search
from mltutor.knowledge.user_material import (
    Manifest,
    UserDoc,
    canonical,
    chunk_user_file,
    manifest_name,
    read_bytes,
    sha256_hex,
)

Progress = Callable[[str], None]
INDEX_DIRNAME = "index"


def _quiet(message: str) -> None:
    """Default progress sink."""


class KnowledgeBase:
    """Topic notes + the user's material, searchable together (see :func:`open_knowledge_base`)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        chroma_url: str | None,
        progress: Progress | None = None,
        notes_dir: Path | None = None,
        embed: Embedder = embed_texts,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.index_dir = self.data_dir / INDEX_DIRNAME
        self.chroma_url = chroma_url or None
        self.progress: Progress = progress or _quiet
        self.notes_dir = resolve_notes_dir(notes_dir)
        self.embed = embed
        self.manifest = Manifest(self.index_dir / manifest_name(self.chroma_url))
        self._http: Any = None
        self._notes: ChunkStore | None = None
        self._user: ChunkStore | None = None
        self._note_chunks: dict[str, Chunk] = {}
        self._user_chunks: dict[str, Chunk] = {}
        self._lexical: LexicalIndex | None = None
        self._topics: list[str] = []
        self.last_build_embedded = 0  # chunks embedded by the last ensure_index (0: reused as is)

    # -- opening ---------------------------------------------------------------------------------
    def content_hash(self) -> str:
        """What the notes index must match: the notes' bytes, the embedder, the chunker version."""
        key = f"{notes_fingerprint(self.notes_dir)}|{embedder_id()}|{CHUNKER_VERSION}"
        return hashlib.sha256(key.encode()).hexdigest()

    def _client_for(self, name: str) -> Any:
        if self.chroma_url:
            if self._http is None:
                self._http = http_client(self.chroma_url)
            return self._http
        return persistent_client(self.index_dir / name)

    def _open_store(self, collection: str, dirname: str) -> tuple[ChunkStore, list[Chunk]]:
        client = self._client_for(dirname)
        store = ChunkStore(client, collection, embed=self.embed)
        chunks = store.load()
        store.probe()
        return store, chunks

    def _open_or_failure(
        self, collection: str, dirname: str
    ) -> tuple[ChunkStore, list[Chunk]] | BaseException:
        """Open a store, or return why a *local* store is unreadable (the caller recovers).

        Our own errors, fatal signals (Ctrl-C) and failures of a remote server are raised instead.
        """
        try:
            return self._open_store(collection, dirname)
        except KnowledgeError:
            raise
        except BaseException as exc:
            if is_fatal(exc):
                raise
            if self.chroma_url:
                raise self._remote_error(exc) from exc
            return exc

    def _ensure_notes(self) -> ChunkStore:
        if self._notes is not None:
            return self._notes
        recovered = False
        opened = self._open_or_failure(NOTES_COLLECTION, "notes")
        if isinstance(opened, tuple):
            store, chunks = opened
        else:
            self.progress(f"the knowledge index was unreadable ({describe(opened)}); rebuilding…")
            self._discard_local("notes", keep=False)
            store, chunks = self._reopen(NOTES_COLLECTION, "notes")
            recovered = True
        wanted = self.content_hash()
        meta = store.meta
        self.last_build_embedded = 0
        if meta.get("content_hash") != wanted:
            started = time.perf_counter()
            if chunks:
                self.progress("the notes changed; updating the knowledge index…")
            else:
                self.progress(
                    "building the knowledge index…"
                    if recovered
                    else "building the knowledge index (first run)…"
                )
            if meta.get("embedder") not in (None, embedder_id()):
                store.recreate()
            new_chunks = chunk_notes(load_notes(self.notes_dir))
            try:
                self.last_build_embedded = store.sync(new_chunks, self.progress)
                store.set_meta(content_hash=wanted, embedder=embedder_id(), chunker=CHUNKER_VERSION)
            except Exception as exc:  # e.g. disk full; the hash is unset, so the next run retries
                raise KnowledgeError(
                    f"building the knowledge index failed: {describe(exc)}"
                ) from exc
            chunks = new_chunks
            self.progress(
                f"knowledge index ready: {len(chunks)} chunks "
                f"({self.last_build_embedded} embedded) in {time.perf_counter() - started:.1f} s"
            )
        self._notes = store
        self._note_chunks = {c.id: c for c in chunks}
        self._lexical = None
        return store

    def _ensure_user(self) -> ChunkStore:
        if self._user is not None:
            return self._user
        opened = self._open_or_failure(USER_COLLECTION, "user")
        if isinstance(opened, tuple):
            store, chunks = opened
        else:
            aside = self._discard_local("user", keep=True)
            self.progress(
                f"your material index was unreadable ({describe(opened)}); a copy is kept in {aside}"
            )
            store, chunks = self._reopen(USER_COLLECTION, "user")
            store.set_meta(embedder=embedder_id())
            self._user, self._user_chunks = store, {}
            self._readd_from_manifest()
            return store
        self._user = store
        self._user_chunks = {c.id: c for c in chunks}
        self._lexical = None
        if not store.meta.get("embedder"):
            store.set_meta(embedder=embedder_id())
        elif store.meta["embedder"] != embedder_id():
            self.progress("the embedder changed; re-indexing your material…")
            store.recreate()
            store.set_meta(embedder=embedder_id())
            self._user_chunks = {}
            self._readd_from_manifest()
        self._reconcile_manifest()
        return store

    def _reopen(self, collection: str, dirname: str) -> tuple[ChunkStore, list[Chunk]]:
        try:
            return self._open_store(collection, dirname)
        except KnowledgeError:
            raise
        except Exception as exc:
            raise KnowledgeError(
                f"cannot create the index in {self.index_dir / dirname}: {describe(exc)}"
            ) from exc

    def _discard_local(self, dirname: str, *, keep: bool) -> Path | None:
        """Release one local store and delete it, or move it aside (with the manifest) if ``keep``."""
        self._lexical = None
        return discard_store(self.index_dir / dirname, keep=keep, extra=self.manifest.path)

    def _remote_error(self, exc: BaseException) -> KnowledgeError:
        return KnowledgeError(f"the Chroma server at {self.chroma_url} failed: {describe(exc)}")

    def _readd_from_manifest(self, docs: list[UserDoc] | None = None) -> None:
        """After losing (part of) the material index, re-add the files still on disk; name the rest."""
        docs = self.manifest.list() if docs is None else docs
        for doc in docs:
            self.manifest.docs.pop(str(doc.path), None)
        self.manifest.save()
        missing: list[str] = []
        for doc in docs:
            try:
                self.add_user_file(doc.path)
            except KnowledgeError as exc:
                missing.append(f"{doc.path} ({exc.message})")
        if docs:
            self.progress(
                f"re-indexed {len(docs) - len(missing)} of {len(docs)} files of your material"
            )
        if missing:
            self.progress("re-add these files with `mltutor knowledge add`: " + "; ".join(missing))

    def _reconcile_manifest(self) -> None:
        """Make the manifest and the material index agree after either was damaged or deleted.

        Files in the index but not in the manifest are listed (hashes unknown, so the next ``add``
        re-reads them); files in the manifest but not in the index are re-added from disk.
        """
        counts: dict[str, int] = {}
        for c in self._user_chunks.values():
            counts[c.source] = counts.get(c.source, 0) + 1
        if self.manifest.unreadable:
            self.progress("the list of your material was unreadable; rebuilt it from the index")
            self.manifest.docs = {}
            self.manifest.unreadable = False
        for source, n in counts.items():
            if self.manifest.get(Path(source)) is None:
                self.manifest.put(Path(source), n, sha256="")
        lost = [d for d in self.manifest.list() if str(d.path) not in counts]
        if lost:
            self.progress(f"{len(lost)} file(s) of your material are missing from the index")
            self._readd_from_manifest(lost)

    def ensure_index(self) -> None:
        """Open both stores, building or repairing the notes index if needed, and the BM25 index."""
        if self._notes is None and self.embed is embed_texts:
            preload_async()
        self._ensure_notes()
        self._ensure_user()
        self._ensure_lexical()

    def _ensure_lexical(self) -> LexicalIndex:
        if self._lexical is None:
            chunks = [*self._note_chunks.values(), *self._user_chunks.values()]
            self._lexical = LexicalIndex(
                [c.id for c in chunks],
                [c.search_text() for c in chunks],
                [c.topic for c in chunks],
                kinds=[c.kind for c in chunks],
                question_ids=[c.question_id for c in chunks],
                languages=[c.language for c in chunks],
            )
            self._topics = sorted({c.topic for c in chunks})
        return self._lexical

    def close(self) -> None:
        """Release the local Chroma clients (tests, and before moving the data dir)."""
        if not self.chroma_url:
            for dirname in ("notes", "user"):
                release_local(self.index_dir / dirname)
        self._notes = self._user = None
        self._lexical = None

    # -- searching -------------------------------------------------------------------------------
    def topics(self) -> list[str]:
        """Topic slugs present in the index (plus ``user`` when the user added material)."""
        self.ensure_index()
        return list(self._topics)

    def search(
        self,
        query: str,
        k: int = 5,
        topic: str | None = None,
        *,
        exclude_question_ids: Collection[str] = (),
        kinds: Collection[str] | None = None,
        language: str | None = None,
    ) -> list[Hit]:
        """Best ``k`` hits over the notes and the user's material, optionally one topic only.

        ``exclude_question_ids``: chunks of these bank questions are never returned (the open
        interview question must not leak); ``kinds``: only chunks of these kinds (``summary``,
        ``section``, ``question``, ``user``). Both filter before the top ``k`` is taken, so ``k``
        hits still come back when enough others match. ``language`` (``en``/``ru``) prefers chunks
        in that language without excluding the others.
        """
        known = self.topics()
        if topic is not None and topic not in known:
            raise KnowledgeError(f"unknown topic {topic!r}; known topics: {', '.join(known)}")
        flt = SearchFilter(
            exclude_question_ids=frozenset(exclude_question_ids),
            kinds=frozenset(kinds) if kinds is not None else None,
        )
        try:
            return self._search(query, k, topic, flt, language)
        except KnowledgeError:
            raise
        except Exception as exc:
            if self.chroma_url:
                raise self._remote_error(exc) from exc
            # The index broke under us (e.g. files replaced while open): repair once, retry once.
            self.progress(f"the knowledge index failed ({describe(exc)}); reopening…")
            self.close()
            self.ensure_index()
            try:
                return self._search(query, k, topic, flt, language)
            except Exception as again:
                notes_dir = self.index_dir / "notes"
                raise KnowledgeError(
                    f"search failed twice ({describe(again)}); delete {notes_dir} to rebuild"
                ) from again

    def _search(
        self, query: str, k: int, topic: str | None, flt: SearchFilter, language: str | None
    ) -> list[Hit]:
        notes, user = self._ensure_notes(), self._ensure_user()
        vec: list[npt.NDArray[np.float32]] = []

        def dense(q: str, n: int, t: str | None, f: SearchFilter) -> list[tuple[str, float]]:
            if not vec:
                vec.append(self.embed([q])[0])
            found: list[tuple[str, float]] = []
            if t != USER_TOPIC:
                found += notes.query(vec[0], n, t, where=_chroma_where(f))
            user_wanted = f.kinds is None or "user" in f.kinds  # user chunks have no question id
            if self._user_chunks and t in (None, USER_TOPIC) and user_wanted:
                found += user.query(vec[0], n, None)
            return sorted(found, key=lambda x: x[1])[:n]

        chunks = ChainMap(self._user_chunks, self._note_chunks)
        return hybrid_search(
            query,
            dense=dense,
            lexical=self._ensure_lexical(),
            chunks=chunks,
            k=k,
            topic=topic,
            flt=flt,
            language=language,
        )

    # -- user material ---------------------------------------------------------------------------
    def add_user_file(self, path: Path) -> int:
        """Index one file (a changed file replaces its old chunks); return the chunk count."""
        store = self._ensure_user()
        p = canonical(Path(path))
        data = read_bytes(p)
        digest = sha256_hex(data)
        old_ids = {cid for cid, c in self._user_chunks.items() if c.source == str(p)}
        known = self.manifest.get(p)
        if known is not None and known.sha256 == digest and old_ids:
            return len(old_ids)
        chunks = chunk_user_file(p, data)
        try:
            store.add(chunks, self.progress, label=f"chunks of {p.name}")
            stale = old_ids - {c.id for c in chunks}
            if stale:
                store.delete_ids(sorted(stale))
        except Exception as exc:
            raise KnowledgeError(f"{p}: could not be indexed ({describe(exc)})") from exc
        for cid in old_ids:
            self._user_chunks.pop(cid, None)
        self._user_chunks.update({c.id: c for c in chunks})
        self._lexical = None
        self.manifest.put(p, len(chunks), digest)
        return len(chunks)

    def list_user_files(self) -> list[UserDoc]:
        """The files the user added (from the manifest: no index needed)."""
        return self.manifest.list()

    def remove_user_file(self, path: Path) -> None:
        """Remove a file's chunks; the file itself is untouched and need not exist any more."""
        p = canonical(Path(path))
        store = self._ensure_user()
        ids = [cid for cid, c in self._user_chunks.items() if c.source == str(p)]
        if self.manifest.get(p) is None and not ids:
            raise KnowledgeError(f"{p} is not in your material; see `mltutor knowledge list`")
        try:
            store.delete_source(str(p))
        except Exception as exc:
            raise KnowledgeError(f"{p}: could not be removed ({describe(exc)})") from exc
        for cid in ids:
            del self._user_chunks[cid]
        self._lexical = None
        self.manifest.remove(p)


def _chroma_where(flt: SearchFilter) -> dict[str, Any] | None:
    """The notes store's metadata filter for ``flt`` (``None`` when nothing is filtered)."""
    clauses: list[dict[str, Any]] = []
    if flt.exclude_question_ids:
        clauses.append({"question_id": {"$nin": sorted(flt.exclude_question_ids)}})
    if flt.kinds is not None:
        clauses.append({"kind": {"$in": sorted(flt.kinds)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def open_knowledge_base(
    *,
    data_dir: Path,
    chroma_url: str | None,
    progress: Progress | None = None,
    notes_dir: Path | None = None,
) -> KnowledgeBase:
    """Create a knowledge base; indexes are opened (built if needed) on first use, not here."""
    return KnowledgeBase(
        data_dir=data_dir, chroma_url=chroma_url, progress=progress, notes_dir=notes_dir
    )
