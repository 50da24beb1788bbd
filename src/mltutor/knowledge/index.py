"""Chroma storage of chunks: opening clients, syncing a collection to a chunk list, dense queries.

Two stores, each a Chroma collection: the bundled notes (rebuildable at any time) and the user's own
material (not rebuildable without the user's files). With the local ``PersistentClient`` each store
has its own directory, so a corrupt notes index can be deleted and rebuilt without touching the
user's material. Vectors are always computed by us (``embedding.embed_texts``) and passed in; the
registered embedding function is still given to every collection so Chroma records which embedder
made them and never falls back to its own downloading default.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.chunking import Chunk
from mltutor.knowledge.embedding import UseEmbeddingFunction, embed_texts
from mltutor.knowledge.errors import KnowledgeError, storage_failure

Progress = Callable[[str], None]
Embedder = Callable[[Sequence[str]], npt.NDArray[np.float32]]
BATCH = 256
PAGE = 5000
NOTES_COLLECTION = "mltutor_notes"
USER_COLLECTION = "mltutor_user"
_META_KEYS = ("topic", "title", "heading", "source", "kind", "language", "question_id")


def _quiet(message: str) -> None:
    """Default progress sink: say nothing."""


def text_hash(text: str) -> str:
    """Short digest of what was embedded; a changed digest means the vector is stale."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_fatal(exc: BaseException) -> bool:
    """Exceptions we must never swallow while probing an index (Ctrl-C, interpreter exit)."""
    return isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError)


def chroma_settings() -> Any:
    """Client settings: no telemetry (no network), resets allowed for tests and recovery."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=True)


def persistent_client(path: Path) -> Any:
    """A local client on ``path`` (created if missing)."""
    import chromadb

    if path.exists() and not path.is_dir():  # damaged layout: the caller treats it as corrupt
        raise NotADirectoryError(f"{path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        prefix = f"cannot create the index directory {path}: "
        raise storage_failure(exc, path, "the knowledge index", prefix=prefix) from exc
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def http_client(url: str) -> Any:
    """A client for a Chroma server at ``http(s)://host:port``; fails clearly if unreachable."""
    import chromadb

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if not parsed.hostname:
        raise KnowledgeError(f"MLTUTOR_CHROMA_URL {url!r} is not a URL like http://127.0.0.1:8000")
    ssl = parsed.scheme == "https"
    port = parsed.port or (443 if ssl else 8000)
    try:
        client = chromadb.HttpClient(
            host=parsed.hostname, port=port, ssl=ssl, settings=chroma_settings()
        )
        client.heartbeat()
    except Exception as exc:
        raise KnowledgeError(
            f"cannot reach the Chroma server at {url} ({exc}); start it or unset MLTUTOR_CHROMA_URL"
        ) from exc
    return client


