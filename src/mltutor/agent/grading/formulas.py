"""Formulas in an answer: checked by the derivation checker, and against the reference's formulas.

An answer's equality is first run through :func:`mltutor.tools.checker.check_derivation` (a wrong
derivative or an arithmetic slip such as ``1 − 1/e ≈ 0.368`` is caught there). A formula the checker
can only read as a definition (``Precision = TP/(TP + FN)``, ``I(p) = p(1 − p)``) is compared with
the reference formula of the same left-hand side: symbolically when both parse and use the same
variables, by value when both end in a number, and by swap-group words otherwise (``c = min x``
against ``c = max x``). Nothing is ever evaluated as Python; SymPy work runs under
:func:`~mltutor.tools.bounded.run_bounded`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mltutor.agent.grading.records import MathCheck
from mltutor.agent.grading.text import inline_formulas, number_values, same_value, split_sentences
from mltutor.agent.grading.traps import normalize, term_hits
from mltutor.tools.limits import DEFAULT_LIMITS, ToolLimits

MAX_FORMULAS = 8
"""Formulas checked per answer (the rest are ignored: a wall of formulas is not an answer)."""
_RELATION = re.compile(r"\s*(?:=|≈)\s*")
_DELIMITED = re.compile(r"\$\$.+?\$\$|\$.+?\$|\\\[.+?\\\]|\\\(.+?\\\)|`[^`\n]+`", re.S)
_PRIME = re.compile(r"([A-Za-zα-ωΑ-Ω])'(?!\()")


@dataclass(frozen=True)
class Formula:
    """An equality split into its parts."""

    text: str
    """As extracted."""
    parts: tuple[str, ...]
    """The sides, left to right (``A = B ≈ C`` has three)."""

    @property
    def lhs_key(self) -> str:
        """The left side normalized for matching: no spaces, lower case, ASCII minus."""
        return _key(self.parts[0])


def _key(side: str) -> str:
    s = normalize(side)
    s = re.sub(r"\\(?:left|right|,|;|!|quad)", "", s)
    s = re.sub(r"[\s{}\\$]", "", s)
    s = s.replace("·", "*").replace("×", "*").replace("⁻¹", "^-1").replace("^(-1)", "^-1")
    return s.replace("ᵀ", "^t").replace("^(t)", "^t").replace("²", "^2")


def split_formula(text: str) -> Formula | None:
    """``A = B = C`` as a :class:`Formula`; ``None`` without a relation or with an empty side."""
    parts = tuple(p.strip() for p in _RELATION.split(text))
    if len(parts) < 2 or any(not p for p in parts):
        return None
    return Formula(text, parts)


def _claim_spans(text: str) -> list[tuple[str, str]]:
    """The tutor's extraction of delimited math (``$...$``, backticks, ``\\(...\\)``).

    Imported only when the text has such delimiters: the tutor package loads its graph
    (LangGraph) on import, which a plain-prose answer should not pay for; bare formulas in prose
    are found by :func:`~mltutor.agent.grading.text.inline_formulas`."""
    if not _DELIMITED.search(text):
        return []
    from mltutor.agent.tutor.claims import claim_spans

    return claim_spans(text)


def _separate(claim: str) -> list[str]:
    """``a = b, c = d`` (two formulas on one line) as two claims; commas inside brackets stay."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(claim):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in ",;" and depth == 0:
            parts.append(claim[start:i])
            start = i + 1
    parts.append(claim[start:])
    pieces = [p.strip() for p in parts if p.strip()]
    if len(pieces) > 1 and sum(1 for p in pieces if _RELATION.search(p)) >= 2:
        return [p for p in pieces if _RELATION.search(p)]
    return [claim]


_TRAILING_INEQUALITY = re.compile(r"\s*(?:≥|≤|>=|<=|>|<)[^=≈]*$")


def _equation_part(claim: str) -> str:
    """``tanh'(x) = 1 + tanh²(x) ≥ 1`` checked as its equation; the trailing bound is prose."""
    head, sep, tail = claim.rpartition("=")
    if not sep:
        return claim
    cut = _TRAILING_INEQUALITY.sub("", tail)
    return f"{head}{sep}{cut}" if cut.strip() else claim


def answer_formulas(text: str) -> list[str]:
    """Equalities of the answer: math spans (as the tutor finds them), then inline ones in prose."""
    found = [part for _, claim in _claim_spans(text) for part in _separate(claim)]
    prose = _DELIMITED.sub(" ; ", text)  # delimited math was read above
    for sentence in split_sentences(prose):
        found.extend(inline_formulas(sentence))
    out: list[str] = []
    keys: list[str] = []
    for claim in (_equation_part(c) for c in found):
        key = _key(claim)
        if any(key in k for k in keys):
            continue
        drop = [i for i, k in enumerate(keys) if k in key]  # a longer reading of the same formula
        for i in reversed(drop):
            del out[i], keys[i]
        out.append(claim)
        keys.append(key)
    return out[:MAX_FORMULAS]


