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


# -- issue 15: locked, full and read-only disks; builds aside ------------------------------------


def _synthetic_kb(data: Path, notes: Path, recorder: Recorder | None = None) -> KnowledgeBase:
    from .conftest import random_embed

    return KnowledgeBase(
        data_dir=data, chroma_url=None, notes_dir=notes, embed=random_embed, progress=recorder
    )


def test_locked_index_is_waited_for_not_rebuilt(
    tmp_path: Path, synthetic_notes: Path, recorder: Recorder
) -> None:
    import subprocess
    import sys

    kb = _synthetic_kb(tmp_path / "data", synthetic_notes)
    kb.ensure_index()
    kb.close()
    db = tmp_path / "data" / "index" / "notes" / "chroma.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "h = sqlite3.connect(sys.argv[1])\n"
            "h.execute('PRAGMA locking_mode=EXCLUSIVE'); h.execute('BEGIN EXCLUSIVE')\n"
            "h.execute('SELECT count(*) FROM collections').fetchall()\n"
            "h.execute('CREATE TABLE IF NOT EXISTS lock_probe (x)')\n"
            "print('held', flush=True); time.sleep(3); h.rollback()\n",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    kb = _synthetic_kb(tmp_path / "data", synthetic_notes, recorder)
    started = time.perf_counter()
    kb.ensure_index()
    assert time.perf_counter() - started > 1.0  # it waited for the other program
    assert kb.last_build_embedded == 0 and recorder.messages == []  # and did not rebuild
    assert kb.search("eigenvalue", k=1)[0].topic == "linear-algebra"
    holder.wait(30)
    kb.close()


def test_disk_full_during_a_build_says_so(tmp_path: Path) -> None:
    from ..fs_faults import small_tmpfs

    if not any(
        (real_notes := Path(__file__).parents[2] / "src/mltutor/knowledge/notes").glob("*.md")
    ):
        pytest.skip("no bundled notes")
    with small_tmpfs("3m") as fs:
        kb = _synthetic_kb(fs / "data", real_notes)
        with pytest.raises(KnowledgeError) as err:
            kb.search("sigmoid derivative")
        kb.close()
        assert err.value.kind == "disk_full", err.value.message
        message = err.value.message
        assert "is full" in message and "free some space" in message
        assert "compaction" not in message.lower()
        leftovers = [p.name for p in (fs / "data" / "index").iterdir()]
        assert not [n for n in leftovers if n.startswith(".notes-build-")], leftovers


def test_failed_rebuild_leaves_the_old_index_untouched(
    tmp_path: Path, synthetic_notes: Path
) -> None:
    from ..fs_faults import fill_up, small_tmpfs, snapshot

    with small_tmpfs("8m") as fs:
        data = fs / "data"
        kb = _synthetic_kb(data, synthetic_notes)
        kb.ensure_index()
        before_chunks = len(kb._note_chunks)
        kb.close()
        (synthetic_notes / "statistics.md").write_text(
            (synthetic_notes / "statistics.md").read_text(encoding="utf-8")
            + "\n\n## Added later\n\nA new section on the jackknife.\n",
            encoding="utf-8",
        )
        index_before = snapshot(data / "index" / "notes")
        fill_up(fs)
        kb = _synthetic_kb(data, synthetic_notes)
        with pytest.raises(KnowledgeError) as err:
            kb.ensure_index()
        kb.close()
        assert err.value.kind == "disk_full" and "is full" in err.value.message
        assert snapshot(data / "index" / "notes") == index_before
        assert not list((data / "index").glob(".notes-build-*"))
        (fs / "filler").unlink()
        kb = _synthetic_kb(data, synthetic_notes)
        kb.ensure_index()
        assert len(kb._note_chunks) == before_chunks + 1
        assert kb.search("jackknife", k=1)[0].topic == "statistics"
        kb.close()


def test_read_only_data_dir_is_a_clear_error(tmp_path: Path, synthetic_notes: Path) -> None:
    from ..fs_faults import make_read_only, small_tmpfs, snapshot

    with small_tmpfs("8m") as fs:
        data = fs / "data"
        kb = _synthetic_kb(data, synthetic_notes)
        kb.ensure_index()
        kb.close()
        before = snapshot(data)
        make_read_only(fs)
        kb = _synthetic_kb(data, synthetic_notes)
        with pytest.raises(KnowledgeError) as err:
            kb.search("eigenvalue")
        kb.close()
        assert err.value.kind == "read_only" and "read-only" in err.value.message
        assert snapshot(data) == before
        fresh = _synthetic_kb(fs / "never-created", synthetic_notes)
        with pytest.raises(KnowledgeError) as none:
            fresh.search("eigenvalue")
        assert none.value.kind == "read_only"


def test_collections_search_wide_enough_to_rank_the_same_in_every_process(tmp_path: Path) -> None:
    """A 40-candidate filtered search with Chroma's default width (100) changed its tail between
    processes; new collections get SEARCH_EF and one made before gets it when opened."""
    from mltutor.knowledge.index import SEARCH_EF, ChunkStore, persistent_client

    client = persistent_client(tmp_path / "db")
    fresh = ChunkStore(client, "fresh")
    assert fresh.collection.configuration["hnsw"]["ef_search"] == SEARCH_EF
    client.get_or_create_collection(
        name="old",
        embedding_function=UseEmbeddingFunction(),
        configuration={"hnsw": {"space": "cosine"}},
    )
    assert client.get_collection("old").configuration["hnsw"]["ef_search"] == 100
    ChunkStore(client, "old")
    assert client.get_collection("old").configuration["hnsw"]["ef_search"] == SEARCH_EF
