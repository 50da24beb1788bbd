"""Issue 15: hostile files for ``knowledge add``. Every file is either indexed whole and listed with
the chunk count it has in the index, or refused with a KnowledgeError that names it and leaves
nothing of it behind; one bad file never stops the others, and no input is a traceback.

Random contents (hypothesis, bounded example count) go through the knowledge base in-process with a
fast stand-in embedder (this is about storage and decoding, not relevance); one mixed list of the
known hostile cases goes through the command line.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mltutor.knowledge.base import KnowledgeBase
from mltutor.knowledge.errors import KnowledgeError

from ..fs_faults import MLTUTOR, cli_env
from .conftest import random_embed, write_synthetic_notes

SUFFIXES = [".md", ".txt", ".markdown", ".pdf", ".rst", ""]

text_bodies = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400
)  # any code point a file can hold; lone surrogates come in as bytes below
odd_pieces = st.sampled_from(
    [
        "# Heading\n\n",
        "## Sub\n\n",
        "\u202e\u05e2\u05d1\u05e8\u05d9\u05ea \u0645\u0631\u062d\u0628\u0627\u200f",  # RTL
        "\u2028\u2029\u0085",
        "\x00",
        "\r\n",
        "$$\\int_0^1 x\\,dx$$",
        "__import__('os').system('touch /tmp/pwned')",
        "---\ntitle: x\n---\n",
        "```python\nprint(1)\n```\n",
        "\ufeff",
        "word " * 300,
    ]
)
texts = st.lists(st.one_of(text_bodies, odd_pieces), max_size=6).map("".join)


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    """Bytes a user might hand to ``knowledge add``: text in some encoding, or anything at all."""
    kind = draw(st.sampled_from(["utf8", "utf8-sig", "utf16", "utf16-nobom", "utf32", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=600))
    body = draw(texts)
    if kind == "utf8":
        data = body.encode("utf-8")
        if draw(st.booleans()):  # a lone surrogate as CESU-8 bytes, or a cut multi-byte sequence
            data += draw(st.sampled_from([b"\xed\xa0\x80", b"\xe2\x82", b"\xff\xfe\xfd"]))
        return data
    if kind == "utf8-sig":
        return codecs.BOM_UTF8 + body.encode("utf-8")
    if kind == "utf16":
        return body.encode("utf-16")  # with a byte-order mark
    if kind == "utf16-nobom":
        return body.encode("utf-16-le")
    return body.encode("utf-32")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("hostile-add")
    notes = write_synthetic_notes(root / "notes")
    base = KnowledgeBase(
        data_dir=root / "data", chroma_url=None, notes_dir=notes, embed=random_embed
    )
    yield base
    base.close()


def _listed(kb: KnowledgeBase) -> dict[str, int]:
    return {str(d.path): d.chunks for d in kb.list_user_files()}


def _indexed(kb: KnowledgeBase, path: Path) -> int:
    return sum(1 for c in kb.material.chunks.values() if c.source == str(path))


def _assert_all_or_nothing(kb: KnowledgeBase, path: Path, outcome: int | KnowledgeError) -> None:
    key = path.resolve()
    if isinstance(outcome, KnowledgeError):
        assert str(path.name) in outcome.message or path.name.encode() in outcome.message.encode()
        assert "Traceback" not in outcome.message
        assert str(key) not in _listed(kb)
        assert _indexed(kb, key) == 0
    else:
        assert outcome >= 1
        assert _listed(kb)[str(key)] == outcome == _indexed(kb, key)


_counter = iter(range(10**9))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=file_bytes(), suffix=st.sampled_from(SUFFIXES))
def test_any_file_is_indexed_whole_or_refused_cleanly(
    kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    folder = tmp_path_factory.getbasetemp() / "hostile-files"
    folder.mkdir(exist_ok=True)
    path = folder / f"f{next(_counter)}{suffix}"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        outcome: int | KnowledgeError = kb.add_user_file(path)
    except KnowledgeError as exc:
        outcome = exc
    assert time.perf_counter() - start < 10
    event("added" if isinstance(outcome, int) else outcome.message.split(": ", 1)[-1][:25])
    _assert_all_or_nothing(kb, path, outcome)
    assert not Path("/tmp/pwned").exists()


def test_nul_bytes_after_the_sniffed_prefix_are_indexed_and_searchable(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The binary sniff looks at the first 8 KiB only; a NUL later on must not break the store."""
    path = tmp_path / "late-nul.md"
    path.write_bytes(b"# Late\n\n" + b"zebra words " * 900 + b"\x00 quokka after the nul\n")
    n = kb.add_user_file(path)
    _assert_all_or_nothing(kb, path, n)
    assert any("quokka" in h.text for h in kb.search("quokka after the nul", k=5))


