"""Index lifecycle: first build, reuse when unchanged, incremental rebuild, corruption recovery."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mltutor.knowledge.base import KnowledgeBase, open_knowledge_base
from mltutor.knowledge.embedding import EMBEDDER_NAME, UseEmbeddingFunction
from mltutor.knowledge.errors import KnowledgeError

from .conftest import Recorder


def reopen(kb: KnowledgeBase, recorder: Recorder) -> KnowledgeBase:
    kb.close()
    return open_knowledge_base(
        data_dir=kb.data_dir, chroma_url=None, progress=recorder, notes_dir=kb.notes_dir
    )


def test_first_build_then_reuse(small_kb: KnowledgeBase, recorder: Recorder) -> None:
    small_kb.ensure_index()
    assert recorder.saw("building the knowledge index (first run)")
    built = small_kb.last_build_embedded
    assert built > 10
    recorder.messages.clear()

    kb2 = reopen(small_kb, recorder)
    started = time.perf_counter()
    kb2.ensure_index()
    elapsed = time.perf_counter() - started
    assert kb2.last_build_embedded == 0
    assert recorder.messages == []
    assert elapsed < 1.0
    assert kb2.search("sigmoid derivative", k=1)[0].topic == "calculus"
    kb2.close()


def test_changed_note_reembeds_only_changed_chunks(
    small_kb: KnowledgeBase, recorder: Recorder, synthetic_notes: Path
) -> None:
    small_kb.ensure_index()
    total = small_kb.last_build_embedded
    path = synthetic_notes / "statistics.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "Resample the data", "Draw bootstrap samples: resample the data"
        ),
        encoding="utf-8",
    )
    recorder.messages.clear()
    kb2 = reopen(small_kb, recorder)
    kb2.ensure_index()
    assert recorder.saw("the notes changed")
    assert kb2.last_build_embedded == 1
    assert len(kb2._note_chunks) == total
    hit = kb2.search("draw bootstrap samples", k=1, topic="statistics")[0]
    assert hit.text.startswith("Draw bootstrap samples")
    kb2.close()


def test_removed_note_disappears(
    small_kb: KnowledgeBase, recorder: Recorder, synthetic_notes: Path
) -> None:
    small_kb.ensure_index()
    (synthetic_notes / "linear-algebra.md").unlink()
    kb2 = reopen(small_kb, recorder)
    assert "linear-algebra" not in kb2.topics()
    assert all(h.topic != "linear-algebra" for h in kb2.search("SVD eigenvalue matrix", k=10))
    kb2.close()


def test_collection_records_registered_embedder(small_kb: KnowledgeBase) -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    small_kb.ensure_index()
    assert known_embedding_functions[EMBEDDER_NAME] is UseEmbeddingFunction
    assert small_kb._notes is not None
    config = small_kb._notes.collection.configuration_json
    assert config["embedding_function"]["name"] == EMBEDDER_NAME
    assert config["hnsw"]["space"] == "cosine"
    restored = UseEmbeddingFunction.build_from_config(config["embedding_function"]["config"])
    vec = restored(["hello"])[0]
    assert len(vec) == 512


def test_corrupt_notes_index_is_rebuilt(small_kb: KnowledgeBase, recorder: Recorder) -> None:
    small_kb.ensure_index()
    small_kb.close()
    db = small_kb.index_dir / "notes" / "chroma.sqlite3"
    db.write_bytes(os.urandom(64 * 1024))
    recorder.messages.clear()
    kb2 = reopen(small_kb, recorder)
    hits = kb2.search("bootstrap resampling", k=1)
    assert hits[0].topic == "statistics"
    assert recorder.saw("index was unreadable")
    assert recorder.saw("building the knowledge index")
    kb2.close()


def test_garbage_in_segment_files_never_raises(small_kb: KnowledgeBase, recorder: Recorder) -> None:
    """Vector segment files overwritten: either Chroma ignores them or we rebuild; no traceback."""
    small_kb.ensure_index()
    small_kb.close()
    notes_dir = small_kb.index_dir / "notes"
    for p in notes_dir.rglob("*"):
        if p.is_file() and p.parent != notes_dir:
            p.write_bytes(os.urandom(4096))
    (notes_dir / "stray-garbage.bin").write_bytes(os.urandom(1024))
    kb2 = reopen(small_kb, recorder)
    assert kb2.search("bootstrap resampling", k=1)[0].topic == "statistics"
    kb2.close()


def test_truncated_sqlite_is_rebuilt(small_kb: KnowledgeBase, recorder: Recorder) -> None:
    small_kb.ensure_index()
    small_kb.close()
    db = small_kb.index_dir / "notes" / "chroma.sqlite3"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    kb2 = reopen(small_kb, recorder)
    assert kb2.search("eigenvalue", k=1)[0].topic == "linear-algebra"
    assert recorder.saw("index was unreadable")
    kb2.close()


def test_missing_index_dir_is_built(small_kb: KnowledgeBase, recorder: Recorder) -> None:
    import shutil

    small_kb.ensure_index()
    small_kb.close()
    shutil.rmtree(small_kb.index_dir / "notes")
    recorder.messages.clear()
    kb2 = reopen(small_kb, recorder)
    assert kb2.search("eigenvalue", k=1)[0].topic == "linear-algebra"
    assert recorder.saw("building the knowledge index (first run)")
    kb2.close()


def test_malformed_note_is_a_knowledge_error(
    small_kb: KnowledgeBase, synthetic_notes: Path
) -> None:
    (synthetic_notes / "broken.md").write_text("no front matter", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"broken\.md"):
        small_kb.search("anything")


def test_unwritable_data_dir(tmp_path: Path, synthetic_notes: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    kb = open_knowledge_base(data_dir=blocker, chroma_url=None, notes_dir=synthetic_notes)
    with pytest.raises(KnowledgeError, match="cannot create the index directory"):
        kb.search("x")


def test_unreachable_server_is_a_knowledge_error(synthetic_notes: Path, tmp_path: Path) -> None:
    kb = open_knowledge_base(
        data_dir=tmp_path, chroma_url="http://127.0.0.1:9", notes_dir=synthetic_notes
    )
    with pytest.raises(KnowledgeError, match="cannot reach the Chroma server"):
        kb.search("x")


def test_corrupt_vector_segment_of_large_index_is_rebuilt(
    tmp_path: Path, recorder: Recorder
) -> None:
    """Above Chroma's sync threshold (1000) the HNSW files are read: garbage there must rebuild."""
    from mltutor.knowledge.base import KnowledgeBase

    from .conftest import note_text, random_embed

    notes = tmp_path / "notes"
    notes.mkdir()
    for t in range(12):
        sections = {f"Section {i}": f"text {t} {i} alpha beta" for i in range(100)}
        (notes / f"t{t}.md").write_text(note_text(f"t{t}", f"Topic {t}", sections=sections))

    def make() -> KnowledgeBase:
        return KnowledgeBase(
            data_dir=tmp_path / "data", chroma_url=None, progress=recorder, notes_dir=notes,
            embed=random_embed,
        )  # fmt: skip

    kb = make()
    kb.ensure_index()
    assert len(kb._note_chunks) > 1000
    kb.close()
    seg_root = tmp_path / "data" / "index" / "notes"
    segment_files = [p for p in seg_root.rglob("*") if p.is_file() and p.parent != seg_root]
    assert any(p.name.endswith(".pickle") for p in segment_files)
    for p in segment_files:
        p.write_bytes(os.urandom(4096))
    recorder.messages.clear()
    kb = make()
    assert kb.search("text 3 alpha", k=1)
    assert recorder.saw("index was unreadable")
    kb.close()


