"""The final answer from the chosen candidate: what failed verification is taken out, what was
computed is stated, citations resolved, and one sentence says what was checked."""

from __future__ import annotations

from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.tutor.prose import split_sentences
from mltutor.agent.tutor.records import Candidate, ToolRecord, VerificationRecord
from mltutor.agent.tutor.scoring import cited_indices


def _drop_lines(answer: str, spans: list[str]) -> tuple[str, int, int]:
    """``answer`` without what holds a failed formula: the sentence, when its line is a paragraph
    of several sentences (one wrong formula must not take a paragraph of right ones with it),
    else the line. Returns the text and how many lines and sentences went."""
    lines_removed = sentences_removed = 0
    for span in spans:
        kept: list[str] = []
        for line in answer.splitlines():
            if span not in line:
                kept.append(line)
                continue
            parts = split_sentences(line)
            rest = [p for p in parts if span not in p]
            if len(parts) > 1 and rest and len(rest) < len(parts):
                kept.append(" ".join(rest))
                sentences_removed += len(parts) - len(rest)
            else:  # one sentence, or a span that crosses sentences: the line goes
                lines_removed += 1
        answer = "\n".join(kept).strip()
    return answer, lines_removed, sentences_removed


def _drop_sentences(answer: str, sentences: list[str]) -> tuple[str, int]:
    removed = 0
    for sentence in sentences:
        if sentence and sentence in answer:
            answer = answer.replace(sentence, "", 1)
            removed += 1
    return "\n".join(line.rstrip() for line in answer.splitlines()).strip(), removed


UNSUPPORTED_MARK = " †"
FOOTNOTES = {
    "en": "† The model's own words: the notes neither support nor contradict them.",
    "ru": "† Слова модели: конспекты этого не подтверждают и не опровергают.",
}


def _mark_unsupported(answer: str, sentences: list[str]) -> tuple[str, int]:
    marked = 0
    for sentence in sentences:
        if sentence and sentence in answer:
            answer = answer.replace(sentence, sentence + UNSUPPORTED_MARK, 1)
            marked += 1
    return answer, marked


def compose_answer(
    best: Candidate,
    hits: list[Citation],
    tool_calls: list[ToolRecord],
    verify: bool = True,
    *,
    language: str = "en",
) -> tuple[str, list[Citation]]:
    """The answer text and the citations it uses. Only the model's own text is marked or cut:
    the lead before it (a computed result, our notes) is never touched, whatever a failed claim's
    text happens to match."""
    answer = best.text.strip()
    own = best.own_text.strip()
    head = ""
    if own and answer.endswith(own) and len(own) < len(answer):
        head, answer = answer[: len(answer) - len(own)], own
    v = best.verification
    notes: list[str] = []
    footnote = ""
    if verify:
        unsupported = [s.sentence for s in v.statements if s.verdict == "unsupported"]
        answer, marked = _mark_unsupported(answer, unsupported)
        if marked:
            footnote = FOOTNOTES.get(language, FOOTNOTES["en"])
        answer, lines, sentences = _drop_lines(answer, v.failed_spans)
        gone = [f"{lines} line(s)"] if lines else []
        gone += [f"{sentences} sentence(s)"] if sentences else []
        if gone:
            notes.append(f"{' and '.join(gone)} with formulas that did not verify were removed")
        contradicted = [s.sentence for s in v.statements if s.verdict == "contradicted"]
        answer, dropped = _drop_sentences(answer, contradicted)
        if dropped:
            sources = sorted(
                {s.source for s in v.statements if s.source and s.verdict == "contradicted"}
            )
            where = " (" + ", ".join(f"[{n}]" for n in sources) + ")" if sources else ""
            notes.append(f"{dropped} statement(s) that contradict the notes{where} were removed")
    answer = (head + answer).strip()
    if notes:
        answer += "\n\n*(" + "; ".join(notes) + " from this answer.)*"
    if footnote:
        answer += f"\n\n*{footnote}*"
    if v.tool_results_stated < v.tool_results_expected:
        # the model did not state what the tools computed: say it, so the answer is never wrong
        additions = [
            f"- {c.summary}" + (f" (inputs: {c.inputs})" if c.inputs else "")
            for c in tool_calls
            if c.ok and c.grounded
        ]
        if additions:
            answer += "\n\n**Computed by mltutor's tools:**\n" + "\n".join(additions)
    used = [n for n in cited_indices(answer) if 1 <= n <= len(hits)]
    if not used and hits:
        used = [1]
        answer += f"\n\nSource: [1] {hits[0].label}"
    return answer, [hits[n - 1] for n in used]


def verification_summary(v: VerificationRecord) -> str:
    """What was checked, in words ("3 formulas verified · 5 statements supported by the notes")."""
    parts = []
    if v.claims_checked:
        ok = v.claims_checked - v.claims_failed
        parts.append(f"{ok} of {v.claims_checked} formulas verified")
    if v.unverifiable:
        parts.append(f"{v.unverifiable} formula(s) could not be checked")
    if v.statements:
        parts.append(
            f"{v.count('supported')} of {len(v.statements)} statements supported by the notes"
        )
        if v.count("contradicted"):
            parts.append(f"{v.count('contradicted')} contradicted the notes")
    return " · ".join(parts)


def verified_sentence(v: VerificationRecord, tool_calls: list[ToolRecord]) -> str:
    """One sentence under the answer: what was computed and what was checked (never a bare tick)."""
    parts = []
    computed = [c.name for c in tool_calls if c.ok and c.grounded]
    if computed:
        parts.append("computed with " + ", ".join(sorted(set(computed))))
    summary = verification_summary(v)
    parts.append(summary if summary else "nothing in the answer could be checked")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def assistant_message(
    answer: str,
    citations: list[Citation],
    hits: list[Citation],
    tool_calls: list[ToolRecord],
    v: VerificationRecord,
    verified: str,
    revisions: int,
) -> dict[str, Any]:
    """The answer as a transcript message, with what its panels showed (a resumed session shows
    them again; the model's history only reads role and content)."""
    return {
        "role": "assistant",
        "content": answer,
        "citations": [c.label for c in citations],
        "sources": [h.model_dump() for h in hits],
        "tool_calls": [
            {"name": c.name, "args": c.args, "ok": c.ok, "result": c.result, "summary": c.summary}
            for c in tool_calls
        ],
        "verification": {
            "claims_checked": v.claims_checked,
            "claims_failed": v.claims_failed,
            "failures": v.failures,
            "revision": revisions,
            "statements_checked": len(v.statements),
            "statements_supported": v.count("supported"),
            "statements_contradicted": v.count("contradicted"),
            "summary": verification_summary(v),
        },
        "verified": verified,
    }


__all__ = ["assistant_message", "compose_answer", "verification_summary", "verified_sentence"]
