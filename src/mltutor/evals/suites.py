"""Eval suites: the JSONL schema (one case per line), loading with line-numbered errors, selection.

A suite holds cases of one kind (see ``docs/eval-suites.md``):

- ``qa``: an interview question, optionally with its reference answer and key points (or the id of the
  bank question it is), scored by the grader;
- ``derivation``: a derivation as steps and the first wrong step (none when every step holds);
- ``retrieval``: a query and the topic its answer lives in;
- ``grading``: a question with answers of known band, to measure the grader itself.

Every line is validated before anything runs: a bad line is reported as ``file:line: what is wrong``
(all of them at once), never discovered in the middle of a run.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from mltutor.evals.errors import SuiteError

Kind = Literal["qa", "derivation", "retrieval", "grading"]
KINDS: tuple[Kind, ...] = ("qa", "derivation", "retrieval", "grading")
Band = Literal["good", "partial", "wrong"]
BAND_ORDER: dict[str, int] = {"good": 2, "partial": 1, "wrong": 0}
"""Higher is better: a grader must score a good answer above a partial one above a wrong one."""

MAX_PROBLEMS_SHOWN = 20
"""Bad lines listed in a :class:`SuiteError` message (all are kept in ``problems``)."""
MAX_SUITE_BYTES = 64 * 2**20
"""Largest suite file read (the bundled ones are under 1 MiB); more is refused before reading it."""


class _Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    id: str = Field(default="", max_length=200)
    """Unique within the suite; defaults to ``L<line number>``. Runs and comparisons pair cases by it."""
    topic: str = ""
    """Topic slug (``calculus``, ...): reports group by it."""
    language: Literal["en", "ru"] = "en"
    """Language of the case text: reports group by it."""

    @property
    def difficulty_label(self) -> str:
        """Difficulty for grouping (``-`` when the kind has none)."""
        return "-"


class QACase(_Case):
    """An interview question for the tutor (or the raw model) to answer."""

    kind: Literal["qa"]
    question: str = Field(min_length=1, max_length=20_000)
    """The question as asked."""
    difficulty: Literal["easy", "medium", "hard"] | None = None
    """How hard it is."""
    bank_id: str | None = None
    """The bank question it is: the grader uses its rubric, and the tutor's retrieval never sees that
    question's own chunk (reference answer and key points)."""
    reference_answer: str = ""
    """A complete answer (used for the rubric when ``bank_id`` is not given)."""
    key_points: list[str] = Field(default_factory=list)
    """Short checkable statements a good answer contains (the rubric when ``bank_id`` is not given)."""

    @property
    def difficulty_label(self) -> str:
        return self.difficulty or "-"


class DerivationCase(_Case):
    """A derivation, one step per line, and where it first goes wrong."""

    kind: Literal["derivation"]
    steps: list[str] = Field(min_length=1, max_length=200)
    """The derivation's lines in order."""
    first_wrong_step: int | None = Field(default=None, ge=1)
    """1-based line of the first wrong step; ``null`` when every step holds."""
    notation: str = ""
    """How it is written (plain, unicode, latex); informative only."""

    @model_validator(mode="after")
    def _step_exists(self) -> Self:
        if self.first_wrong_step is not None and self.first_wrong_step > len(self.steps):
            raise ValueError(
                f"first_wrong_step is {self.first_wrong_step} but there are only "
                f"{len(self.steps)} steps"
            )
        return self

    @property
    def text(self) -> str:
        """The derivation as one text, a step per line."""
        return "\n".join(self.steps)


class RetrievalCase(_Case):
    """A search query and the topic that answers it."""

    kind: Literal["retrieval"]
    query: str = Field(min_length=1, max_length=2000)
    """What a learner would type."""
    topic: str = Field(min_length=1)
    """The topic whose notes answer the query."""


class GradedAnswer(BaseModel):
    """One answer of known quality."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    band: Band
    """How good it is: good, partial or wrong."""
    text: str
    """The answer as a candidate wrote it."""


class GradingCase(_Case):
    """A question with answers of known band: the grader should order them like an interviewer."""

    kind: Literal["grading"]
    question: str = Field(min_length=1)
    """The question."""
    answers: list[GradedAnswer] = Field(min_length=2)
    """Answers of at least two different bands."""
    bank_id: str | None = None
    """The bank question it corresponds to, if any."""
    split: str = ""
    """Informative (e.g. ``tune``/``report`` in the bundled grading set)."""
    notes: str = ""
    """What makes each answer what it is (informative)."""

    @model_validator(mode="after")
    def _bands_differ(self) -> Self:
        if len({a.band for a in self.answers}) < 2:
            raise ValueError("answers need at least two different bands to be ordered")
        return self


Case = Annotated[QACase | DerivationCase | RetrievalCase | GradingCase, Field(discriminator="kind")]
AnyCase = QACase | DerivationCase | RetrievalCase | GradingCase
_CASE = TypeAdapter(Case)


class Suite(BaseModel):
    """A loaded suite: its cases (all of one kind) and where they came from."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    """Bundled name or file stem."""
    source: str
    """Bundled name (``bundled:bank``) or the absolute file path."""
    kind: Kind
    """The kind of every case."""
    cases: list[AnyCase]
    """The cases, in file order."""

    @property
    def hash(self) -> str:
        """sha256 over the canonical JSON of every case: two runs with one hash saw the same cases."""
        return cases_hash(self.cases)

    def by_id(self) -> dict[str, AnyCase]:
        """Cases by id."""
        return {c.id: c for c in self.cases}


def cases_hash(cases: Iterable[AnyCase]) -> str:
    """sha256 of the cases' canonical JSON (sorted keys, one case per line)."""
    h = hashlib.sha256()
    for case in cases:
        h.update(json.dumps(case.model_dump(mode="json"), sort_keys=True).encode())
        h.update(b"\n")
    return h.hexdigest()


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"][1:] if p != "") or "value"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_case(data: object, default_id: str) -> AnyCase:
    """A case from decoded JSON; raises ValidationError (``id`` defaults to ``default_id``)."""
    if isinstance(data, dict) and not data.get("id"):
        data = {**data, "id": default_id}
    case: AnyCase = _CASE.validate_python(data)
    return case


