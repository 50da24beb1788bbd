"""The knowledge base facade: one object that owns the indexes and answers searches.

Opening is cheap; the Chroma stores are opened (and built, or repaired) on first use, so commands
such as ``knowledge list`` never pay for the index. The notes index is rebuilt only when the content
hash (notes + embedder + chunker version) changes, and then only changed chunks are re-embedded.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.build import open_notes_local, open_notes_remote
from mltutor.knowledge.chunking import CHUNKER_VERSION, USER_TOPIC, Chunk
from mltutor.knowledge.embedding import embed_texts, embedder_id, preload_async
from mltutor.knowledge.errors import KnowledgeError, describe
from mltutor.knowledge.index import (
    USER_COLLECTION,
    ChunkStore,
    Embedder,
    http_client,
    persistent_client,
    release_local,
)
from mltutor.knowledge.lexical import LexicalIndex
from mltutor.knowledge.material import MaterialIndex
from mltutor.knowledge.notes import notes_fingerprint, resolve_notes_dir
from mltutor.knowledge.retrieval import Hit, SearchFilter, cap_query, hybrid_search
from mltutor.knowledge.user_material import Manifest, UserDoc, manifest_name

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
        self._note_chunks: dict[str, Chunk] = {}
        self.material = MaterialIndex(
            data_dir=self.data_dir,
            store_dir=None if self.chroma_url else self.index_dir / "user",
            manifest=self.manifest,
            open_store=lambda: ChunkStore(
                self._client_for("user"), USER_COLLECTION, embed=self.embed
            ),
            release=self._release_user,
            embed=self.embed,
            progress=lambda message: self.progress(message),
            server=self.chroma_url,
        )
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

    def _release_user(self) -> None:
        if not self.chroma_url:
            release_local(self.index_dir / "user")

    def _remote_error(self, exc: BaseException) -> KnowledgeError:
        return KnowledgeError(f"the Chroma server at {self.chroma_url} failed: {describe(exc)}")

    def _ensure_notes(self) -> ChunkStore:
        """The notes store, built or rebuilt first if needed (see :mod:`mltutor.knowledge.build`)."""
        if self._notes is not None:
            return self._notes
        want = self.content_hash()
        if self.chroma_url:
            try:
                opened = open_notes_remote(
                    self._client_for("notes"),
                    want=want,
                    embed=self.embed,
                    notes_dir=self.notes_dir,
                    progress=self.progress,
                )
            except KnowledgeError:
                raise
            except Exception as exc:
                raise self._remote_error(exc) from exc
        else:
            opened = open_notes_local(
                data_dir=self.data_dir,
                index_dir=self.index_dir,
                want=want,
                embed=self.embed,
                notes_dir=self.notes_dir,
                progress=self.progress,
            )
        self.last_build_embedded = opened.embedded
        self._notes = opened.store
        self._note_chunks = {c.id: c for c in opened.chunks}
        self._lexical = None
        return opened.store

    def _ensure_user(self) -> ChunkStore:
        had = self.material.store is not None
        store = self.material.ensure()
        if not had:
            self._lexical = None
        return store

    @property
    def _user(self) -> ChunkStore | None:
        return self.material.store

    @property
    def _user_chunks(self) -> dict[str, Chunk]:
        return self.material.chunks

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
        self._notes = self.material.store = None
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
        in that language without excluding the others. A query longer than
        :data:`~mltutor.knowledge.retrieval.MAX_QUERY_CHARS` is cut to that length, and the cut is
        reported through ``progress`` (a pasted page still finds its topic; memory stays bounded).
        """
        query, cut = cap_query(query)
        if cut is not None:
            self.progress(cut)
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
        """Index one file atomically (a changed file replaces its old chunks); its chunk count."""
        n = self.material.add(Path(path))
        self._lexical = None
        return n

    def list_user_files(self) -> list[UserDoc]:
        """The files the user added (from the manifest: no index needed)."""
        return self.material.list()

    def remove_user_file(self, path: Path) -> None:
        """Remove a file's chunks; the file itself is untouched and need not exist any more."""
        self.material.remove(Path(path))
        self._lexical = None


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
