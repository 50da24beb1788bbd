"""Deterministic intent routing: clear requests go straight to the right tool.

A small local model chooses tools poorly, so "derivative of …", "integral of …", a pasted derivation
and "search the notes …" never depend on it. Anything else is left to the model (with a few relevant
tool schemas) and the notes.
"""

from __future__ import annotations

import re
from typing import Any

from mltutor.tools.errors import ToolError
from mltutor.tools.parsing import parse_math
from mltutor.tools.parsing.vocabulary import math_words_re

_ORDER_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "вторая": 2,
    "вторую": 2,
    "третья": 3,
    "третью": 3,
}
_TAIL_RE = re.compile(
    r"\s*(?:\?|\.|!|please|pls|for me|пожалуйста|step by step|по шагам)*\s*$", re.IGNORECASE
)
_WRT_RE = re.compile(
    r"\s+(?:with respect to|w\.?r\.?t\.?|по|по переменной)\s+([A-Za-zα-ωθλμσ][\w]*)\s*$",
    re.IGNORECASE,
)
_FROM_TO_RE = re.compile(r"\s+(?:from|от)\s+(\S+)\s+(?:to|до)\s+(\S+)\s*$", re.IGNORECASE)
_DERIV_RE = re.compile(
    r"(?:(?P<order>first|second|third|1st|2nd|3rd|вторая|вторую|третья|третью)[\s-]+(?:order\s+)?)?"
    r"(?:derivative|производн\w*|differentiate|продифференцируй\w*)"
    r"(?:\s+(?:of|от))?\s+(?P<expr>.+)$",
    re.IGNORECASE,
)
_DDX_RE = re.compile(
    r"^(?:what is\s+|compute\s+|find\s+|чему равно\s+)?d/d(?P<var>[a-z])\s*(?P<expr>.+)$",
    re.IGNORECASE,
)
_INTEGRAL_RE = re.compile(
    r"(?:integral|интеграл|integrate|проинтегрируй\w*)(?:\s+(?:of|от))?\s+(?P<expr>.+)$",
    re.IGNORECASE,
)
_GRADIENT_RE = re.compile(r"(?:gradient|градиент)(?:\s+(?:of|от))?\s+(?P<expr>.+)$", re.IGNORECASE)
_HESSIAN_RE = re.compile(r"(?:hessian|гессиан\w*)(?:\s+(?:of|от))?\s+(?P<expr>.+)$", re.IGNORECASE)
_SEARCH_RE = re.compile(
    r"^\s*(?:search|find|look up|найди|поищи)\s+(?:in\s+)?(?:the\s+|my\s+)?"
    r"(?:notes|конспект\w*|заметк\w*)\b",
    re.IGNORECASE,
)
_CHECK_PREFIX_RE = re.compile(r"^\s*(?:check|verify|проверь)\b[^\n]*\n", re.IGNORECASE)


def _clean_expr(text: str) -> tuple[str, str | None, tuple[str, str] | None]:
    """Strip politeness and punctuation; pull out 'with respect to y' and 'from a to b'."""
    expr = _TAIL_RE.sub("", text.strip())
    var = None
    m = _WRT_RE.search(expr)
    if m:
        var, expr = m.group(1), expr[: m.start()]
    bounds = None
    m = _FROM_TO_RE.search(expr)
    if m:
        bounds, expr = (m.group(1), m.group(2)), expr[: m.start()]
    expr = _TAIL_RE.sub("", expr).strip().strip("$`").strip()
    expr = re.sub(r"^(?:f\s*\(\s*\w\s*\)\s*=|y\s*=)\s*", "", expr)
    expr = re.sub(r"\s+d[a-z]\s*$", "", expr)  # "integral of x^2 dx"
    return expr, var, bounds


_KNOWN_WORDS_RE = math_words_re()


def _looks_mathy(expr: str) -> bool:
    """Reject prose captured by the patterns ("derivative small?"): words that are not math."""
    rest = _KNOWN_WORDS_RE.sub(" ", expr)
    if re.search(r"[A-Za-z]{3,}|[А-Яа-яЁё]", rest):
        return False
    return bool(re.search(r"[\d^*/+()\-]", expr)) or len(expr.strip()) <= 2


def _parses(expr: str) -> bool:
    if not _looks_mathy(expr):
        return False
    try:
        parse_math(expr)
    except ToolError:
        return False
    return bool(expr)