def test_embedder_change_reembeds_notes_and_material(
    small_kb: KnowledgeBase, recorder: Recorder, tmp_path: Path
) -> None:
    doc = tmp_path / "mine.md"
    doc.write_text("# Mine\n\n## Quokka lemma\n\nThe quokka lemma bounds the loss.\n")
    small_kb.ensure_index()
    total = small_kb.last_build_embedded
    small_kb.add_user_file(doc)
    assert small_kb._notes is not None and small_kb._user is not None
    small_kb._notes.set_meta(embedder="old-embedder", content_hash="old")
    small_kb._user.set_meta(embedder="old-embedder")
    recorder.messages.clear()
    kb2 = reopen(small_kb, recorder)
    kb2.ensure_index()
    assert kb2.last_build_embedded == total
    assert recorder.saw("the embedder changed; re-indexing your material")
    assert kb2.search("quokka lemma", k=1)[0].citation == "mine.md § Quokka lemma"
    kb2.close()


def test_index_dir_replaced_by_a_file_is_rebuilt(
    small_kb: KnowledgeBase, recorder: Recorder
) -> None:
    import shutil

    small_kb.ensure_index()
    small_kb.close()
    for name in ("notes", "user"):
        shutil.rmtree(small_kb.index_dir / name)
        (small_kb.index_dir / name).write_text("garbage")
    recorder.messages.clear()
    kb2 = reopen(small_kb, recorder)
    assert kb2.search("eigenvalue", k=1)[0].topic == "linear-algebra"
    assert recorder.saw("index was unreadable") and recorder.saw("material index was unreadable")
    kb2.close()


def test_failure_during_search_reopens_once(
    small_kb: KnowledgeBase, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltutor.knowledge.index import ChunkStore

    small_kb.ensure_index()
    real_query = ChunkStore.query
    calls = {"n": 0}

    def flaky(self: ChunkStore, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated failure")
        return real_query(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ChunkStore, "query", flaky)
    assert small_kb.search("eigenvalue", k=1)[0].topic == "linear-algebra"
    assert recorder.saw("the knowledge index failed")

    def broken(self: ChunkStore, *args: object, **kwargs: object) -> object:
        raise RuntimeError("always broken")

    monkeypatch.setattr(ChunkStore, "query", broken)
    with pytest.raises(KnowledgeError, match="search failed twice"):
        small_kb.search("eigenvalue", k=1)
