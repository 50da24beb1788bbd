"""Word lists shared by everything that tells math from prose: one place, next to the parser's names.

Routing (is this capture a formula?), claim extraction (is this line mostly math?) and answer scoring
(which words carry meaning?) all read these, so a function the parser learns is known everywhere.
No SymPy here: importing this module is cheap.
"""

from __future__ import annotations

import re

from mltutor.tools.parsing.lexer import GREEK_NAMES, LATEX_FUNCTIONS

FUNCTION_WORDS = LATEX_FUNCTIONS | {
    "sigmoid",
    "softplus",
    "relu",
    "sqrt",
    "exp",
    "abs",
    "log",
    "ln",
    "sinh",
    "cosh",
    "tanh",
}
"""Function names the parser reads (plain and LaTeX spellings)."""

NAME_WORDS = frozenset({"yhat", "xhat", "ybar", "xbar", "pi", "infty"})
"""Multi-letter variable and constant names kept whole."""

LATEX_WORDS = frozenset(
    {"frac", "cdot", "left", "right", "partial", "times", "mathrm", "text", "operatorname"}
)
"""LaTeX layout commands that appear inside formulas."""

MATH_WORDS = FUNCTION_WORDS | GREEK_NAMES | NAME_WORDS | LATEX_WORDS
"""Every letter run that is math, not prose."""

STOP_WORDS = frozenset(
    "that this with from have will your when then than they them what which their there these "
    "those into over also because where while about would could should does just only very more "
    "most such some each other being been were is are was the and for not but can it its "
    "это как что для при или если когда чтобы так также этот эта эти его её их она они оно был "
    "была были быть есть нет все всё уже ещё только очень более менее".split()
)
"""Function words that carry no topic in English or Russian."""


def math_words_re() -> re.Pattern[str]:
    """A regex matching any math word (longest first, case-insensitive, optional backslash)."""
    alternatives = "|".join(sorted((re.escape(w) for w in MATH_WORDS), key=len, reverse=True))
    return re.compile(rf"\\?(?:{alternatives})", re.IGNORECASE)


__all__ = ["FUNCTION_WORDS", "MATH_WORDS", "STOP_WORDS", "math_words_re"]
