"""The user's own study material: reading files, chunking them, and the manifest of what was added.

The manifest (a small JSON file next to the index) is the record of which files the user added. It
is what ``knowledge list`` shows and what lets us name the files to re-add if the material index is
ever lost, so it is written atomically and only after the chunks are safely in the index.
"""

from __future__ import annotations

import codecs
import dataclasses
import errno
import hashlib
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from mltutor.knowledge.chunking import (
    USER_TOPIC,
    Chunk,
    build_chunks,
    markdown_sections,
    plain_text_sections,
)
from mltutor.knowledge.errors import KnowledgeError, storage_failure
from mltutor.knowledge.notes import split_front_matter

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
PDF_SUFFIX = ".pdf"
MAX_BYTES = 50 * 1024 * 1024
PLAIN_HEADING = "Text"


MANIFEST_NAME = "user-material.json"


def manifest_name(chroma_url: str | None) -> str:
    """One manifest per backend: material added to a server is not in the local index."""
    if not chroma_url:
        return MANIFEST_NAME
    tag = re.sub(r"[^A-Za-z0-9]+", "-", chroma_url.split("://", 1)[-1]).strip("-")
    return f"user-material-{tag}.json"


class UserDoc(BaseModel):
    """One added file as recorded in the manifest."""

    model_config = ConfigDict(frozen=True)

    path: Path
    chunks: int
    added_at: datetime
    sha256: str


def canonical(path: Path) -> Path:
    """The key a file is known by: absolute, symlinks resolved (need not exist, for ``remove``)."""
    try:
        resolved = Path(os.path.expanduser(path)).resolve(strict=False)
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError for a loop
        if "loop" in str(exc).lower() or getattr(exc, "errno", None) == errno.ELOOP:
            raise KnowledgeError(f"{path}: is a symlink loop (it points back to itself)") from exc
        raise KnowledgeError(f"{path}: cannot be resolved ({exc})") from exc
    try:
        str(resolved).encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes that are not UTF-8 in a name (surrogate escapes)
        shown = os.fsencode(resolved).decode("utf-8", "replace")
        raise KnowledgeError(
            f"{shown}: the file name is not valid UTF-8; rename the file and add it again"
        ) from exc
    return resolved


def _size_text(n: int) -> str:
    return f"{n:,} bytes" + (f" = {n / 2**20:.2f} MiB" if n >= 2**20 else "")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a KnowledgeError saying why they cannot be had.

    The size limit holds before anything is read, and again while reading (a file that grows, or
    a device that never ends, is cut off at the limit).
    """
    if not path.exists():
        raise KnowledgeError(f"{path}: no such file")
    if not path.is_file():
        raise KnowledgeError(f"{path}: not a regular file (give Markdown, text or PDF files)")
    too_large = f"{path}: too large ({{}}; the limit is {_size_text(MAX_BYTES)})"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise KnowledgeError(too_large.format(_size_text(size)))
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise KnowledgeError(too_large.format(f"more than {_size_text(MAX_BYTES)}"))
    return data


_BOMS = (  # longest first: the UTF-32-LE mark starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(path: Path, data: bytes) -> str:
    """Text in UTF-8, or UTF-16/32 with a byte-order mark; binary files are refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise KnowledgeError(
                    f"{path}: starts like {encoding.upper()} text but is not valid "
                    f"{encoding.upper()} (byte {exc.start})"
                ) from exc
    if b"\0" in data[:8192]:
        raise KnowledgeError(
            f"{path}: looks like a binary file; add Markdown, plain text or PDF (UTF-16 text "
            "needs a byte-order mark, or convert it: iconv -f utf-16le -t utf-8 FILE > FILE.txt)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeError(
            f"{path}: is not UTF-8 text (byte {exc.start}); convert it, "
            "e.g. iconv -f cp1251 -t utf-8 FILE > FILE.utf8"
        ) from exc