def reference_formulas(texts: list[str]) -> list[Formula]:
    """Equalities written in the reference texts (math spans and inline)."""
    out: list[Formula] = []
    for text in texts:
        for claim in answer_formulas(text):
            f = split_formula(claim)
            if f is not None and f not in out:
                out.append(f)
    return out


_UNIT_NUMBER = re.compile(r"\d(?:\.\d+)?\s?[KMBT]\b")
_DERIVATIVE = re.compile(r"[\w)]'\s*\(|\bd\s*/\s*d\w|\\frac\{d|∂|\\partial")
_NAMES = re.compile(r"[A-Za-zα-ωΑ-Ω]+")
_CONSTANTS = frozenset(
    {"e", "pi", "π", "log", "ln", "exp", "sqrt", "frac", "cdot", "times", "approx", "left", "right"}
)


def _closed(claim: str) -> bool:
    """Only numbers and constants: arithmetic the checker decides exactly."""
    return all(n.lower() in _CONSTANTS for n in _NAMES.findall(claim))


def _approximately(claim: str, expected: str | None) -> bool:
    """``0.25^10 ≈ 1e-6``: an approximate claim within 5% of the exact value is not wrong."""
    if "≈" not in claim or expected is None:
        return False
    shown = number_values(claim.rsplit("≈", 1)[1])
    exact = number_values(expected)
    if len(shown) != 1 or len(exact) != 1:
        return False
    a, b = shown[0][0], exact[0][0]
    return b != 0 and abs(a - b) <= 0.05 * abs(b)


def _check_one(claim: str, limits: ToolLimits) -> tuple[str, str, str | None]:
    """(status, message, expected) of the checker on a one-line derivation; never raises.

    The checker reads ``A = B`` as an identity. In prose most equalities with free variables are
    equations or conditions (``Hδ = −∇f``, ``λ_i g_i = 0``), so its "wrong" is trusted only for
    arithmetic and for derivatives; otherwise the claim is left to the reference comparison."""
    if _UNIT_NUMBER.search(claim):
        return "unverifiable", "numbers with units (7B, 1.4T) are not checked", None
    status, message, expected = _checker(claim, limits)
    if status == "wrong":
        if _approximately(claim, expected):
            return "ok", "approximately right", None
        if not (_closed(claim) or _DERIVATIVE.search(claim.split("=")[0])):
            return "defines", message, None
    return status, message, expected


def _checker(claim: str, limits: ToolLimits) -> tuple[str, str, str | None]:
    from mltutor.tools.checker import check_derivation

    try:
        report = check_derivation(claim, limits=limits)
    except Exception as exc:  # the checker promises not to raise; a bug there must not fail grading
        return "unverifiable", f"the checker failed ({type(exc).__name__})", None
    if not report.steps:
        return "unverifiable", "nothing to check", None
    step = report.steps[0]
    if step.status == "wrong":
        why = f" ({step.diagnosis})" if step.diagnosis else ""
        return "wrong", f"{step.message}{why}", step.expected
    if step.status == "ok" and step.message.startswith("verified"):
        return "ok", step.message, None
    if step.status == "ok":
        return "defines", step.message, None
    return "unverifiable", step.message, None


def _comparable(a: str, b: str) -> tuple[str, str]:
    """Rewrite two formulas the same way so the parser reads both: ``θ'`` becomes a fresh letter,
    a conditional bar ``q(θ'|θ)`` a comma."""
    primed = sorted(set(_PRIME.findall(a)) | set(_PRIME.findall(b)))
    free = [c for c in "uvwrsmnk" if c not in a and c not in b]
    for name, fresh in zip(primed, free, strict=False):
        a, b = a.replace(f"{name}'", fresh), b.replace(f"{name}'", fresh)
    return a.replace("|", ","), b.replace("|", ",")


def _sympy_equal(pairs: list[tuple[str, str]], limits: ToolLimits) -> list[bool | None]:
    """For each (a, b): True/False when both parse with the same variables, else None.

    Runs inside a bounded worker (module-level so it pickles)."""
    from mltutor.tools.equivalence import compare
    from mltutor.tools.errors import ToolError
    from mltutor.tools.parsing import parse_math

    out: list[bool | None] = []
    for a, b in pairs:
        a, b = _comparable(a, b)
        try:
            ea = parse_math(a, limits=limits)
            eb = parse_math(b, limits=limits)
            if ea.free_symbols != eb.free_symbols:
                out.append(None)
                continue
            out.append(bool(compare(ea, eb, deep=False).equal))
        except (ToolError, TypeError, ValueError, ArithmeticError, RecursionError, AttributeError):
            out.append(None)
    return out


