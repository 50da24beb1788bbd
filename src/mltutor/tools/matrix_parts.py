"""Reading the parts of a matrix line: ``A = B = C`` split at the top level, and gradient operators
(``∇_w f``, ``\\nabla_{\\mathbf{w}} L``, ``∂/∂w f``, ``d/dw f``, ``dL/dw``, ``∂L/∂w``,
``\\frac{\\partial L}{\\partial w}``) in front of a matrix expression or a name defined earlier."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mltutor.tools import matrixlang
from mltutor.tools.errors import ToolError, Unsupported

Node = matrixlang.Node


@dataclass(frozen=True)
class Grad:
    """The gradient of a scalar ``function`` with respect to the variable ``wrt``."""

    function: Node
    wrt: str


MatrixPart = Node | Grad

_D = r"(?:d|∂|\\partial\s*|\\mathrm\s*\{\s*d\s*\}\s*)"
_VAR = r"(?:\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*\\?[A-Za-z]+\s*\}|\\[A-Za-z]+|[A-Za-z]|[α-ωΑ-Ω])"
_NABLA_RE = re.compile(rf"^(?:∇|\\nabla)\s*_\s*(?:\{{\s*(?P<b>{_VAR})\s*\}}|(?P<s>{_VAR}))")
_OPERATOR_RE = re.compile(rf"^{_D}\s*/\s*{_D}\s*(?P<w>{_VAR})(?![A-Za-z])")
_LEIBNIZ_RE = re.compile(rf"^{_D}(?P<f>[A-Za-z][A-Za-z0-9]*)\s*/\s*{_D}(?P<w>{_VAR})(?![A-Za-z])")
_FRAC_RE = re.compile(
    rf"^\\[dt]?frac\s*\{{\s*{_D}\s*(?P<f>(?:[A-Za-z][A-Za-z0-9]*)?)\s*\}}\s*"
    rf"\{{\s*{_D}\s*(?P<w>{_VAR})\s*\}}"
)
_APPLIED_RE = re.compile(r"^([A-Za-z])\s*\(\s*[^()]*\)$")


def split_parts(text: str) -> list[str]:
    """The parts between top-level ``=`` / ``≈`` (brackets and ``\\left``/``\\right`` respected)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in "=≈" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    if any(not p.strip() for p in parts):
        raise ToolError("expected an expression on both sides of '='")
    return [p.strip() for p in parts]


def substitute(node: Node, defs: dict[str, Node]) -> Node:
    """``node`` with names defined earlier replaced by their definitions."""
    if node[0] == "var":
        return defs.get(node[1], node)
    return tuple(substitute(c, defs) if isinstance(c, tuple) else c for c in node)


def _variable(text: str) -> str:
    node = matrixlang.parse(text)
    if node[0] != "var" or node[1] == "I":
        raise ToolError(f"expected the variable of the gradient, found {text!r}")
    return str(node[1])


def _function(text: str, defs: dict[str, Node]) -> Node:
    text = text.strip()
    if not text:
        raise ToolError("expected the function to differentiate")
    m = _APPLIED_RE.match(text)
    if m and m.group(1) in defs:  # L(w) for a defined L
        return defs[m.group(1)]
    return substitute(matrixlang.parse(text), defs)


def _named(name: str, defs: dict[str, Node]) -> Node:
    if name not in defs:
        raise Unsupported(
            f"{name} is not defined on an earlier line, so its gradient is unknown "
            f"(write '{name} = ...' first)"
        )
    return defs[name]


def _mark_names(text: str, defs: dict[str, Node]) -> str:
    """Names of several letters defined earlier (``RSS``) kept whole for the matrix parser."""
    for name in defs:
        if len(name) > 1 and name.isalnum() and name not in matrixlang.GREEK.values():
            text = re.sub(rf"(?<![A-Za-z\\]){name}(?![A-Za-z])", matrixlang.named(name), text)
    return text


_SUBSCRIPT_LETTERS = str.maketrans(
    {"ₓ": "_x", "ᵢ": "_i", "ⱼ": "_j", "ₖ": "_k", "ₙ": "_n", "ₜ": "_t"}
)


def parse_part(text: str, defs: dict[str, Node]) -> MatrixPart:
    """One part of a matrix line: a gradient or a matrix expression, definitions substituted."""
    text = text.strip().translate(_SUBSCRIPT_LETTERS)
    m = _LEIBNIZ_RE.match(text) or _FRAC_RE.match(text)
    prefix = text[: m.end()] if m else ""
    text = prefix + _mark_names(text[len(prefix) :], defs)
    for pattern in (_FRAC_RE, _LEIBNIZ_RE):
        m = pattern.match(text)
        if m:
            wrt = _variable(m.group("w"))
            rest = text[m.end() :]
            name = m.group("f")
            if name:
                if rest.strip():
                    raise ToolError(f"unexpected text after d{name}/d{wrt}")
                return Grad(_named(name, defs), wrt)
            return Grad(_function(rest, defs), wrt)
    m = _NABLA_RE.match(text) or _OPERATOR_RE.match(text)
    if m:
        wrt = _variable(m.group("b") or m.group("s") if "s" in m.groupdict() else m.group("w"))
        function = _function(text[m.end() :], defs)
        if function[0] == "var" and function[1] != wrt:
            raise Unsupported(
                f"{function[1]} is not defined on an earlier line, so its gradient is unknown "
                f"(write '{function[1]} = ...' first)"
            )
        return Grad(function, wrt)
    if text.startswith(("∇", "\\nabla")):
        raise Unsupported("∇ without a subscript: write ∇_w f to say which variable")
    return substitute(matrixlang.parse(text), defs)
