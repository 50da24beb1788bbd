"""Loading the bundled topic notes (``knowledge/notes/<slug>.md``: YAML front matter + Markdown).

The format is described in ``docs/notes-format.md``. Everything that reads notes goes through
:func:`load_notes` so that a malformed file always fails the same way: a :class:`KnowledgeError`
naming the file and the problem, never a YAML or pydantic traceback.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mltutor.knowledge.errors import KnowledgeError
from mltutor.knowledge.questions import Question

NOTE_SUFFIX = ".md"

# The C loader is the same safe loader, about 10x faster; fall back when libyaml is missing.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundled_notes_dir() -> Path:
    """The notes shipped inside the package: the single place that knows where they live."""
    return Path(str(resources.files("mltutor.knowledge") / "notes"))


def resolve_notes_dir(notes_dir: Path | None) -> Path:
    """``notes_dir`` if given (tests, authors' previews), else the bundled notes."""
    return Path(notes_dir) if notes_dir is not None else bundled_notes_dir()


def note_files(notes_dir: Path | None = None) -> list[Path]:
    """The note files in sorted order, so hashes and chunk order do not depend on the OS."""
    root = resolve_notes_dir(notes_dir)
    if not root.is_dir():
        raise KnowledgeError(f"notes directory {root} does not exist")
    return sorted(p for p in root.iterdir() if p.suffix == NOTE_SUFFIX and p.is_file())


def notes_fingerprint(notes_dir: Path | None = None) -> str:
    """SHA-256 of the notes' names and bytes: no YAML parsing, so an unchanged index opens fast."""
    digest = hashlib.sha256()
    for path in note_files(notes_dir):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class Note(BaseModel):
    """One topic note: front matter fields plus the Markdown body."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    slug: str = Field(min_length=1)
    """Topic id, exactly the file name without ``.md``."""
    title: str = Field(min_length=1)
    """English title."""
    title_ru: str = ""
    """Russian title."""
    aliases: list[str] = Field(default_factory=list)
    """Names a learner may use for the topic, English and Russian."""
    keywords_en: list[str] = Field(default_factory=list)
    """English terms the note covers (they route queries to the topic)."""
    keywords_ru: list[str] = Field(default_factory=list)
    """Russian terms the note covers."""
    checks: list[str] = Field(default_factory=list)
    """Derivations the derivation checker must accept (run by a test)."""
    questions: list[Question] = Field(default_factory=list)
    """The note's interview questions, in file order."""
    body: str = ""
    """The Markdown after the front matter."""
    path: Path
    """Where the note was read from."""

    @property
    def source(self) -> str:
        """A location-independent name for citations and chunk ids (``notes/<slug>.md``)."""
        return f"notes/{self.path.name}"


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Split ``---\\n<yaml>\\n---\\n<body>``; ``None`` if the file does not start with it."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---", 3)
    while end != -1:
        after = end + len("\n---")
        if after == len(text) or text[after] == "\n":
            return text[4 : end + 1], text[after + 1 :]
        end = text.find("\n---", after)
    return None


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "front matter"
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_note(path: Path) -> Note:
    """Parse one note file; every problem becomes a KnowledgeError that names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"note {path}: cannot be read ({exc})") from exc
    parts = split_front_matter(text)
    if parts is None:
        raise KnowledgeError(
            f"note {path}: missing YAML front matter (the file must start with ---)"
        )
    raw_yaml, body = parts
    try:
        meta = yaml.load(raw_yaml, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"note {path}: invalid YAML front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise KnowledgeError(f"note {path}: front matter must be a YAML mapping")
    slug = meta.get("slug")
    if slug != path.stem:
        raise KnowledgeError(f"note {path}: slug {slug!r} must equal the file name {path.stem!r}")
    questions = meta.get("questions") or []
    if isinstance(questions, list):
        questions = [{**q, "topic": slug} if isinstance(q, dict) else q for q in questions]
    try:
        return Note.model_validate({**meta, "questions": questions, "body": body, "path": path})
    except ValidationError as exc:
        raise KnowledgeError(f"note {path}: {_format_validation_error(exc)}") from exc


def load_notes(notes_dir: Path | None = None) -> list[Note]:
    """All notes, sorted by slug. ``notes_dir`` defaults to the notes bundled with the package."""
    return [parse_note(p) for p in note_files(notes_dir)]
