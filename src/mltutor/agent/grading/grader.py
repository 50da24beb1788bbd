"""The grader: rubric, deterministic layer, optional judge, combination into a :class:`Grade`.

Built by :func:`create_grader` (factories, nothing at import time). The deterministic layer always
runs; the judge runs when a model is given and its failures fall back to the deterministic grade
with a note. See :mod:`mltutor.agent.grading.combine` for the weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mltutor.agent.errors import NoRubricError
from mltutor.agent.grading import combine
from mltutor.agent.grading.apparatus import strip_apparatus
from mltutor.agent.grading.contradiction import Contradiction
from mltutor.agent.grading.coverage import COVERED, Embed, cover, stretches
from mltutor.agent.grading.formulas import answer_formulas, check_formulas, reference_formulas
from mltutor.agent.grading.judge import JudgeFailed, JudgeReply, draft_key_points, run_judge
from mltutor.agent.grading.pairs import contradictions_of
from mltutor.agent.grading.records import (
    Grade,
    GraderInfo,
    KeyPointVerdict,
    Language,
    MathCheck,
    Mode,
    Rubric,
    StatementVerdict,
)
from mltutor.agent.grading.rubric import (
    MATCH_THRESHOLD,
    NOTES_MIN,
    BankMatcher,
    Search,
    bank_rubric,
    language_of,
    notes_evidence,
    notes_rubric,
    pick_key_points,
)
from mltutor.agent.grading.text import analyse, number_values, overlap, recall, split_sentences
from mltutor.knowledge.notes import Note
from mltutor.knowledge.questions import Question
from mltutor.knowledge.text import scrub_surrogates
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits

MAX_ANSWER_CHARS = 6000
"""Longer answers are cut here (with a note): grading time stays bounded."""
JUDGE_CONTRADICTS = False
"""Whether the judge's "contradicted" (with a quote from the answer) can make an answer wrong. Off:
on the tune split the embedded 1.5B judge flagged correct statements more often than false ones
(combined ordering 0.963 with, 1.0 without, on the tune questions it graded); its "contradicted"
still counts as not covered."""
QUOTE_RECALL = 0.6
"""Share of a judge quote's words that must be in the answer for the quote to count."""
RESTATES_QUESTION = 0.8
"""A sentence whose stems overlap the question's this much (and adds little) only restates it."""


@dataclass
class _Evidence:
    """What the deterministic layer found in one answer."""

    coverage: list[float] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    contradictions: dict[int, Contradiction] = field(default_factory=dict)
    math: list[MathCheck] = field(default_factory=list)
    math_points: dict[int, MathCheck] = field(default_factory=dict)
    extra_false: int = 0