def pdf_pages(path: Path, data: bytes) -> list[str]:
    """Text of each PDF page (pypdf); scanned PDFs without a text layer are refused."""
    try:
        from io import BytesIO

        from pypdf import PdfReader
    except ImportError as exc:
        raise KnowledgeError(f"{path}: PDF support needs the pypdf package") from exc
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted:
            raise KnowledgeError(f"{path}: the PDF is encrypted; export an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except KnowledgeError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise KnowledgeError(f"{path}: cannot parse the PDF ({exc})") from exc
    if not any(p.strip() for p in pages):
        raise KnowledgeError(f"{path}: the PDF has no text layer (scanned?); nothing to index")
    return pages


def chunk_user_file(path: Path, data: bytes) -> list[Chunk]:
    """Chunks of one user file, cited as ``<file name> § <heading>``."""
    source = str(path)
    title = path.name
    suffix = path.suffix.lower()
    if suffix == PDF_SUFFIX:
        sections = [([f"page {i}"], text) for i, text in enumerate(pdf_pages(path, data), 1)]
    else:
        text = decode_text(path, data)
        if suffix in MARKDOWN_SUFFIXES:
            parts = split_front_matter(text)
            sections = markdown_sections(parts[1] if parts else text, max_level=3)
        else:
            sections = plain_text_sections(text)
    chunks = build_chunks(
        sections,
        topic=USER_TOPIC,
        title=title,
        source=source,
        kind="user",
        default_heading=PLAIN_HEADING,
    )
    if not chunks:
        raise KnowledgeError(f"{path}: is empty; nothing to index")
    return chunks


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


GEN_CHARS = 12
"""Hex digits of the file's SHA-256 appended to its chunk ids (see :func:`tag_generation`)."""


def tag_generation(chunks: list[Chunk], digest: str) -> list[Chunk]:
    """Give one version of a file's chunks their own ids (``<id>@<sha prefix>``).

    A changed file's new chunks then never overwrite the old ones: the old version stays whole
    until the new one is completely written and committed in the manifest, so an interrupted add
    can always be rolled back.
    """
    tag = digest[:GEN_CHARS]
    return [dataclasses.replace(c, id=f"{c.id}@{tag}") for c in chunks]


class Manifest:
    """The JSON list of added files, keyed by canonical path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.docs: dict[str, UserDoc] = {}
        self.unreadable = False
        self._load()

    def reload(self) -> None:
        """Read the file again (another process may have changed it)."""
        self.docs, self.unreadable = {}, False
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            docs = [UserDoc.model_validate(d) for d in raw]
        except (OSError, ValueError, ValidationError, TypeError):
            # A damaged manifest must not block search; the index is still the source of truth.
            self.unreadable = True
            return
        self.docs = {str(d.path): d for d in docs}

    def list(self) -> list[UserDoc]:
        return sorted(self.docs.values(), key=lambda d: str(d.path))

    def get(self, path: Path) -> UserDoc | None:
        return self.docs.get(str(path))

    def put(self, path: Path, chunks: int, sha256: str) -> UserDoc:
        """Record a file as added (saved at once; unchanged in memory if saving fails)."""
        doc = UserDoc(path=path, chunks=chunks, added_at=datetime.now(UTC), sha256=sha256)
        self._change(str(path), doc)
        return doc

    def remove(self, path: Path) -> None:
        self._change(str(path), None)

    def _change(self, key: str, doc: UserDoc | None) -> None:
        before = self.docs.get(key)
        if doc is None:
            self.docs.pop(key, None)
        else:
            self.docs[key] = doc
        try:
            self.save()
        except BaseException:
            if before is None:
                self.docs.pop(key, None)
            else:
                self.docs[key] = before
            raise

    def clear(self) -> None:
        self.docs.clear()
        self.save()

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a manifest."""
        data = json.dumps(
            [d.model_dump(mode="json") for d in self.list()], ensure_ascii=False, indent=1
        )
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".manifest-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise storage_failure(
                exc, self.path, "the list of your material", prefix=f"cannot write {self.path}: "
            ) from exc
