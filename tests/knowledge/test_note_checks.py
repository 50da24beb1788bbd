"""Every formula a note states in its front matter ``checks`` goes through our derivation checker."""

from __future__ import annotations

import pytest

from mltutor.knowledge.notes import load_notes
from mltutor.tools.checker import check_derivation, format_report


def _checks() -> list[tuple[str, str]]:
    return [
        (f"{note.slug}-{i}", text) for note in load_notes() for i, text in enumerate(note.checks, 1)
    ]


CHECKS = _checks()


def test_every_note_states_checked_formulas() -> None:
    slugs = {cid.rsplit("-", 1)[0] for cid, _ in CHECKS}
    assert len(slugs) == 24
    assert len(CHECKS) >= 72


@pytest.mark.parametrize(("cid", "text"), CHECKS, ids=[c for c, _ in CHECKS])
def test_note_formula_holds(cid: str, text: str) -> None:
    report = check_derivation(text)
    assert report.verdict == "correct", f"{cid}:\n{format_report(report)}"
