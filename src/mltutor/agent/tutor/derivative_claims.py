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

from mltutor.agent.tutor.prose import split_sentences
from mltutor.agent.tutor.records import ToolRecord

_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$|\\\((.+?)\\\)", re.DOTALL)
_WORD = r"(?<![A-Za-zА-Яа-яЁё])(?:derivative|производн\w*)"
"""The word itself: not "antiderivative" (an integral)."""
_VERB = (
    r"(?:is|equals|gives|becomes|is\s+given\s+by|is\s+equal\s+to|"
    r"равна|равен|равно|есть|будет|даёт|дает)"
)
_FILLER = r"(?:\s+(?:indeed|simply|just|then|therefore|thus|тогда|просто))?\s*[:=]?\s*"
_OF_RE = re.compile(
    _WORD
    + r"\s+(?:of\s+|от\s+|функции\s+)?⟦(\d+)⟧([^⟦.;!?]{0,40}?)(?<!\w)"
    + _VERB
    + r"(?!\w)"
    + _FILLER
    + r"⟦(\d+)⟧",
    re.IGNORECASE,
)
_THE_RE = re.compile(
    _WORD
    + r"(?:\s+of\s+(?:the|this|our|that)\s+(?:product|function|expression|quotient|composition))?"
    r"(?:\s+(?:произведения|функции|выражения|всего\s+выражения))?"
    r"\s+" + _VERB + r"(?!\w)" + _FILLER + r"⟦(\d+)⟧",
    re.IGNORECASE,
)
_ORDER_RE = re.compile(
    r"(?:second|third|higher|partial|n-?th|\d+(?:st|nd|rd|th)|втор\w*|трет\w*|частн\w*|"
    r"высш\w*)[\s-]*(?:order\s+)?$",
    re.IGNORECASE,
)
"""Before the word: not the first derivative, so not what ``d/dx(A) = B`` checks."""
_CONDITION_RE = re.compile(
    r"(?<![A-Za-zА-Яа-яЁё])(?:at|when|where|for|if|only|evaluated|on|in|near|exactly|"
    r"при|когда|где|в|если|около)(?![A-Za-zА-Яа-яЁё])",
    re.IGNORECASE,
)
"""Between A and the verb, or right after B: "... at zero is $0$", "is $0$ when x = 2" state a
value somewhere or a condition to solve, not the derivative."""
_NOT_WHOLE_RE = re.compile(
    r"^\s*(?:,\s*)?(?:times|plus|minus|multiplied|divided|over|\*|·|×|умнож\w*|плюс|минус|"
    r"делённ\w*|деленн\w*|[:,]\s*(?:so|then|hence|thus|i\.e\.|то\s+есть|значит|поэтому)|:)",
    re.IGNORECASE,
)
"""After B: B is a piece of the derivative ("$\\cos(x^2)$ times $2x$"), not all of it."""
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
    """The one variable of ``expr`` (a letter standing alone, not a function's name); an ``expr``
    that is a single letter other than the question's variable (``f``, ``u``) names a function
    defined elsewhere, so there is nothing to differentiate."""
    stripped = expr.strip()
    if re.fullmatch(r"\\?[A-Za-z]+", stripped):  # f, u, \sigma, L: a name, not an expression
        return stripped if stripped == (fallback or "x") else None
    words = set(re.findall(r"(?<![A-Za-z\\])[A-Za-z](?![A-Za-z(])", expr))
    words -= {"e", "d"}
    if fallback and (fallback in words or not words):
        return fallback
    return words.pop() if len(words) == 1 else None


def derivative_claims(text: str, tool_calls: list[ToolRecord]) -> list[tuple[str, str]]:
    """(the sentence as written, claim ``\\frac{d}{dx}\\left(A\\right) = B``) for each derivative
    stated in words in ``text``, at most a few. The sentence is what is removed if the claim fails."""
    tool = _differentiated(tool_calls)
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        for sentence in split_sentences(line):
            out += _stated(sentence, tool)
    return out[:_MAX]


def _stated(sentence: str, tool: tuple[str, str] | None) -> list[tuple[str, str]]:
    spans: list[str] = []

    def hold(m: re.Match[str]) -> str:
        spans.append(next(g for g in m.groups() if g))
        return f"⟦{len(spans) - 1}⟧"

    held = _SPAN_RE.sub(hold, sentence)
    out: list[tuple[str, str]] = []
    taken: set[int] = set()

    def whole(m: re.Match[str]) -> bool:
        """A first derivative stated whole and unconditionally."""
        before, after = held[: m.start()], held[m.end() :]
        if _ORDER_RE.search(before.rstrip()[-25:]) or _NOT_WHOLE_RE.match(after):
            return False
        return not _CONDITION_RE.match(after.lstrip(" ,"))

    for m in _OF_RE.finditer(held):
        a, gap, b = int(m.group(1)), m.group(2), int(m.group(3))
        if not whole(m) or _CONDITION_RE.search(gap):
            continue
        var = _variable(spans[a], tool[1] if tool else None)
        if var is not None and "=" not in spans[a]:
            out.append((sentence.strip(), _claim(spans[a], var, spans[b])))
            taken.add(b)
    if tool is not None:
        for m in _THE_RE.finditer(held):
            b = int(m.group(1))
            # "For $x^3$, the derivative is $3x^2$": about a factor named before it
            if b in taken or "⟦" in held[: m.start()] or not whole(m):
                continue
            out.append((sentence.strip(), _claim(tool[0], tool[1], spans[b])))
            taken.add(b)
    return out


def _claim(expr: str, var: str, stated: str) -> str:
    return f"\\frac{{d}}{{d{var}}}\\left({expr.strip()}\\right) = {stated.strip()}"
