"""The conceptual suite (issue 13's before/after figures): it loads, every case validates, and it is
what it claims to be: EN and RU about half each, bank paraphrases (not copies) and notes-only
questions, rubrics of 3-5 key points that the grader finds in the case's own reference answer, and
disjoint tune and report splits."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mltutor.agent.grading import Grader, create_grader
from mltutor.evals.bundled import BUNDLED, CONCEPTUAL_SPLITS, DATA_DIR, load_bundled
from mltutor.evals.scorers import qa_rubric
from mltutor.evals.suites import QACase, load_file
from mltutor.knowledge.bank import load_questions
from mltutor.knowledge.notes import load_notes
from mltutor.knowledge.questions import has_cyrillic
from mltutor.settings import Settings

ID_RE = re.compile(
    r"^(tune|report)-(en|ru)-\d{2}-(?:para-(?P<bank>[a-z-]+-\d+)|notes-(?P<topic>[a-z-]+))$"
)


def _cases(name: str = "conceptual") -> list[QACase]:
    cases = load_bundled(name).cases
    assert all(isinstance(c, QACase) for c in cases)
    return [c for c in cases if isinstance(c, QACase)]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_the_suite_and_its_splits_are_bundled_and_every_line_validates() -> None:
    for name in ("conceptual", "conceptual-tune", "conceptual-report"):
        assert name in BUNDLED and BUNDLED[name].kind == "qa"
    by_split = {s: load_file(DATA_DIR / f"conceptual_{s}.jsonl").cases for s in CONCEPTUAL_SPLITS}
    assert [c.id for c in _cases("conceptual-tune")] == [c.id for c in by_split["tune"]]
    assert [c.id for c in _cases("conceptual-report")] == [c.id for c in by_split["report"]]
    cases = _cases()
    assert len(cases) >= 30
    assert [c.id for c in cases] == [c.id for s in CONCEPTUAL_SPLITS for c in by_split[s]]
    assert len({c.id for c in cases}) == len(cases)


def test_cases_are_conceptual_questions_with_a_rubric_from_the_notes() -> None:
    slugs = {n.slug for n in load_notes()}
    for c in _cases():
        m = ID_RE.match(c.id)
        assert m, f"{c.id}: ids are <split>-<lang>-<nn>-para-<bank id> or -notes-<topic>"
        assert c.id.split("-")[1] == c.language
        assert c.topic in slugs and c.difficulty is not None
        assert c.bank_id is None, (
            f"{c.id}: a bank_id would hide that question's chunk from the tutor (no notes lead); "
            "the case carries its own rubric instead"
        )
        assert 3 <= len(c.key_points) <= 5 and len(c.reference_answer) >= 150
        assert qa_rubric(c) is not None  # graded on its own key points
        if m["topic"]:
            assert m["topic"] == c.topic
        texts = [c.question, c.reference_answer, *c.key_points]
        if c.language == "ru":
            assert all(has_cyrillic(t) for t in texts), c.id
        else:
            assert not any(has_cyrillic(t) for t in texts), c.id


def test_the_mix_is_balanced() -> None:
    cases = _cases()
    langs = Counter(c.language for c in cases)
    assert min(langs["en"], langs["ru"]) >= 0.4 * len(cases)
    kinds = Counter(("para" if "-para-" in c.id else "notes", c.language) for c in cases)
    assert all(kinds[(k, lang)] >= 6 for k in ("para", "notes") for lang in ("en", "ru")), kinds
    splits = Counter((c.id.split("-")[0], c.language) for c in cases)
    for split in CONCEPTUAL_SPLITS:
        assert splits[(split, "en")] == splits[(split, "ru")], f"EN and RU per split: {splits}"
    assert len(_cases("conceptual-report")) >= 30, "figures are reported on at least 30 questions"
    assert len({c.topic for c in cases}) >= 15
    tune = {_norm(c.question) for c in _cases("conceptual-tune")}
    assert not tune & {_norm(c.question) for c in _cases("conceptual-report")}


def test_paraphrases_name_a_bank_question_and_copy_nothing_from_the_bank() -> None:
    bank = {q.id: q for q in load_questions()}
    bank_texts = {
        _norm(t)
        for q in bank.values()
        for t in (
            q.question,
            q.text_in("ru"),
            q.reference_answer,
            q.reference_in("ru"),
            *q.key_points,
            *q.key_points_in("ru"),
        )
    }
    paraphrased, copies = [], []
    for c in _cases():
        m = ID_RE.match(c.id)
        assert m
        if m["bank"]:
            q = bank.get(m["bank"])
            assert q is not None and q.topic == c.topic, f"{c.id}: no such bank question"
            paraphrased.append(q.id)
        copied = [
            t for t in (c.question, c.reference_answer, *c.key_points) if _norm(t) in bank_texts
        ]
        copies += [(c.id, t) for t in copied]
    assert not copies, f"copied from the bank: {copies}"
    assert len(paraphrased) == len(set(paraphrased)), "one paraphrase per bank question"


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    from tests.agent.grading.conftest import LexicalSearch

    notes = load_notes()
    root: Path = tmp_path_factory.mktemp("conceptual")
    settings = Settings(data_dir=root / "data", cache_dir=root / "cache")
    return create_grader(settings, notes=notes, search=LexicalSearch(notes))


def test_the_grader_finds_every_rubric_in_its_own_reference_answer(grader: Grader) -> None:
    """A key point the deterministic grader cannot find in the case's reference answer would make the
    suite measure the grader, not the answers; an off-topic answer must not pass either."""
    cases = _cases()
    for i, c in enumerate(cases):
        grade = grader.grade(c.question, c.reference_answer, rubric=qa_rubric(c))
        assert grade.band == "good" and grade.count("contradicted") == 0, (
            c.id,
            grade.score,
            [(k.point, k.verdict) for k in grade.key_points],
        )
        other = next(
            o for o in cases[i + 1 :] + cases if o.topic != c.topic and o.language == c.language
        )
        off = grader.grade(c.question, other.reference_answer, rubric=qa_rubric(c))
        assert off.band != "good", (c.id, other.id, off.score)
