"""Derivatives stated in words: "the derivative of $x^2$ is $2x$", "производная $\\sin x$ равна $\\cos x$".

A formula alone does not say what it is the derivative of: ``$-3x^2 \\sin x + 3x^2 \\cos x$`` is a
fine expression, and ``$3x^2(-\\sin x) + 3x^2\\cos x = -3x^2\\sin x + 3x^2\\cos x$`` a true identity,
yet the sentence around them ("the derivative of the product is ...") can be false. Each such
sentence becomes the claim ``\\frac{d}{dx}(A) = B`` for the checker, which refutes or verifies it
like any other. "The derivative (of the product) is $B$" refers to the expression a tool
differentiated for this question, and is read only when there is one.
"""

from __future__ import annotations

import re

from mltutor.agent.tutor.records import ToolRecord

_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$|\\\((.+?)\\\)", re.DOTALL)
_VERB = (
    r"(?:is|equals|gives|becomes|is\s+given\s+by|is\s+equal\s+to|"
    r"равна|равен|равно|есть|будет|даёт|дает)"
)
_FILLER = r"(?:\s+(?:indeed|simply|just|then|therefore|thus|тогда|просто))?\s*[:=]?\s*"
_CONDITION = r"(?!\s*,?\s*(?:at|when|where|for|if|only|при|когда|где|в\s+точке|если)(?!\w))"
"""Not "... is $0$ at the optimum / when x = 2": a condition to solve, not a stated derivative."""
_OF_RE = re.compile(
    r"(?:derivative|производн\w*)\s+(?:of\s+|от\s+|функции\s+)?⟦(\d+)⟧"
    r"[^⟦.;!?]{0,40}?(?<!\w)" + _VERB + r"(?!\w)" + _FILLER + r"⟦(\d+)⟧" + _CONDITION,
    re.IGNORECASE,
)
_THE_RE = re.compile(
    r"(?:derivative|производн\w*)"
    r"(?:\s+of\s+(?:the|this|our|that)\s+(?:product|function|expression|quotient|composition))?"
    r"(?:\s+(?:произведения|функции|выражения|всего\s+выражения))?"
    r"\s+" + _VERB + r"(?!\w)" + _FILLER + r"⟦(\d+)⟧" + _CONDITION,
    re.IGNORECASE,
)
_MAX = 6


def _differentiated(tool_calls: list[ToolRecord]) -> tuple[str, str] | None:
    """(expression, variable) a differentiate tool computed for this question, if exactly one."""
    found = []
    for call in tool_calls:
        if call.name != "differentiate" or not call.ok or not call.grounded:
            continue
        expr = call.args.get("expr")
        notation = str(call.result.get("notation", ""))
        m = re.fullmatch(r"d/d([A-Za-z])", notation)
        if isinstance(expr, str) and m:
            found.append((expr, m.group(1)))
    return found[0] if len(found) == 1 else None


def _variable(expr: str, fallback: str | None) -> str | None:
    """The one variable of ``expr`` (a letter standing alone, not part of a function name)."""
    words = set(re.findall(r"(?<![A-Za-z\\])[A-Za-z](?![A-Za-z])", expr))
    words -= {"e", "d"}
    if fallback and (fallback in words or not words):
        return fallback
    return words.pop() if len(words) == 1 else None


def derivative_claims(text: str, tool_calls: list[ToolRecord]) -> list[tuple[str, str]]:
    """(span of the stated derivative as written, claim ``\\frac{d}{dx}\\left(A\\right) = B``) for
    each derivative stated in words in ``text``, at most a few."""
    spans: list[str] = []

    def hold(m: re.Match[str]) -> str:
        spans.append(next(g for g in m.groups() if g))
        return f"⟦{len(spans) - 1}⟧"

    held = _SPAN_RE.sub(hold, text)
    tool = _differentiated(tool_calls)
    out: list[tuple[str, str]] = []
    taken: set[int] = set()
    for m in _OF_RE.finditer(held):
        a, b = int(m.group(1)), int(m.group(2))
        var = _variable(spans[a], tool[1] if tool else None)
        if var is not None and "=" not in spans[a]:
            out.append((spans[b], _claim(spans[a], var, spans[b])))
            taken.add(b)
    if tool is not None:
        for m in _THE_RE.finditer(held):
            b = int(m.group(1))
            if b not in taken:
                out.append((spans[b], _claim(tool[0], tool[1], spans[b])))
                taken.add(b)
    return out[:_MAX]


def _claim(expr: str, var: str, stated: str) -> str:
    return f"\\frac{{d}}{{d{var}}}\\left({expr.strip()}\\right) = {stated.strip()}"