def parse_lines(lines: Sequence[str], label: str) -> list[AnyCase]:
    """Cases from JSONL lines; blank lines and ``#`` comments are skipped.

    Raises :class:`SuiteError` listing every bad line as ``label:line: what``, including duplicate
    ids and a kind that differs from the first case's.
    """
    cases: list[AnyCase] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    kind: str | None = None
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{label}:{lineno}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except (RecursionError, ValueError) as exc:  # nested too deep; an integer too long
            what = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
            problems.append(f"{where}: not usable JSON ({what})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: a case must be a JSON object, got {type(data).__name__}")
            continue
        try:  # a lone \\udXXX escape decodes to text that cannot be written back as UTF-8
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{where}: a string has a lone surrogate escape (\\ud800-\\udfff)")
            continue
        if data.get("kind") not in KINDS:
            problems.append(
                f"{where}: kind must be one of {', '.join(KINDS)} (got {data.get('kind')!r})"
            )
            continue
        try:
            case = parse_case(data, f"L{lineno}")
        except ValidationError as exc:
            problems.append(f"{where}: {_describe(exc)}")
            continue
        if kind is None:
            kind = case.kind
        elif case.kind != kind:
            problems.append(
                f"{where}: kind {case.kind!r} in a {kind!r} suite (one kind per suite file)"
            )
            continue
        if case.id in first_line:
            problems.append(
                f"{where}: duplicate id {case.id!r} (first on line {first_line[case.id]})"
            )
            continue
        first_line[case.id] = lineno
        cases.append(case)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        message = (
            f"{label}: {len(problems)} bad line(s); fix them and run again:\n  "
            + "\n  ".join(shown)
        )
        if more:
            message += f"\n  ... and {more} more"
        raise SuiteError(message, problems)
    if not cases:
        raise SuiteError(f"{label}: no cases (a suite is JSON Lines, one case per line)")
    return cases


def load_file(path: Path) -> Suite:
    """A user's suite file (JSONL). Raises :class:`SuiteError` naming the file and any bad lines.

    Lines end at a line feed only (CRLF too): a U+2028 or U+0085 inside a JSON string is text, not a
    line break. At most :data:`MAX_SUITE_BYTES` are read."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SUITE_BYTES + 1)
    except OSError as exc:
        raise SuiteError(f"cannot read suite {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SUITE_BYTES:
        raise SuiteError(
            f"suite {path} is larger than {MAX_SUITE_BYTES // 2**20} MiB; split it into smaller files"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SuiteError(f"{path}:{line}: not UTF-8 text") from exc
    cases = parse_lines(text.split("\n"), str(path))
    return Suite(name=path.stem, source=str(path.resolve()), kind=cases[0].kind, cases=cases)


class Selection(BaseModel):
    """Which cases of a suite a run uses."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    topics: list[str] = Field(default_factory=list)
    """Only these topics (empty: all)."""
    language: str | None = None
    """Only this language."""
    per_topic: int | None = Field(default=None, ge=1)
    """At most this many cases per topic: the first ones in suite order."""
    limit: int | None = Field(default=None, ge=1)
    """At most this many cases, drawn with ``seed`` (kept in suite order)."""
    seed: int = 0
    """Seed of the draw (and recorded for reproducibility)."""


def select(cases: Sequence[AnyCase], selection: Selection) -> list[AnyCase]:
    """The cases a run uses, in suite order. Raises :class:`SuiteError` when nothing is left."""
    chosen = list(cases)
    if selection.topics:
        known = {c.topic for c in cases}
        unknown = [t for t in selection.topics if t not in known]
        if unknown:
            raise SuiteError(
                f"no cases with topic {', '.join(unknown)}; topics in this suite: "
                + ", ".join(sorted(known))
            )
        chosen = [c for c in chosen if c.topic in selection.topics]
    if selection.language:
        chosen = [c for c in chosen if c.language == selection.language]
    if selection.per_topic is not None:
        counts: dict[str, int] = {}
        kept = []
        for c in chosen:
            if counts.get(c.topic, 0) < selection.per_topic:
                counts[c.topic] = counts.get(c.topic, 0) + 1
                kept.append(c)
        chosen = kept
    if selection.limit is not None and selection.limit < len(chosen):
        picked = random.Random(selection.seed).sample(range(len(chosen)), selection.limit)
        chosen = [chosen[i] for i in sorted(picked)]
    if not chosen:
        raise SuiteError("the selection leaves no cases (check --topics, --language, --limit)")
    return chosen


__all__ = [
    "BAND_ORDER",
    "KINDS",
    "AnyCase",
    "Case",
    "DerivationCase",
    "GradedAnswer",
    "GradingCase",
    "Kind",
    "QACase",
    "RetrievalCase",
    "Selection",
    "Suite",
    "cases_hash",
    "load_file",
    "parse_case",
    "parse_lines",
    "select",
]
