"""Prompts: short, because the embedded model pre-fills at ~100 tokens/s; evidence goes in verbatim."""

from __future__ import annotations

import re
from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.tutor.records import ToolRecord

SYSTEM = (
    "You are mltutor, a tutor for the mathematics of machine-learning interviews. "
    "Answer as a strong candidate would in an interview: the point first, then the few sentences "
    "that justify it; no lecture. Use only the numbered notes as your source and cite them like [1]. "
    "When a tool result is given, state it exactly as computed; never recompute it differently. "
    "When your answer already begins with a computed result, continue it: in two sentences, say "
    "which rules give it, in which order; do not restate it. "
    "Write formulas in LaTeX between $ signs."
)
"""The same for every draft, so the server's prompt cache keeps it: only what follows it is read
again for each question (the instruction for a prefilled result is here for that reason)."""

DRAFT_MAX_TOKENS = 256
"""Token budget of a draft with nothing leading it: the point and the few sentences that justify it
(at ~10 tokens/s on a 2-core CPU every 100 tokens cost the reader 10 s)."""

LEAD_MAX_TOKENS = 128
"""Token budget after a computed result or our notes already open the answer: 2-3 sentences. Asked
for two sentences after a derivative, the embedded model wrote 135-145 tokens (four sentences, the
last restating the result) in the prefill A/B; a draft cut here loses its unfinished sentence."""

TOOL_CHOICE_MAX_TOKENS = 160
"""Budget of the tool-choice call: a tool call with its arguments (a list of p-values included) fits;
a model that starts answering in prose there is stopped rather than run to the server's default."""

LEAD_EVIDENCE_CHARS = 300
"""With a lead, the other note excerpts are context only: shorter, so prefill stays short."""

REVISE = (
    "Your previous answer had errors:\n{failures}\n"
    "Rewrite it. Keep what was right, fix the errors, and state the verified facts exactly."
)


def language_instruction(question: str, language: str) -> str:
    """Answer in the user's language unless a language is configured."""
    if language == "ru" or (language == "auto" and re.search(r"[А-Яа-яЁё]", question)):
        return "Answer in Russian (по-русски), using standard Russian ML terms."
    return "Answer in English."


NOTES_CONTINUE = (
    "Your answer already begins with this text from our notes [1]:\n{text}\n"
    "Add only what it does not say: one short example or the step the question asks about, in 2-3 "
    "sentences, citing [1]. Do not repeat it, do not contradict it, do not change its formulas."
)


def evidence_block(
    hits: list[Citation], tool_calls: list[ToolRecord], max_chars: int = 500, quoted: int = 0
) -> str:
    """Numbered note excerpts and tool results, as one user-visible block. The first ``quoted``
    hits are listed by label only: their text is quoted elsewhere in the prompt (the notes lead)."""
    parts = []
    if hits:
        parts.append("Notes:")
        for i, h in enumerate(hits, 1):
            if i <= quoted:
                parts.append(f"[{i}] {h.label} (quoted below)")
                continue
            text = re.sub(r"\s+", " ", h.text)[:max_chars]
            parts.append(f"[{i}] {h.label}: {text}")
    for call in tool_calls:
        if call.ok and call.grounded:
            line = call.result_line or call.summary
            parts.append(f"Tool {call.name}({_args(call.args)}) computed: {line}")
            if call.name == "check_derivation":
                parts.append(_check_details(call.result))
        elif not call.ok:
            parts.append(f"Tool {call.name} failed: {call.result.get('error', '')}")
    return "\n".join(parts)


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items() if k != "text")


def _check_details(report: dict[str, Any]) -> str:
    lines = []
    for step in report.get("steps", []):
        mark = {
            "ok": "ok",
            "wrong": "WRONG",
            "unverifiable": "unverified",
            "unparsed": "unreadable",
        }[step["status"]]
        extra = f" ({step['diagnosis']})" if step.get("diagnosis") else ""
        exp = f"; expected {step['expected']}" if step.get("expected") else ""
        lines.append(f"  line {step['line']}: {step['text'].strip()} -> {mark}{extra}{exp}")
    return "Checker verdict per line:\n" + "\n".join(lines)


CONTINUE = (
    "Your answer already begins with the computed result:\n{line}\n"
    "Continue after it: explain in 2-3 sentences how it is obtained (which rules, in which order), "
    "citing the notes like [1]. Do not repeat the result and never write a different one."
)


