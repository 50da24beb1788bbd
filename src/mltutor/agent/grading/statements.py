"""Statement-level verification for the tutor: is each sentence supported by, or contradicting, the notes?

The tutor passes the sentences of its model's own text and the texts of the retrieved notes
(``evidence[i]`` is citation ``i + 1``). A sentence is **contradicted** when the grader's
contradiction checks (swapped terms, negation, wrong number, a formula that differs from the
evidence's formula of the same left-hand side) fire against one evidence text; **supported** when
an evidence sentence says the same (close in meaning and sharing most of its words); otherwise
**unsupported**. A sentence the checks cannot read is never called contradicted.
"""

from __future__ import annotations

import numpy as np

from mltutor.agent.grading.contradiction import find_contradictions, reference_units
from mltutor.agent.grading.coverage import Embed
from mltutor.agent.grading.formulas import answer_formulas, reference_formulas, split_formula
from mltutor.agent.grading.records import StatementVerdict
from mltutor.agent.grading.text import analyse, number_values, recall, split_sentences
from mltutor.tools.limits import ToolLimits

SUPPORT_COSINE = 0.72
"""Cosine with an evidence sentence at which a sentence is supported outright."""
SUPPORT_MIXED = (0.5, 0.6)
"""... or this cosine together with this share of the sentence's stems found in that evidence."""


def _formula_conflict(sentence: str, evidence: str) -> str | None:
    from mltutor.agent.grading.formulas import _versus_reference  # one comparison, shared

    refs = reference_formulas([evidence])
    if not refs:
        return None
    for claim in answer_formulas(sentence):
        f = split_formula(claim)
        if f is None:
            continue
        verdict = _versus_reference(f, refs, _limits())
        if verdict is not None and verdict[0] == "wrong":
            return f"`{claim}` differs from the notes' formula ({verdict[2]})"
    return None


def _limits() -> ToolLimits:
    from mltutor.tools.limits import DEFAULT_LIMITS

    return DEFAULT_LIMITS


def check_statements(
    sentences: list[str], evidence: list[str], embed: Embed, *, language: str | None = None
) -> list[StatementVerdict]:
    """One verdict per sentence, in order (see module docs). Never raises on odd text."""
    del language  # both languages are read the same way; kept for the API
    if not sentences:
        return []
    ev_sentences: list[tuple[int, str]] = [
        (i, s) for i, text in enumerate(evidence) for s in split_sentences(text)
    ]
    refs = [reference_units([text]) for text in evidence]
    allowed = [number_values(text) for text in evidence]
    vectors = embed([*sentences, *(s for _, s in ev_sentences)]) if ev_sentences else None
    out: list[StatementVerdict] = []
    for k, sentence in enumerate(sentences):
        verdict = StatementVerdict(sentence=sentence, verdict="unsupported")
        if not sentence.strip() or not evidence:
            out.append(verdict)
            continue
        contradicted = False
        for i, text in enumerate(evidence):
            found = find_contradictions(
                [sentence], refs[i], allowed_numbers=allowed[i], reference_texts=[text]
            )
            reason = found[0].reason if found else _formula_conflict(sentence, text)
            if reason:
                out.append(
                    StatementVerdict(
                        sentence=sentence,
                        verdict="contradicted",
                        evidence=found[0].reference if found else text[:300],
                        source=i + 1,
                        reason=reason,
                    )
                )
                contradicted = True
                break
        if contradicted:
            continue
        if vectors is not None:
            sims = vectors[len(sentences) :] @ vectors[k]
            j = int(np.argmax(sims))
            cos = float(sims[j])
            src, ev = ev_sentences[j]
            share = recall(analyse(sentence).tokens, analyse(ev).tokens)
            if cos >= SUPPORT_COSINE or (cos >= SUPPORT_MIXED[0] and share >= SUPPORT_MIXED[1]):
                verdict = StatementVerdict(
                    sentence=sentence, verdict="supported", evidence=ev, source=src + 1
                )
        out.append(verdict)
    return out


__all__ = ["check_statements"]
