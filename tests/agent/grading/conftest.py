"""Fixtures for the grader tests: the real notes and bank, the real embedder, a lexical notes search.

The knowledge base's Chroma index is not built here: non-bank questions search the notes through
a BM25 index over the same chunks (``LexicalSearch``), which is what ``create_grader(search=...)``
is for. No network, no model: the judge is the scripted fake or the fake OpenAI server.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from mltutor.agent.grading import Grader, create_grader
from mltutor.knowledge.chunking import chunk_notes
from mltutor.knowledge.lexical import LexicalIndex
from mltutor.knowledge.notes import Note, load_notes
from mltutor.knowledge.retrieval import Hit
from mltutor.settings import Settings


class LexicalSearch:
    """``KnowledgeBase.search`` over the bundled notes with BM25 only (no Chroma, no index build)."""

    def __init__(self, notes: list[Note]) -> None:
        chunks = chunk_notes(notes)
        self.chunks = {c.id: c for c in chunks}
        self.index = LexicalIndex(
            [c.id for c in chunks],
            [c.search_text() for c in chunks],
            [c.topic for c in chunks],
            kinds=[c.kind for c in chunks],
            question_ids=[c.question_id for c in chunks],
            languages=[c.language for c in chunks],
        )
        self.calls: list[str] = []

    def __call__(
        self,
        query: str,
        k: int = 5,
        topic: str | None = None,
        *,
        kinds: Collection[str] | None = None,
        language: str | None = None,
        exclude_question_ids: Collection[str] = (),
    ) -> list[Hit]:
        self.calls.append(query)
        found = self.index.search(
            query, k, topic, kinds=kinds, exclude_question_ids=exclude_question_ids
        )
        return [Hit.from_chunk(self.chunks[cid], score) for cid, score in found]


@pytest.fixture(scope="session")
def notes() -> list[Note]:
    return load_notes()


@pytest.fixture(scope="session")
def search(notes: list[Note]) -> LexicalSearch:
    return LexicalSearch(notes)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grading-cache")


@pytest.fixture(scope="session")
def settings(session_cache: Path) -> Settings:
    return Settings(data_dir=session_cache / "data", cache_dir=session_cache / "cache")


@pytest.fixture(scope="session")
def grader(settings: Settings, notes: list[Note], search: LexicalSearch) -> Grader:
    """A deterministic grader over the real bank and notes (shared: it holds no per-answer state)."""
    return create_grader(settings, notes=notes, search=search)


def make_grader(settings: Settings, notes: list[Note], search: Any, judge: Any) -> Grader:
    return create_grader(settings, notes=notes, search=search, judge=judge)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in grading may leave the machine (the fake OpenAI server is on 127.0.0.1)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family != socket.AF_UNIX and not str(host).startswith("127."):
            raise OSError(f"network access attempted in an offline test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