def release_local(path: Path) -> None:
    """Stop and forget Chroma's cached system for one directory, so it can be deleted and reopened.

    Chroma shares one system per path within a process and would hand the broken one back; only that
    path is released, so the other store stays open.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(path)
    system = SharedSystemClient._identifier_to_system.pop(key, None)
    SharedSystemClient._identifier_to_refcount.pop(key, None)
    if system is not None:
        with contextlib.suppress(Exception):  # a broken system may fail to stop; forget it anyway
            system.stop()


SEARCH_EF = 500
"""HNSW's candidate list at query time (Chroma's default is 100). With 100 the tail of a 40-candidate
search with a metadata filter changed between processes (a swap at rank 26 in about one query of
four here), which moved reciprocal-rank-fusion scores and so a non-bank question's rubric; with
500, 16 of 16 processes returned the same list. The notes are a few thousand chunks: the search stays
a few milliseconds."""

HNSW_CONFIGURATION: dict[str, Any] = {"hnsw": {"space": "cosine", "ef_search": SEARCH_EF}}
"""How our collections index their vectors."""


class ChunkStore:
    """One Chroma collection of chunks, with our own bookkeeping metadata."""

    def __init__(self, client: Any, name: str, embed: Embedder = embed_texts) -> None:
        self.client = client
        self.name = name
        self.embed = embed
        self._count: int | None = None
        self.collection = client.get_or_create_collection(
            name=name,
            embedding_function=UseEmbeddingFunction(),
            configuration=HNSW_CONFIGURATION,
        )
        self._search_wide_enough()

    def _search_wide_enough(self) -> None:
        """Give a collection made before :data:`SEARCH_EF` its search width (a query-time setting,
        kept by Chroma once changed). A store that cannot be written keeps searching as it was."""
        try:
            hnsw = (self.collection.configuration or {}).get("hnsw") or {}
            if int(hnsw.get("ef_search") or 0) < SEARCH_EF:
                self.collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
        except Exception:  # read-only data dir, an older Chroma: only reproducibility is lost
            return

    # -- bookkeeping -----------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """Collection metadata (content hash, embedder); empty for a fresh collection."""
        return dict(self.collection.metadata or {})

    def set_meta(self, **values: str) -> None:
        """Replace our metadata keys; written last in a build, so an interrupted build is redone."""
        self.collection.modify(metadata={**self.meta, **values})

    def count(self) -> int:
        """Number of chunks; cached because every query needs it and only our writes change it."""
        if self._count is None:
            self._count = int(self.collection.count())
        return self._count

    def recreate(self) -> None:
        """Drop and recreate the collection (the embedder changed: every vector is stale)."""
        self.client.delete_collection(self.name)
        self._count = None
        self.collection = self.client.get_or_create_collection(
            name=self.name,
            embedding_function=UseEmbeddingFunction(),
            configuration=HNSW_CONFIGURATION,
        )

    # -- reading ----------------------------------------------------------------------------
    def get_all(self, include: list[str]) -> dict[str, list[Any]]:
        """Every record, fetched in pages: one unbounded ``get`` fails past ~32k records with
        "too many SQL variables" (measured at 50k chunks)."""
        out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            for key in out:
                got = page[key]
                out[key].extend(got if got is not None else [])  # embeddings: an ndarray
            if len(page["ids"]) < PAGE:
                return out
            offset += PAGE

    def load(self) -> list[Chunk]:
        """All chunks (reading them also serves as an integrity check at open)."""
        got = self.get_all(["documents", "metadatas"])
        out = []
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            m = meta or {}
            out.append(
                Chunk(
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
            )
        return out

    def probe(self) -> None:
        """Touch the vector segment too: a corrupt HNSW file only fails on a query."""
        if self.count():
            unit = np.zeros(self._dimension(), dtype=np.float32)
            unit[0] = 1.0
            self.collection.query(query_embeddings=[unit.tolist()], n_results=1, include=[])

    def _dimension(self) -> int:
        got = self.collection.get(limit=1, include=["embeddings"])
        emb = got.get("embeddings")
        return len(emb[0]) if emb is not None and len(emb) else 512

    def query(
        self,
        embedding: npt.NDArray[np.float32],
        n: int,
        topic: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest ``n`` chunks as (id, cosine distance), optionally one topic / a metadata filter."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        clauses = [c for c in ({"topic": topic} if topic else None, where) if c]
        res = self.collection.query(
            query_embeddings=[embedding.tolist()],
            n_results=min(n, total),
            where=clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None),
            include=["distances"],
        )
        ids = res["ids"][0] if res["ids"] else []
        dists = res["distances"][0] if res.get("distances") else [0.0] * len(ids)
        return [(i, float(d)) for i, d in zip(ids, dists, strict=True)]

    # -- writing ----------------------------------------------------------------------------
    def add(
        self,
        chunks: Sequence[Chunk],
        progress: Progress = _quiet,
        label: str = "chunks",
        embeddings: npt.NDArray[np.float32] | None = None,
        extra: Mapping[str, str | int] | None = None,
    ) -> None:
        """Embed (unless ``embeddings`` are given) and upsert chunks in batches, with progress.

        ``extra`` metadata is stored with every chunk (the user's material records its version).
        """
        extra_meta = dict(extra or {})
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            texts = [c.search_text() for c in batch]
            vecs = (
                embeddings[start : start + BATCH] if embeddings is not None else self.embed(texts)
            )
            self.collection.upsert(
                ids=[c.id for c in batch],
                embeddings=[v.tolist() for v in vecs],
                documents=[c.text for c in batch],
                metadatas=[
                    {
                        **{k: getattr(c, k) for k in _META_KEYS},
                        "text_hash": text_hash(t),
                        **extra_meta,
                    }
                    for c, t in zip(batch, texts, strict=True)
                ],
            )
            self._count = None
            if len(chunks) > BATCH:
                progress(f"  embedded {min(start + BATCH, len(chunks))}/{len(chunks)} {label}")

    def delete_ids(self, ids: Sequence[str]) -> None:
        self._count = None
        for start in range(0, len(ids), 5000):
            self.collection.delete(ids=list(ids[start : start + 5000]))

    def delete_source(self, source: str) -> None:
        self._count = None
        self.collection.delete(where={"source": source})

    def sync(self, chunks: Sequence[Chunk], progress: Progress = _quiet) -> int:
        """Make the collection hold exactly ``chunks``, embedding only new or changed ones.

        Returns how many chunks were (re-)embedded.
        """
        got = self.get_all(["metadatas"])
        stored = {
            cid: (
                (m or {}).get("text_hash"),
                (m or {}).get("language"),
                (m or {}).get("question_id"),
            )
            for cid, m in zip(got["ids"], got["metadatas"], strict=True)
        }
        wanted = {c.id: c for c in chunks}
        stale = [cid for cid in stored if cid not in wanted]
        todo = [
            c
            for c in chunks
            if stored.get(c.id) != (text_hash(c.search_text()), c.language, c.question_id)
        ]
        if stale:
            self.delete_ids(stale)
        self.add(todo, progress, label="chunks")
        return len(todo)