def looks_like_derivation(text: str) -> bool:
    """Two or more lines, most of them equalities or continuations: a pasted derivation."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) < 2:
        return False
    mathy = sum(1 for ln in lines if "=" in ln and len(re.findall(r"[A-Za-zА-Яа-я]{5,}", ln)) <= 1)
    return mathy >= max(2, (len(lines) + 1) // 2)


def route(question: str) -> dict[str, Any]:
    """Decide the intent of a question; tool args are ready for :func:`run_tool`."""
    text = question.strip()
    body = _CHECK_PREFIX_RE.sub("", text, count=1)
    if looks_like_derivation(body):
        return {"kind": "check", "tool": "check_derivation", "args": {"text": body}}
    if _SEARCH_RE.search(text):
        return {"kind": "search"}
    first_line = text.splitlines()[0] if text else ""
    sentence = re.split(r"(?<=[?.!])\s", first_line)[0]
    m = _DDX_RE.search(sentence.strip())
    if m:
        expr, var, _ = _clean_expr(m.group("expr"))
        if _parses(expr):
            return {
                "kind": "derivative",
                "tool": "differentiate",
                "args": {"expr": expr, "wrt": [m.group("var")]},
            }
    for regex, kind, tool in (
        (_HESSIAN_RE, "hessian", "hessian"),
        (_GRADIENT_RE, "gradient", "gradient"),
        (_DERIV_RE, "derivative", "differentiate"),
        (_INTEGRAL_RE, "integral", "integrate"),
    ):
        m = regex.search(sentence)
        if not m:
            continue
        expr, var, bounds = _clean_expr(m.group("expr"))
        if not _parses(expr):
            continue
        args: dict[str, Any] = {"expr": expr}
        if tool == "differentiate":
            order = _ORDER_WORDS.get((m.group("order") or "").lower(), 1)
            args["wrt"] = [var] if var else []
            if order > 1:
                args["order"] = order
        elif tool == "integrate":
            if var:
                args["variable"] = var
            if bounds:
                args["lower"], args["upper"] = bounds
        return {"kind": kind, "tool": tool, "args": args}
    return {"kind": "general"}


# keyword -> tools whose schemas are offered to the model for a general question (few: every
# schema costs the small local model seconds of prefill)
_TOOL_HINTS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"p-?value|z-?test|t-?test|significan|значим", re.I), ("z_test", "t_test")),
    (re.compile(r"confidence interval|доверительн", re.I), ("confidence_interval",)),
    (re.compile(r"bootstrap|бутстр", re.I), ("bootstrap_ci",)),
    (re.compile(r"sample size|размер выборки|a/b", re.I), ("ab_sample_size",)),
    (re.compile(r"bonferroni|holm|benjamini|fdr|бонферрони", re.I), ("multiple_testing",)),
    (re.compile(r"fwer|family-?wise", re.I), ("fwer",)),
    (re.compile(r"\bvif\b|multicollinear|мультиколлинеарн", re.I), ("vif",)),
    (re.compile(r"entropy|kl|cross-entropy|gini|энтропи|джини", re.I), ("distribution_measures",)),
    (re.compile(r"johnson|lindenstrauss|\bjl\b", re.I), ("jl_dimension",)),
    (re.compile(r"chinchilla|tokens per param|compute-optimal", re.I), ("chinchilla",)),
    (re.compile(r"softmax|софтмакс", re.I), ("softmax",)),
    (re.compile(r"log-?sum-?exp", re.I), ("logsumexp",)),
    (re.compile(r"eigen|svd|condition number|собствен|сингуляр", re.I), ("matrix_info",)),
    (re.compile(r"lagrang|kkt|лагранж", re.I), ("lagrange",)),
    (re.compile(r"\blimit\b|предел", re.I), ("limit",)),
    (re.compile(r"taylor|тейлор", re.I), ("taylor",)),
    (re.compile(r"\bsolve\b|реши", re.I), ("solve",)),
]


def suggested_tools(question: str, limit: int = 2) -> list[str]:
    """Tool names worth offering the model for this question (at most ``limit``)."""
    names: list[str] = []
    for pattern, tools in _TOOL_HINTS:
        if pattern.search(question):
            names += [t for t in tools if t not in names]
    return names[:limit]