class Grader:
    """Grades free-text interview answers against the bank or the notes (see module docs)."""

    def __init__(
        self,
        *,
        notes: list[Note],
        embed: Embed,
        search: Search | None = None,
        judge: Any | None = None,
        limits: ToolLimits = DEFAULT_LIMITS,
        cache_dir: Path | None = None,
        mode: Mode | None = None,
        embed_id: str | None = None,
    ) -> None:
        self.notes = {n.slug: n for n in notes}
        self.questions: dict[str, Question] = {q.id: q for n in notes for q in n.questions}
        self.embed = embed
        self.search = search
        self.judge = judge
        self.limits = limits
        self.mode: Mode = mode or ("combined" if judge is not None else "deterministic")
        self.matcher = BankMatcher(list(self.questions.values()), embed, cache_dir, embed_id)
        self._drafted: dict[tuple[str, str], list[str]] = {}

    # -- rubric ------------------------------------------------------------------------------------
    def rubric_for(
        self, question: str, *, question_id: str | None = None, language: str | None = None
    ) -> Rubric:
        """The rubric for ``question``: a bank question (given or matched), else the notes.

        Raises :class:`~mltutor.agent.errors.NoRubricError` naming what was tried."""
        lang: Language = "ru" if (language or language_of(question)) == "ru" else "en"
        if question_id is not None:
            q = self.questions.get(question_id)
            if q is None:
                raise NoRubricError(
                    f"no bank question with id {question_id!r}; ids look like 'regularization-1'",
                    [f"bank id {question_id!r}"],
                )
            return bank_rubric(question or q.text_in(lang), q, lang, 1.0, self.notes.get(q.topic))
        if not question.strip():
            raise NoRubricError("the question is empty", ["an empty question"])
        ranked = self.matcher.ranked(question)
        tried = []
        if ranked:
            best, score = ranked[0]
            if score >= MATCH_THRESHOLD:
                return bank_rubric(question, best, lang, score, self.notes.get(best.topic))
            tried.append(
                f"the question bank ({len(self.questions)} questions, EN and RU): nearest "
                f"{best.id} at {score:.2f}, below the {MATCH_THRESHOLD:.2f} threshold"
            )
        if self.search is None:
            raise NoRubricError(
                "no rubric: the question matches no bank question and no notes search is available",
                tried,
            )
        bank = self.questions
        evidence = notes_evidence(question, lang, self.search, self.embed, bank)
        tried += evidence.tried
        if evidence.relevance < NOTES_MIN or not evidence.candidates:
            tried.append(
                f"the best note section matched at {evidence.relevance:.2f}, "
                f"below the {NOTES_MIN:.2f} needed"
            )
            raise NoRubricError(
                "no rubric: nothing in the question bank or the notes matches this question", tried
            )
        points = self._draft(question, lang, evidence.sections) or pick_key_points(
            question, evidence.candidates, self.embed
        )
        note = self.notes.get(evidence.topic or "")
        return notes_rubric(question, lang, evidence, points, note)

    def _draft(self, question: str, lang: str, sections: list[str]) -> list[str]:
        if self.judge is None or self.mode == "deterministic" or not sections:
            return []
        key = (question, lang)
        if key not in self._drafted:
            try:
                self._drafted[key] = draft_key_points(self.judge, question, sections, lang)
            except JudgeFailed:
                self._drafted[key] = []
        return self._drafted[key]

    # -- grading -----------------------------------------------------------------------------------
    def grade(
        self,
        question: str,
        answer: str,
        *,
        question_id: str | None = None,
        rubric: Rubric | None = None,
    ) -> Grade:
        """Grade ``answer`` to ``question``; raises NoRubricError when there is no rubric."""
        start = time.perf_counter()
        notes: list[str] = []
        # lone surrogates (bytes that were not UTF-8) would be quoted back as evidence and make the
        # result unprintable: every caller gets them as U+FFFD
        question = scrub_surrogates(question) if isinstance(question, str) else ""
        text = scrub_surrogates(answer) if isinstance(answer, str) else ""
        text, apparatus = strip_apparatus(text)
        if apparatus:
            notes.append("not graded: the tutor's " + ", ".join(apparatus))
        if len(text) > MAX_ANSWER_CHARS:
            notes.append(
                f"the answer was cut at {MAX_ANSWER_CHARS} characters (it has {len(text)}); "
                "the rest was not graded"
            )
            text = text[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0]
        answer_lang = language_of(text) if text.strip() else None
        if rubric is None:
            rubric = self.rubric_for(question, question_id=question_id, language=answer_lang)
        if answer_lang and rubric.language != answer_lang:
            notes.append(
                f"the answer is in {'Russian' if answer_lang == 'ru' else 'English'} and the "
                f"rubric in {'Russian' if rubric.language == 'ru' else 'English'}; wording is "
                "compared by meaning only"
            )
        if not text.strip():
            notes.append("the answer is empty")
            return self._finish(
                rubric,
                _Evidence(
                    coverage=[0.0] * len(rubric.key_points), evidence=[""] * len(rubric.key_points)
                ),
                None,
                notes,
                start,
                mode="deterministic",
            )
        sentences, restated = self._sentences(text, rubric.question)
        if restated:
            notes.append(f"{restated} sentence(s) only restate the question and were not counted")
        found = self._deterministic(rubric, text, sentences, answer_lang or rubric.language)
        reply: JudgeReply | None = None
        mode: Mode = "deterministic"
        if self.judge is not None and self.mode != "deterministic":
            try:
                reply = run_judge(self.judge, rubric, " ".join(sentences))
                mode = self.mode
            except JudgeFailed as exc:
                notes.append(f"{exc.reason}; graded without the judge")
        return self._finish(rubric, found, reply, notes, start, mode=mode, answer=text)

    def _sentences(self, text: str, question: str) -> tuple[list[str], int]:
        q_tokens = analyse(question).tokens
        kept: list[str] = []
        dropped = 0
        for s in split_sentences(text):
            tokens = analyse(s).tokens
            new = set(tokens) - set(q_tokens)
            if q_tokens and overlap(tokens, q_tokens) >= RESTATES_QUESTION and len(new) < 2:
                dropped += 1
                continue
            kept.append(s)
        return kept, dropped

    def _deterministic(
        self, rubric: Rubric, text: str, sentences: list[str], answer_lang: str
    ) -> _Evidence:
        points = rubric.key_points
        pieces = stretches(sentences)
        kept = " ".join(sentences)
        facts = [*rubric.facts]
        ref_texts = [rubric.reference, *points, *(c for _, c in rubric.misconceptions)]
        allowed = number_values(" ".join([rubric.question, rubric.reference, *points, *facts]))
        contradictions = contradictions_of(
            rubric.question,
            sentences,
            ref_texts,
            list(rubric.misconceptions),
            allowed_numbers=allowed,
            numbers=rubric.source != "notes",  # notes sections hold other examples' numbers
        )
        claims = answer_formulas(kept)
        refs_f = reference_formulas([rubric.reference, *points, *facts]) if claims else []
        math = check_formulas(claims, refs_f, self.limits)
        wrong_math = [m for m in math if m.status == "wrong"]
        extra = [c.sentence for c in contradictions] + [m.claim for m in wrong_math]
        vectors = (
            self.embed([*points, *pieces, *extra]) if points else np.zeros((0, 1), dtype=np.float32)
        )
        pv = vectors[: len(points)]
        sv = vectors[len(points) : len(points) + len(pieces)]
        xv = vectors[len(points) + len(pieces) :]
        same = answer_lang == rubric.language
        cov = cover(points, kept, pieces, point_vectors=pv, piece_vectors=sv, same_language=same)
        found = _Evidence(
            coverage=[c.score for c in cov], evidence=[c.evidence for c in cov], math=math
        )
        # every false statement counts against the key point it is closest to
        for k, c in enumerate(contradictions):
            target = int(np.argmax(pv @ xv[k])) if len(points) else -1
            if target in found.contradictions or target in found.math_points or target < 0:
                found.extra_false += 1
            else:
                found.contradictions[target] = c
        for k, m in enumerate(wrong_math, start=len(contradictions)):
            target = int(np.argmax(pv @ xv[k])) if len(points) else -1
            if target in found.contradictions or target in found.math_points or target < 0:
                found.extra_false += 1
            else:
                found.math_points[target] = m
        return found

    def _finish(
        self,
        rubric: Rubric,
        found: _Evidence,
        reply: JudgeReply | None,
        notes: list[str],
        start: float,
        *,
        mode: Mode,
        answer: str = "",
    ) -> Grade:
        verdicts: list[KeyPointVerdict] = []
        coverages: list[float] = []
        false_statements = found.extra_false if mode != "judge" else 0
        for i, point in enumerate(rubric.key_points):
            det = found.coverage[i] if i < len(found.coverage) else 0.0
            jv = reply.verdicts[i] if reply is not None else None
            judged = combine.judge_value(jv.verdict if jv is not None else None)
            quoted = jv is not None and _quoted(jv.quote, answer)
            if jv is not None and jv.verdict == "covered" and not quoted:
                judged = (
                    combine.UNQUOTED
                )  # a "covered" whose quote is not in the answer is doubtful
            value = combine.point_coverage(det, judged, mode)
            # judge mode: the judge's verdicts alone (the deterministic checks only as a fallback)
            contradiction = found.contradictions.get(i) if mode != "judge" else None
            wrong = found.math_points.get(i) if mode != "judge" else None
            judge_says_false = (
                JUDGE_CONTRADICTS
                and jv is not None
                and jv.verdict == "contradicted"
                and quoted
                and (mode == "judge" or det < COVERED)
            )
            if contradiction is not None or wrong is not None or judge_says_false:
                false_statements += 1
                if contradiction is not None:
                    evidence, reason = contradiction.sentence, contradiction.reason
                elif wrong is not None:
                    fix = f"; expected {wrong.expected}" if wrong.expected else ""
                    evidence, reason = wrong.claim, f"wrong formula: {wrong.message}{fix}"
                else:
                    assert jv is not None
                    evidence, reason = jv.quote, "the judge found it contradicts the reference"
                verdicts.append(
                    KeyPointVerdict(
                        point=point,
                        verdict="contradicted",
                        evidence=evidence,
                        reason=reason,
                        score=0.0,
                    )
                )
                coverages.append(0.0)
                continue
            covered = value >= COVERED
            evidence = ""
            if covered:
                evidence = (
                    jv.quote
                    if (jv is not None and mode == "judge" and jv.quote)
                    else (found.evidence[i] if i < len(found.evidence) else "")
                )
            verdicts.append(
                KeyPointVerdict(
                    point=point,
                    verdict="covered" if covered else "missing",
                    evidence=_short(evidence),
                    score=round(value, 4),
                )
            )
            coverages.append(value)
        score = combine.score_of(coverages, false_statements, mode)
        return Grade(
            score=score,
            band=combine.band_of(score, false_statements),
            question_id=rubric.question_id,
            rubric_source=rubric.source,
            key_points=verdicts,
            math=found.math,
            grader=GraderInfo(
                mode=mode,
                model=getattr(self.judge, "name", None) if mode != "deterministic" else None,
                seconds=round(time.perf_counter() - start, 4),
                notes=notes,
            ),
            rubric=rubric,
        )

    # -- prose verification for the tutor ----------------------------------------------------------
    def check_statements(
        self, sentences: list[str], evidence: list[str], *, language: str | None = None
    ) -> list[StatementVerdict]:
        """Each sentence against the evidence texts (``evidence[i]`` is citation ``i + 1``)."""
        from mltutor.agent.grading.statements import check_statements

        return check_statements(sentences, evidence, self.embed, language=language)


