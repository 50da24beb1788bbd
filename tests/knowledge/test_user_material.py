"""The user's own material: add, re-add, list, remove, unreadable files, corrupt material index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from mltutor.knowledge.base import KnowledgeBase, open_knowledge_base
from mltutor.knowledge.errors import KnowledgeError

from ..fs_faults import MLTUTOR, cli_env
from .conftest import STUDY_GUIDE, Recorder

GUIDE_MD = """# My study guide

Intro paragraph about my notes.

## Bootstrap confidence intervals

Resample with replacement ten thousand times and take the 2.5 and 97.5 percentiles.

## Zebra gradient trick

The zebra trick: clip the gradient norm to five before each optimiser step.
"""


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a Helvetica text line per entry (enough for a text extractor)."""
    ops = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {ops} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def user_hits(kb: KnowledgeBase, query: str, k: int = 10) -> list[str]:
    return [h.citation for h in kb.search(query, k=k) if h.topic == "user"]


def test_add_search_list_remove(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    n = small_kb.add_user_file(f)
    assert n == 3
    hit = small_kb.search("zebra trick gradient clipping", k=1)[0]
    assert hit.topic == "user"
    assert hit.citation == "guide.md § Zebra gradient trick"
    assert hit.heading == "My study guide > Zebra gradient trick"
    assert hit.source == str(f.resolve())
    assert small_kb.search("zebra", k=3, topic="user")[0].topic == "user"
    assert all(h.topic == "calculus" for h in small_kb.search("zebra", k=3, topic="calculus"))

    (doc,) = small_kb.list_user_files()
    assert doc.path == f.resolve() and doc.chunks == 3 and len(doc.sha256) == 64
    assert doc.added_at.tzinfo is not None

    small_kb.remove_user_file(f)
    assert small_kb.list_user_files() == []
    assert user_hits(small_kb, "zebra trick") == []
    with pytest.raises(KnowledgeError, match="not in your material"):
        small_kb.remove_user_file(f)


def test_readd_unchanged_and_changed(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    assert small_kb.add_user_file(f) == 3
    assert small_kb.add_user_file(f) == 3  # unchanged: no duplicates
    assert len(user_hits(small_kb, "zebra bootstrap study guide")) == 3

    f.write_text(GUIDE_MD.replace("## Zebra gradient trick", "## Okapi momentum trick")
                 .replace("zebra", "okapi"), encoding="utf-8")  # fmt: skip
    assert small_kb.add_user_file(f) == 3
    cites = user_hits(small_kb, "okapi zebra bootstrap study guide")
    assert len(cites) == 3
    assert "guide.md § Okapi momentum trick" in cites
    assert "guide.md § Zebra gradient trick" not in cites
    (doc,) = small_kb.list_user_files()
    assert doc.chunks == 3


def test_changes_survive_reopen(
    small_kb: KnowledgeBase, tmp_path: Path, recorder: Recorder
) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    small_kb.add_user_file(f)
    small_kb.close()
    kb2 = open_knowledge_base(
        data_dir=small_kb.data_dir, chroma_url=None, progress=recorder,
        notes_dir=small_kb.notes_dir,
    )  # fmt: skip
    assert [d.path for d in kb2.list_user_files()] == [f.resolve()]
    assert kb2.search("zebra trick", k=1)[0].citation == "guide.md § Zebra gradient trick"
    kb2.close()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200), "binary"),
        ("latin1.txt", "caf\xe9 na\xefve".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"", "empty"),
        ("blank.txt", b"\n\n   \n", "empty"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_unreadable_file_keeps_existing_chunks(
    small_kb: KnowledgeBase, tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    good = tmp_path / "guide.md"
    good.write_text(GUIDE_MD, encoding="utf-8")
    small_kb.add_user_file(good)
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(KnowledgeError) as err:
        small_kb.add_user_file(bad)
    assert problem in err.value.message and name in err.value.message
    assert [d.path for d in small_kb.list_user_files()] == [good.resolve()]
    assert len(user_hits(small_kb, "zebra bootstrap study guide")) == 3


def test_replacing_with_unreadable_content_keeps_old_chunks(
    small_kb: KnowledgeBase, tmp_path: Path
) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    small_kb.add_user_file(f)
    f.write_bytes(b"\x00\x01binary now")
    with pytest.raises(KnowledgeError, match="binary"):
        small_kb.add_user_file(f)
    assert small_kb.search("zebra trick", k=1)[0].citation == "guide.md § Zebra gradient trick"


def test_missing_file_and_directory(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no such file"):
        small_kb.add_user_file(tmp_path / "nope.md")
    with pytest.raises(KnowledgeError, match="not a regular file"):
        small_kb.add_user_file(tmp_path)


def test_plain_text(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    txt = tmp_path / "notes.txt"
    txt.write_text(
        "1. Capybara statistics\n\nCapybara sampling explained.\n\n"
        "2. Other things\n\nSomething else.\n",
        encoding="utf-8",
    )
    assert small_kb.add_user_file(txt) == 2
    hit = small_kb.search("capybara sampling", k=1)[0]
    assert hit.citation == "notes.txt § 1. Capybara statistics"


def test_pdf(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(minimal_pdf(["Wombat regularisation lemma", "holds for all lambda"]))
    assert small_kb.add_user_file(pdf) == 1
    hit = small_kb.search("wombat regularisation", k=1)[0]
    assert hit.citation == "paper.pdf § page 1" and "Wombat" in hit.text


def test_corrupt_material_index_is_set_aside_and_readded(
    small_kb: KnowledgeBase, tmp_path: Path, recorder: Recorder
) -> None:
    keep, gone = tmp_path / "keep.md", tmp_path / "gone.md"
    keep.write_text(GUIDE_MD, encoding="utf-8")
    gone.write_text("# Gone\n\nAardvark material that will be deleted.\n", encoding="utf-8")
    small_kb.add_user_file(keep)
    small_kb.add_user_file(gone)
    small_kb.close()
    gone.unlink()
    (small_kb.index_dir / "user" / "chroma.sqlite3").write_bytes(os.urandom(32 * 1024))
    recorder.messages.clear()
    kb2 = open_knowledge_base(
        data_dir=small_kb.data_dir, chroma_url=None, progress=recorder,
        notes_dir=small_kb.notes_dir,
    )  # fmt: skip
    assert kb2.search("zebra trick", k=1)[0].citation == "keep.md § Zebra gradient trick"
    assert recorder.saw("your material index was unreadable")
    assert recorder.saw("re-add these files") and recorder.saw(str(gone.resolve()))
    asides = list(small_kb.index_dir.glob("user.unreadable-*"))
    assert len(asides) == 1 and (asides[0] / "chroma.sqlite3").exists()
    assert (asides[0] / "user-material.json").exists()
    assert [d.path for d in kb2.list_user_files()] == [keep.resolve()]
    kb2.close()


def test_damaged_manifest_is_rebuilt_from_index(
    small_kb: KnowledgeBase, tmp_path: Path, recorder: Recorder
) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    small_kb.add_user_file(f)
    small_kb.close()
    small_kb.manifest.path.write_text("{not json", encoding="utf-8")
    kb2 = open_knowledge_base(
        data_dir=small_kb.data_dir, chroma_url=None, progress=recorder,
        notes_dir=small_kb.notes_dir,
    )  # fmt: skip
    kb2.ensure_index()
    (doc,) = kb2.list_user_files()
    assert doc.path == f.resolve() and doc.chunks == 3
    kb2.close()


@pytest.mark.skipif(not STUDY_GUIDE.exists(), reason=f"{STUDY_GUIDE} not present")
def test_study_guide(small_kb: KnowledgeBase) -> None:
    n = small_kb.add_user_file(STUDY_GUIDE)
    assert n > 20
    hits = small_kb.search("Bonferroni Holm multiple testing correction", k=3, topic="user")
    assert hits and all(h.citation.startswith(f"{STUDY_GUIDE.name} § ") for h in hits)
    assert any("Multiple Testing" in h.heading for h in hits)
    (doc,) = small_kb.list_user_files()
    assert doc.chunks == n
    assert small_kb.add_user_file(STUDY_GUIDE) == n


def test_deleted_material_index_is_rebuilt_from_files(
    small_kb: KnowledgeBase, tmp_path: Path, recorder: Recorder
) -> None:
    import shutil

    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD, encoding="utf-8")
    small_kb.add_user_file(f)
    small_kb.close()
    shutil.rmtree(small_kb.index_dir / "user")
    recorder.messages.clear()
    kb2 = open_knowledge_base(
        data_dir=small_kb.data_dir,
        chroma_url=None,
        progress=recorder,
        notes_dir=small_kb.notes_dir,
    )
    assert kb2.search("zebra trick", k=1)[0].citation == "guide.md § Zebra gradient trick"
    assert recorder.saw("missing from the index")
    assert [d.chunks for d in kb2.list_user_files()] == [3]
    kb2.close()


# -- issue 15: encodings, sizes, symlink loops, interrupted adds --------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_decoded(
    small_kb: KnowledgeBase, tmp_path: Path, encoding: str
) -> None:
    import codecs

    bom = {"utf-16": b"", "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": b""}[encoding]
    f = tmp_path / "notes16.md"
    f.write_bytes(bom + GUIDE_MD.replace("zebra", "зебра").encode(encoding))
    assert f.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    assert small_kb.add_user_file(f) == 3
    hit = small_kb.search("зебра gradient trick", k=1, topic="user")[0]
    assert hit.citation == "notes16.md § Zebra gradient trick" and "зебра" in hit.text


def test_utf16_without_bom_is_refused_with_advice(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    f = tmp_path / "nobom.txt"
    f.write_bytes("plain words".encode("utf-16-le"))
    with pytest.raises(KnowledgeError, match="binary") as err:
        small_kb.add_user_file(f)
    assert "UTF-16" in err.value.message


def test_too_large_message_shows_exact_sizes(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    from mltutor.knowledge.user_material import MAX_BYTES

    f = tmp_path / "huge.txt"
    with open(f, "wb") as out:  # sparse: the size is real, the disk use is not
        out.truncate(MAX_BYTES + 1)
    with pytest.raises(KnowledgeError) as err:
        small_kb.add_user_file(f)
    message = err.value.message
    assert f"{MAX_BYTES + 1:,} bytes" in message and f"{MAX_BYTES:,} bytes" in message
    assert "(50 MiB; the limit is 50 MiB)" not in message


def test_symlink_loop_is_a_clear_error(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    loop = tmp_path / "loop.md"
    loop.symlink_to(loop)
    with pytest.raises(KnowledgeError, match="symlink loop") as err:
        small_kb.add_user_file(loop)
    assert str(loop) in err.value.message


def _interrupt_upserts_after(kb: KnowledgeBase, n: int, exc: BaseException) -> None:
    store = kb._ensure_user()
    real = store.collection.upsert
    calls = {"n": 0}

    def upsert(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] > n:
            raise exc
        return real(*args, **kwargs)

    store.collection.upsert = upsert


def big_text(tmp_path: Path, word: str, sections: int = 700) -> Path:
    f = tmp_path / f"{word}.txt"
    f.write_text(
        "\n\n".join(
            f"{i}. Part {i}\n\n{word} paragraph {i} " + "filler " * 40 for i in range(sections)
        ),
        encoding="utf-8",
    )
    return f


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("disk went away")])
def test_interrupted_add_is_rolled_back(
    tmp_path: Path, synthetic_notes: Path, recorder: Recorder, exc: BaseException
) -> None:
    from .conftest import random_embed

    kb = KnowledgeBase(
        data_dir=tmp_path / "data", chroma_url=None, progress=recorder, notes_dir=synthetic_notes,
        embed=random_embed,
    )  # fmt: skip
    good = tmp_path / "guide.md"
    good.write_text(GUIDE_MD, encoding="utf-8")
    kb.add_user_file(good)
    big = big_text(tmp_path, "okapi")
    _interrupt_upserts_after(kb, 1, exc)  # one batch of 256 written, then stop
    with pytest.raises(type(exc) if isinstance(exc, KeyboardInterrupt) else KnowledgeError):
        kb.add_user_file(big)
    if isinstance(exc, KeyboardInterrupt):
        assert recorder.saw("interrupted; nothing of it was added (rolled back)")
    assert [d.path for d in kb.list_user_files()] == [good.resolve()]
    assert kb._user is not None and kb._user.collection.count() == 3  # rolled back at once
    kb.close()
    kb2 = KnowledgeBase(
        data_dir=tmp_path / "data", chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
    )
    kb2.ensure_index()
    assert {c.source for c in kb2._user_chunks.values()} == {str(good.resolve())}
    assert kb2._user is not None and kb2._user.count() == 3
    kb2.close()


def test_interrupted_update_keeps_the_previous_version(
    tmp_path: Path, synthetic_notes: Path
) -> None:
    from .conftest import random_embed

    kb = KnowledgeBase(
        data_dir=tmp_path / "data", chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
    )
    f = big_text(tmp_path, "capybara", sections=700)  # 300 chunks: two batches
    n = kb.add_user_file(f)
    f.write_text(f.read_text(encoding="utf-8").replace("capybara", "platypus"), encoding="utf-8")
    _interrupt_upserts_after(kb, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        kb.add_user_file(f)
    (doc,) = kb.list_user_files()
    assert doc.chunks == n
    texts = [c.text for c in kb._user_chunks.values()]
    assert len(texts) == n and all("capybara" in t for t in texts)
    kb.close()


def test_readding_after_a_rollback_works(tmp_path: Path, synthetic_notes: Path) -> None:
    from .conftest import random_embed

    kb = KnowledgeBase(
        data_dir=tmp_path / "data", chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
    )
    f = big_text(tmp_path, "tapir", sections=700)
    _interrupt_upserts_after(kb, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        kb.add_user_file(f)
    kb.close()
    kb = KnowledgeBase(
        data_dir=tmp_path / "data", chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
    )
    n = kb.add_user_file(f)
    (doc,) = kb.list_user_files()
    assert doc.chunks == n == len(kb._user_chunks) == 300
    kb.close()


# -- the command line, in real processes ---------------------------------------------------------


def _cli(data: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MLTUTOR, *args], env=cli_env(data), capture_output=True, text=True, timeout=timeout
    )


def test_cli_add_symlink_loop_does_not_stop_the_other_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    loop = tmp_path / "loop.md"
    loop.symlink_to(loop)
    good = tmp_path / "guide.md"
    good.write_text(GUIDE_MD, encoding="utf-8")
    done = _cli(data, "knowledge", "add", str(loop), str(good))
    assert done.returncode == 2
    assert "symlink loop" in done.stderr and "Traceback" not in done.stderr
    assert f"added {good}: 3 chunks" in done.stdout
    listed = _cli(data, "knowledge", "list", "--json")
    assert [d["path"] for d in json.loads(listed.stdout)] == [str(good.resolve())]


def test_cli_ctrl_c_during_a_large_add_adds_nothing_of_that_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = tmp_path / "guide.md"
    good.write_text(GUIDE_MD, encoding="utf-8")
    big = big_text(tmp_path, "numbat", sections=8000)
    proc = subprocess.Popen(
        [*MLTUTOR, "knowledge", "add", str(good), str(big)],
        env=cli_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # wait until the big file is being embedded
        seen.append(line)
        if f"chunks of {big.name}" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted" in err and "Traceback" not in err
    assert f"added {good}: 3 chunks" in out
    listed = _cli(data, "knowledge", "list", "--json")
    assert [d["path"] for d in json.loads(listed.stdout)] == [str(good.resolve())]
    from mltutor.knowledge.index import (
        USER_COLLECTION,
        ChunkStore,
        persistent_client,
        release_local,
    )

    store_dir = data / "index" / "user"
    store = ChunkStore(persistent_client(store_dir), USER_COLLECTION)
    sources = {m["source"] for m in store.get_all(["metadatas"])["metadatas"]}
    release_local(store_dir)
    assert sources == {str(good.resolve())}


def test_add_on_a_full_disk_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, synthetic_notes: Path
) -> None:
    from ..fs_faults import fill_up, small_tmpfs, snapshot
    from .conftest import random_embed

    with small_tmpfs("8m") as fs:
        data = fs / "data"
        kb = KnowledgeBase(
            data_dir=data, chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
        )
        good = tmp_path / "guide.md"
        good.write_text(GUIDE_MD, encoding="utf-8")
        kb.add_user_file(good)
        kb.close()
        fill_up(fs)
        before = snapshot(data / "index")
        big = big_text(tmp_path, "dugong")
        kb = KnowledgeBase(
            data_dir=data, chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
        )
        with pytest.raises(KnowledgeError) as err:
            kb.add_user_file(big)
        kb.close()
        assert err.value.kind == "disk_full", err.value.message
        assert "is full" in err.value.message and "Traceback" not in err.value.message
        (fs / "filler").unlink()
        kb = KnowledgeBase(
            data_dir=data, chroma_url=None, notes_dir=synthetic_notes, embed=random_embed
        )
        assert [d.path for d in kb.list_user_files()] == [good.resolve()]
        kb.ensure_index()
        assert {c.source for c in kb._user_chunks.values()} == {str(good.resolve())}
        assert snapshot(data / "index")["user-material.json"] == before["user-material.json"]
        kb.close()