def _final_number(f: Formula) -> tuple[float, ...] | None:
    values = number_values(f.parts[-1])
    stripped = re.sub(r"[\s.,%0-9eE+\-−]", "", f.parts[-1])
    return values[0] if len(values) == 1 and not stripped else None


def _swap_words(a: str, b: str) -> bool:
    """The two sides differ in which side of a swap group they name (min vs max)."""
    ha = {(h.group, h.side) for h in term_hits(normalize(a))}
    hb = {(h.group, h.side) for h in term_hits(normalize(b))}
    return any((g, "b" if s == "a" else "a") in hb and (g, s) not in hb for g, s in ha)


_INVERSE = re.compile(r"\^\(?-1\)?|⁻¹|\^t\b|ᵀ|\^\(?t\)?")


def _near_miss(mine: str, ref: str) -> bool:
    """The usual slips where nothing parses: a dropped or extra coefficient (``Cov`` for ``2Cov``),
    a flipped sign, a missing inverse or transpose (``H`` for ``H^{-1}``)."""
    if mine == ref:
        return False
    digitless = re.sub(r"\d", "", mine) == re.sub(r"\d", "", ref)
    unsigned = mine.replace("-", "+") == ref.replace("-", "+")
    uninverted = _INVERSE.sub("", mine) == _INVERSE.sub("", ref) and len(
        _INVERSE.findall(mine)
    ) != len(_INVERSE.findall(ref))
    return digitless or unsigned or uninverted


def _versus_reference(
    f: Formula, refs: list[Formula], limits: ToolLimits
) -> tuple[str, str, str | None] | None:
    same = [r for r in refs if r.lhs_key == f.lhs_key and len(f.lhs_key) >= 1]
    if not same or _key(f.parts[-1]) in {_key(p) for r in same for p in r.parts[1:]}:
        return ("ok", "matches the reference", None) if same else None
    mine = _final_number(f) if len(f.lhs_key) > 2 else None  # "α = 0.05" is often an example
    if mine is not None:
        for r in same:
            theirs = _final_number(r)
            if theirs is not None:
                if any(same_value(x, y) for x in mine for y in theirs):
                    return "ok", "the value matches the reference", None
                return "wrong", "the value differs from the reference", r.parts[-1]
    if len(f.lhs_key) <= 2 and not _NAMES.search(f.parts[-1]):
        return None  # "ε = 0.05", "k ≈ 5-20": an example value or a range, not a formula
    pairs = [(f.parts[-1], r.parts[-1]) for r in same]
    try:
        from mltutor.tools.bounded import run_bounded

        verdicts = run_bounded(_sympy_equal, pairs, limits, timeout=limits.timeout_s)
    except Exception:  # timeouts, limits, a worker that died: undecided, never wrong
        verdicts = [None] * len(pairs)
    if any(v is True for v in verdicts):
        return "ok", "equivalent to the reference formula", None
    decided = [(v, r) for v, r in zip(verdicts, same, strict=True) if v is False]
    if decided:
        return "wrong", "differs from the reference formula", decided[0][1].parts[-1]
    for r, v in zip(same, verdicts, strict=True):
        if _swap_words(f.parts[-1], r.parts[-1]):
            return "wrong", "differs from the reference formula", r.parts[-1]
        if v is None and _near_miss(_key(f.parts[-1]), _key(r.parts[-1])):
            return "wrong", "differs from the reference formula", r.parts[-1]
        if v is None and sorted(_key(f.parts[-1])) == sorted(_key(r.parts[-1])):
            # the same pieces in other places (an inverted ratio) where nothing could be parsed
            return "wrong", "the reference formula's terms in other places", r.parts[-1]
    return None


def check_formulas(
    claims: list[str], refs: list[Formula], limits: ToolLimits = DEFAULT_LIMITS
) -> list[MathCheck]:
    """One :class:`MathCheck` per claim: the checker first, then the reference formulas."""
    out: list[MathCheck] = []
    for claim in claims:
        status, message, expected = _check_one(claim, limits)
        f = split_formula(claim)
        named = f is not None and bool(_NAMES.search(f.parts[0]))
        if f is not None and (status in ("defines", "unverifiable") or (status == "ok" and named)):
            versus = _versus_reference(f, refs, limits)
            if versus is not None:
                status, message, expected = versus
        if status == "defines":
            status = "unverifiable"
        out.append(
            MathCheck(
                claim=claim,
                status="ok" if status == "ok" else "wrong" if status == "wrong" else "unverifiable",
                expected=expected,
                message=message,
            )
        )
    return out


__all__ = [
    "Formula",
    "answer_formulas",
    "check_formulas",
    "reference_formulas",
    "split_formula",
]
