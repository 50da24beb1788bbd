"""The bundled suites: the question bank, the checker's derivations, the retrieval queries, the grading set.

Each has one source of truth and is read from it, never copied: ``bank`` from the notes' questions
(English, plus Russian where the note has it), ``retrieval`` from ``retrieval_queries_*.jsonl`` (the
files :mod:`mltutor.evals.retrieval_eval` uses), ``grading`` from ``grading.jsonl``, ``conceptual``
from ``conceptual_{tune,report}.jsonl`` (each split is also a suite of its own, ``conceptual-tune``
and ``conceptual-report``). ``derivations`` is ``data/derivations.jsonl``, converted from the
checker's test corpora (a test keeps the two equal).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mltutor.evals.errors import SuiteError
from mltutor.evals.suites import (
    AnyCase,
    GradingCase,
    Kind,
    QACase,
    RetrievalCase,
    Suite,
    load_file,
    parse_case,
    parse_lines,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


class BundledSuite(BaseModel):
    """A suite that ships with mltutor."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    """What to pass to ``mltutor eval run``."""
    kind: Kind
    """Kind of its cases."""
    description: str
    """One line for ``mltutor eval list``."""


def _bank_cases() -> list[AnyCase]:
    from mltutor.knowledge.bank import load_questions

    out: list[AnyCase] = []
    for q in load_questions():
        for lang in ("en", "ru") if q.has_russian else ("en",):
            out.append(
                QACase(
                    kind="qa",
                    id=q.id if lang == "en" else f"{q.id}:ru",
                    topic=q.topic,
                    language=lang,
                    difficulty=q.difficulty,
                    question=q.text_in(lang),
                    bank_id=q.id,
                    reference_answer=q.reference_in(lang),
                    key_points=q.key_points_in(lang),
                )
            )
    return out


def _derivation_cases() -> list[AnyCase]:
    path = DATA_DIR / "derivations.jsonl"
    return parse_lines(path.read_text(encoding="utf-8").splitlines(), str(path))


def _retrieval_cases() -> list[AnyCase]:
    from mltutor.evals.retrieval_eval import eval_files, load_queries

    out: list[AnyCase] = []
    for path in eval_files(DATA_DIR):
        prefix = path.stem.removeprefix("retrieval_queries_")
        try:
            queries = load_queries([path])
        except ValueError as exc:
            raise SuiteError(str(exc)) from exc
        for i, q in enumerate(queries, 1):
            language = "ru" if q.lang == "ru" else "en"
            out.append(
                RetrievalCase(
                    kind="retrieval",
                    id=f"{prefix}-{i}",
                    query=q.query,
                    topic=q.topic,
                    language=language,
                )
            )
    return out


def _grading_cases() -> list[AnyCase]:
    path = DATA_DIR / "grading.jsonl"
    out: list[AnyCase] = []
    problems = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = parse_case({"kind": "grading", **json.loads(line)}, f"L{lineno}")
        except (ValueError, ValidationError) as exc:
            problems.append(f"{path}:{lineno}: {exc}")
            continue
        assert isinstance(case, GradingCase)
        out.append(case)
    if problems:
        raise SuiteError(f"the bundled grading set is damaged: {problems[0]}", problems)
    return out


CONCEPTUAL_SPLITS = ("tune", "report")
"""Splits of the conceptual suite, one file each: tune on ``tune``, report on ``report``."""


def _conceptual_cases(splits: tuple[str, ...] = CONCEPTUAL_SPLITS) -> list[AnyCase]:
    out: list[AnyCase] = []
    for split in splits:
        path = DATA_DIR / f"conceptual_{split}.jsonl"
        out += parse_lines(path.read_text(encoding="utf-8").splitlines(), str(path))
    return out


_LOADERS: dict[str, Callable[[], list[AnyCase]]] = {
    "bank": _bank_cases,
    "derivations": _derivation_cases,
    "retrieval": _retrieval_cases,
    "grading": _grading_cases,
    "conceptual": _conceptual_cases,
    "conceptual-tune": lambda: _conceptual_cases(("tune",)),
    "conceptual-report": lambda: _conceptual_cases(("report",)),
}

BUNDLED: dict[str, BundledSuite] = {
    "bank": BundledSuite(
        name="bank",
        kind="qa",
        description="the interview question bank (English, and Russian where the notes have it)",
    ),
    "derivations": BundledSuite(
        name="derivations",
        kind="derivation",
        description="the derivation checker's corpora: find the first wrong step",
    ),
    "retrieval": BundledSuite(
        name="retrieval",
        kind="retrieval",
        description="labelled search queries (EN/RU): is the right topic retrieved",
    ),
    "grading": BundledSuite(
        name="grading",
        kind="grading",
        description="good/partial/wrong answers: does the grader order them",
    ),
    "conceptual": BundledSuite(
        name="conceptual",
        kind="qa",
        description="conceptual interview questions (EN/RU, bank paraphrases and notes-only), "
        "with rubrics from the notes: both splits",
    ),
    "conceptual-tune": BundledSuite(
        name="conceptual-tune",
        kind="qa",
        description="the conceptual suite's tune split (tune on it)",
    ),
    "conceptual-report": BundledSuite(
        name="conceptual-report",
        kind="qa",
        description="the conceptual suite's report split (report figures on it)",
    ),
}


def load_bundled(name: str) -> Suite:
    """A bundled suite by name."""
    if name not in BUNDLED:
        raise SuiteError(f"no bundled suite {name!r}; bundled suites: {', '.join(BUNDLED)}")
    cases = _LOADERS[name]()
    return Suite(name=name, source=f"bundled:{name}", kind=BUNDLED[name].kind, cases=cases)


def suite_rows(warn: Callable[[str], None] = lambda msg: None) -> list[dict[str, Any]]:
    """One row per bundled suite for ``mltutor eval list``: name, kind, cases, languages, what it
    measures (a suite that cannot be loaded gets ``cases: None`` and a warning)."""
    rows: list[dict[str, Any]] = []
    for name, info in BUNDLED.items():
        try:
            suite = load_bundled(name)
            count: int | None = len(suite.cases)
            langs = sorted({c.language for c in suite.cases})
        except SuiteError as exc:
            count, langs = None, []
            warn(f"suite {name}: {exc.message}")
        rows.append(
            {
                "name": name,
                "kind": info.kind,
                "cases": count,
                "languages": langs,
                "description": info.description,
            }
        )
    return rows


def load_suite(name_or_path: str) -> Suite:
    """A bundled suite by name, or a suite file by path."""
    if name_or_path in BUNDLED:
        return load_bundled(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return load_file(path)
    if path.exists():
        raise SuiteError(f"{path} is not a file; give a suite file (.jsonl) or a bundled name")
    raise SuiteError(
        f"no bundled suite or file {name_or_path!r}; bundled suites: {', '.join(BUNDLED)} "
        "(see `mltutor eval list`)"
    )


__all__ = ["BUNDLED", "DATA_DIR", "BundledSuite", "load_bundled", "load_suite", "suite_rows"]
