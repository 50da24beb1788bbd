"""The user's own material: add, re-add, list, remove, unreadable files, corrupt material index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mltutor.knowledge.base import KnowledgeBase, open_knowledge_base
from mltutor.knowledge.errors import KnowledgeError

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