def test_a_name_that_is_not_utf8_is_refused_and_the_store_still_works(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Found here: a file name with non-UTF-8 bytes crashed the add with UnicodeEncodeError."""
    raw = os.path.join(os.fsencode(tmp_path), b"bad\xffname.md")
    with open(raw, "wb") as f:
        f.write(b"# Title\n\nsome text here\n")
    path = Path(os.fsdecode(raw))
    with pytest.raises(KnowledgeError, match="not valid UTF-8") as err:
        kb.add_user_file(path)
    err.value.message.encode("utf-8")  # printable, JSON-able: no surrogates in the message
    good = tmp_path / "good.md"
    good.write_text("# Good\n\ntext\n", encoding="utf-8")
    assert kb.add_user_file(good) == 1


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MLTUTOR, *args], env=cli_env(data), capture_output=True, text=True, timeout=300
    )


def test_cli_mixed_hostile_files_each_get_a_clear_answer(tmp_path: Path) -> None:
    """One command with every kind of bad path between good ones: the good ones are added and
    listed, each bad one gets a one-line error naming it, exit 2, no traceback."""
    d = tmp_path / "in"
    d.mkdir()
    good1, good2 = d / "a-good.md", d / "z-good.txt"
    good1.write_text("# Good\n\nThe zebra trick clips gradients.\n", encoding="utf-8")
    good2.write_bytes("Обычный текст по-русски.\n".encode("utf-16"))  # UTF-16 with a BOM: fine
    bad: dict[str, Path] = {
        "binary": d / "image.png",
        "empty": d / "empty.md",
        "symlink loop": d / "loop.md",
        "not a regular file": d / "folder",
        "fifo": d / "pipe.txt",
        "too large": d / "huge.txt",
        "no such file": d / "missing.md",
        "utf16 without bom": d / "nobom.txt",
    }
    bad["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    bad["empty"].write_bytes(b"")
    bad["symlink loop"].symlink_to(bad["symlink loop"])
    bad["not a regular file"].mkdir()
    (bad["not a regular file"] / "inside.md").write_text("# In\n\nx\n", encoding="utf-8")
    os.mkfifo(bad["fifo"])
    with bad["too large"].open("wb") as f:  # sparse: 60 MiB on paper, nothing on disk
        f.truncate(60 * 2**20)
    bad["utf16 without bom"].write_bytes("plain words".encode("utf-16-le"))
    paths = [good1, *bad.values(), good2]
    data = tmp_path / "data"
    start = time.perf_counter()
    done = _cli(data, "knowledge", "add", *map(str, paths))
    assert time.perf_counter() - start < 120
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("mltutor: error:")]
    for what, path in bad.items():
        assert sum(str(path) in line for line in errors) == 1, (what, done.stderr)
    added = [line for line in done.stdout.splitlines() if line.startswith("added ")]
    assert [line.split(":")[0] for line in added] == [f"added {good1}", f"added {good2}"]
    listed = _cli(data, "knowledge", "list", "--json")
    assert listed.returncode == 0
    docs = {d["path"]: d["chunks"] for d in json.loads(listed.stdout)}
    assert set(docs) == {str(good1.resolve()), str(good2.resolve())}
    for line in added:
        name, count = line.removeprefix("added ").rsplit(": ", 1)
        assert docs[str(Path(name).resolve())] == int(count.split()[0])