def _quoted(quote: str, answer: str) -> bool:
    """The judge's quote is (nearly) words of the answer, not of the key point or the reference."""
    words = analyse(quote).tokens
    if not words:
        return False
    return recall(words, analyse(answer).tokens) >= QUOTE_RECALL


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def create_grader(
    settings: Any,
    *,
    judge: Any | None = None,
    embed: Embed | None = None,
    search: Search | None = None,
    notes: Sequence[Note] | None = None,
    notes_dir: Path | None = None,
    mode: Mode | None = None,
    progress: Any | None = None,
) -> Grader:
    """A grader from the settings; every part is injectable (tests pass fakes).

    ``search`` defaults to the knowledge base over the settings' data dir, opened on first use (a
    question that matches the bank never opens it); ``embed`` to the bundled embedder; no ``judge``
    means deterministic grading.
    """
    from mltutor.knowledge.notes import load_notes

    embed_id: str | None = None
    if embed is None:
        from mltutor.knowledge.embedding import embed_texts, embedder_id

        embed, embed_id = embed_texts, embedder_id()
    loaded = list(notes) if notes is not None else load_notes(notes_dir)
    if search is None:
        search = _lazy_search(settings, notes_dir, progress)
    limits = getattr(settings, "tools", DEFAULT_LIMITS)
    cache_dir = getattr(settings, "cache_dir", None)
    return Grader(
        notes=loaded,
        embed=embed,
        search=search,
        judge=judge,
        limits=limits,
        cache_dir=cache_dir,
        mode=mode,
        embed_id=embed_id,
    )


def _lazy_search(settings: Any, notes_dir: Path | None, progress: Any | None) -> Search:
    kb: list[Any] = []

    def search(query: str, **kwargs: Any) -> list[Any]:
        if not kb:
            from mltutor.knowledge.base import open_knowledge_base

            kb.append(
                open_knowledge_base(
                    data_dir=settings.data_dir,
                    chroma_url=getattr(settings, "chroma_url", None),
                    progress=progress,
                    notes_dir=notes_dir,
                )
            )
        return list(kb[0].search(query, **kwargs))

    return search


__all__ = ["Grader", "create_grader"]
