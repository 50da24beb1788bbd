"""Hostile and random input: never executes code, never raises uncaught, never runs past the bound."""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.parsing import sympy_parser

from mltutor.tools.checker import check_derivation
from mltutor.tools.errors import ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.parsing import parse_chain, parse_math

SRC = Path(__file__).resolve().parents[2] / "src" / "mltutor"

HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "eval('1+1')",
    "exec('import os')",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: os.system('id')",
    "Symbol('x').__class__",
    "open('/etc/passwd').read()",
    "x; import os",
    "x = __import__('subprocess')",
    "${jndi:ldap://x}",
    "\\input{/etc/passwd}",
    "\\write18{rm -rf /}",
    "2 ** 2 ** 2 ** 2 ** 2 ** 2",
    "9^9^9^9",
    "(((((((((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))))))))))",
    "x" * 5000,
    "1e100000000",
    "factorial(10**100)",
    "99999999999999!",
    "d/dx " * 200 + "x",
    "∫" * 100 + "x dx",
    # issue 15: crashes on numbers; must be answered, never raised
    "0.33333333333333333333333333333 = 1/3",
    "(10^400)! = 1",
    "10^(10^400)",
    "1/3 = 0." + "3" * 3000,
    # issue 14 notation pushed to extremes
    "\\sum_{i=1}^{10^{9}} i^i = 1",
    "Σ_{i=1}^{10^6} x_i = 0",
    "E[" * 60 + "X" + "]" * 60,
    "P(" * 40 + "A" + ")" * 40,
    "P(A | B | C) = 1",
    "∇_w " * 100 + "w",
    "X^T" * 200,
    "‖" * 30 + "x",
    "tr(" * 50 + "X" + ")" * 50 + " = 1",
    "sin^{-1}" * 100 + "(x)",
]

ALPHABET = st.sampled_from(
    [
        *list("xyzwabe0123456789+-*/^()[]{}|=.,!'_ "),
        "sin",
        "log",
        "exp",
        "sqrt",
        "d/dx ",
        "∫",
        "∂",
        "σ",
        "λ",
        "²",
        "√",
        "\\frac",
        "\\sqrt",
        "\\int",
        "\\partial",
        "dx",
        "\\left(",
        "\\right)",
        "π",
        "×",
        "·",
        "−",
        "%",
        "e^",
        "≈",
        "\n",
        # issue 14 notation
        "Σ",
        "\\sum_{i=1}^{n}",
        "∇_w",
        "E[",
        "P(",
        "Var(",
        "|",
        "ᵀ",
        "^T",
        "‖",
        "\\|",
        "⁻¹",
        "\\top",
        "tr(",
        "det",
        "sin^{-1}",
        "asinh",
        "½",
        "ⁿ",
        "∩",
        "X",
        "A",
        "0.33333333333333333333333333333",
        "10^400",
    ]
)
mathy = st.lists(ALPHABET, max_size=40).map("".join)


@pytest.fixture
def no_code_execution(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make every way of running text as code fail loudly while the parser runs."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"code execution attempted with {args[:1]!r}")

    real_sympify = sympy.sympify

    def guarded_sympify(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str):
            forbidden(a)
        return real_sympify(a, *args, **kwargs)

    real_eval, real_exec = builtins.eval, builtins.exec

    def guarded_eval(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str):  # imports exec compiled code objects; text must never run
            forbidden(source)
        return real_eval(source, *args, **kwargs)

    def guarded_exec(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str):
            forbidden(source)
        return real_exec(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", guarded_eval)
    monkeypatch.setattr(builtins, "exec", guarded_exec)
    monkeypatch.setattr(os, "system", forbidden)
    monkeypatch.setattr(sympy, "sympify", guarded_sympify)
    monkeypatch.setattr(sys.modules["sympy.core.sympify"], "sympify", guarded_sympify)
    monkeypatch.setattr(sympy_parser, "parse_expr", forbidden)
    yield


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_rejected_quickly(text: str, no_code_execution: None) -> None:
    start = time.perf_counter()
    with contextlib.suppress(ToolError):
        parse_chain(text)
    assert time.perf_counter() - start < 2.0
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_derivation_is_reported(text: str) -> None:
    limits = ToolLimits(timeout_s=1.0)
    start = time.perf_counter()
    report = check_derivation(text, limits=limits)
    assert time.perf_counter() - start < 3.0 * max(1, len(report.steps))
    assert report.verdict in {"correct", "incorrect", "unverifiable"}
    assert all(s.status != "ok" for s in report.steps) or report.verdict == "correct"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mathy)
def test_random_math_never_raises_uncaught(text: str) -> None:
    start = time.perf_counter()
    with contextlib.suppress(ToolError):
        parse_math(text)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mathy, min_size=1, max_size=4).map("\n".join))
def test_random_derivations_always_get_a_report(text: str) -> None:
    limits = ToolLimits(timeout_s=1.0)
    start = time.perf_counter()
    report = check_derivation(text, limits=limits)
    steps = max(1, len(report.steps))
    assert time.perf_counter() - start < steps * 1.5 + 1.0
    assert report.verdict in {"correct", "incorrect", "unverifiable"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_never_raises_uncaught(text: str) -> None:
    with contextlib.suppress(ToolError):
        parse_math(text)


def test_source_never_evaluates_strings() -> None:
    """No eval/exec/sympify/parse_expr call anywhere in the package source."""
    pattern = re.compile(r"\b(eval|exec|sympify|parse_expr|S)\(\s*(?!\))")
    offenders = []
    for path in SRC.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code) and "literal_eval" not in code:
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mathy, st.text(max_size=20)), min_size=1, max_size=4).map("\n".join))
def test_check_derivation_never_raises(text: str) -> None:
    """Issue 15: the checker answers every text with a report (a crash is a failed ask)."""
    report = check_derivation(text, limits=ToolLimits(timeout_s=1.0))
    assert report.verdict in {"correct", "incorrect", "unverifiable"}
    assert len(report.steps) == sum(
        1
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "//"))
    )