def draft_messages(
    question: str,
    history: list[dict[str, Any]],
    hits: list[Citation],
    tool_calls: list[ToolRecord],
    language: str,
    failures: list[str] | None = None,
    previous: str = "",
    lead: str = "",
    notes_lead: str = "",
    prefill: bool = False,
) -> list[dict[str, Any]]:
    """Messages for drafting (or revising) an answer; ``lead`` is a computed result line and
    ``notes_lead`` our notes' text that already open the answer. With ``prefill`` (a server that
    continues a final assistant message) a computed lead is sent as the start of the answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
    for m in history[-4:]:
        messages.append({"role": m["role"], "content": str(m["content"])[:1500]})
    if lead and prefill and not failures:
        return [*messages, *_prefilled(question, tool_calls, language, lead)]
    if lead:  # the computed result is the answer; one note excerpt names the rule
        evidence = evidence_block(hits[:1], tool_calls, LEAD_EVIDENCE_CHARS)
    elif notes_lead:  # [1] is the lead itself, quoted below: list it, do not repeat it
        # other excerpts are not sent: cut to a few hundred characters they were library lists
        # and table rows (~170 prompt tokens, ~5 s of prompt reading on 2 cores) beside a lead
        # that already answers the question
        evidence = evidence_block(hits[:1], tool_calls, quoted=1)
    else:
        evidence = evidence_block(hits, tool_calls)
    user = f"{evidence}\n\nQuestion: {question}\n{language_instruction(question, language)}"
    if lead:
        user += "\n" + CONTINUE.format(line=lead)
    elif notes_lead:
        user += "\n" + NOTES_CONTINUE.format(text=notes_lead)
    messages.append({"role": "user", "content": user.strip()})
    if failures:
        messages.append({"role": "assistant", "content": previous})
        messages.append(
            {
                "role": "user",
                "content": REVISE.format(failures="\n".join(f"- {f}" for f in failures)),
            }
        )
    return messages


def _prefilled(
    question: str, tool_calls: list[ToolRecord], language: str, lead: str
) -> list[dict[str, Any]]:
    """The user turn and the answer's prefilled start for a computed lead.

    With a server that continues a final assistant message, the result itself is that message's
    start: the model reads it once (not twice, as with :data:`CONTINUE`) and goes on from it
    instead of restating it. Only what changes per question is sent after the cached system
    prompt: the question and the other tools' results; no note
    excerpt (the explanation is of the rules behind a computed result, and every prompt token is
    ~25 ms of waiting on 2 cores); the result in compact LaTeX (SymPy's ``\\left( \\right)``
    pairs cost ~20 tokens and say nothing)."""
    others = [c for c in tool_calls if not (c.ok and c.grounded and c.result_line == lead)]
    evidence = evidence_block([], others)
    user = f"{evidence}\n\nQuestion: {question}\n{language_instruction(question, language)}"
    return [
        {"role": "user", "content": user.strip()},
        {"role": "assistant", "content": compact_latex(lead) + "\n\n"},
    ]


def compact_latex(text: str) -> str:
    """``text`` without SymPy's sizing commands: ``\\left(x \\right)`` reads as ``(x)``."""
    text = re.sub(r"\\(?:left|right)\.", "", text)
    text = re.sub(r"\\(?:left|right)\s*(?=[()\[\]|]|\\[{}])", "", text)
    return _FUNCTION_ARG_RE.sub(r"\1(\2)", text)


_FUNCTION_ARG_RE = re.compile(
    r"(\\(?:a?(?:sin|cos|tan|cot|sec|csc)h?|arc(?:sin|cos|tan)|log|ln|exp))"
    r"\{\(([^(){}]*?) ?\)\}"
)
"""SymPy writes a function's argument as ``\\sin{\\left(x \\right)}``; braces of ``\\frac``,
``\\sqrt`` and the like are arguments and stay."""


_SENTENCE_END = re.compile(r"[.!?…)\]$`]\s*$|\$\$\s*$|\\\]\s*$")
"""A finished draft ends so; one ending in ":" or ";" was cut before what it announced ("we get:")."""


def finish(text: str) -> str:
    """The text without an unfinished last sentence (a draft cut off by its token budget ends
    mid-word or mid-formula); kept whole when cutting would lose most of it."""
    body = text.rstrip()
    if not body or (_SENTENCE_END.search(body) and not _open_formula(body)):
        return text
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s)|\n\n", body)]
    if _open_formula(body):  # "... is $x (x \cos(x) + 2)": the sentence ends before its "$"
        opened = body.rfind("$")
        ends = [e for e in ends if e <= opened]
    if not ends or ends[-1] < len(body) * 0.4:
        return text
    kept = body[: ends[-1]].rstrip()
    return re.sub(r"\n\s*(?:\d+[.)]|[-*•])$", "", kept).rstrip()  # no list number left bare


def _open_formula(text: str) -> bool:
    """Whether ``text`` ends inside a ``$...$`` formula (an odd number of unescaped ``$``)."""
    return len(re.findall(r"(?<!\\)\$", text.replace("$$", ""))) % 2 == 1


def tool_selection_messages(question: str) -> list[dict[str, Any]]:
    """Messages asking the model whether a tool should compute something for this question."""
    return [
        {
            "role": "system",
            "content": "Call a tool if the question needs a number or formula "
            "computed; otherwise answer 'no tool'.",
        },
        {"role": "user", "content": question},
    ]
