"""LaTeX → Unicode conversion for the terminal, and math spans in streamed Markdown."""

from __future__ import annotations

import io

import pytest

from mltutor.tui.mathtext import latex_to_unicode, render_markdown


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"\frac{\partial L}{\partial w} = 2x^2", "∂L/∂w = 2x²"),
        (r"\frac{1}{1+e^{-x}}", "1/(1+e⁻ˣ)"),
        (r"\frac{a+b}{c}", "(a+b)/c"),
        (r"\frac{e^{-x}}{(1+e^{-x})^2}", "e⁻ˣ/(1+e⁻ˣ)²"),
        (r"\frac{a}{b}^2", "(a/b)²"),
        (r"\frac{d}{dx} x^2", "d/dx x²"),
        (r"\frac{1}{2}x", "1/2 x"),
        (r"\sqrt{x}", "√x"),
        (r"\sqrt{x^2+y^2}", "√(x²+y²)"),
        (r"\sqrt[3]{x}", "³√x"),
        (r"\sqrt{x}^2", "(√x)²"),
        (r"x_1 + x_{ij}", "x₁ + xᵢⱼ"),
        (r"x^{(t)}", "x⁽ᵗ⁾"),
        (r"A^{-1}", "A⁻¹"),
        (r"e^{-x^2/2}", "e^(-x²/2)"),
        (r"\mathbf{w}^\top \mathbf{x}", "wᵀ x"),
        (r"\sum_{i=1}^{n} x_i^2", "Σᵢ₌₁ⁿ xᵢ²"),
        (r"\int_0^\infty e^{-x}\,dx = 1", "∫₀^∞ e⁻ˣ dx = 1"),
        (r"\lim_{x \to 0} \frac{\sin x}{x}", "lim_(x→0) (sin x)/x"),
        (r"\alpha + \beta \cdot \gamma \leq \Omega", "α + β · γ ≤ Ω"),
        (r"\nabla_\theta \mathcal{L}", "∇_θ ℒ"),
        (r"\frac{\partial L}{\partial \theta}", "∂L/∂θ"),
        (r"\lambda \|w\|_2^2", "λ ‖w‖₂²"),
        (r"\mathbb{E}[X] = \mu", "𝔼[X] = μ"),
        (r"X \sim \mathcal{N}(0, \sigma^2)", "X ∼ 𝒩(0, σ²)"),
        (r"\hat{y}_i", "y\u0302ᵢ"),
        (r"\bar{x} \pm 1.96 \frac{s}{\sqrt{n}}", "x\u0304 ± 1.96 s/√n"),
        (r"\left( \frac{a}{b} \right)^2", "(a/b)²"),
        (r"p(x \mid \theta) \propto \exp(-x)", "p(x | θ) ∝ exp(-x)"),
        (r"\operatorname{KL}(p\|q) \geq 0", "KL(p‖q) ≥ 0"),
        (r"\text{if } x > 0", "if x > 0"),
        (r"\sigma'(x) = \sigma(x)(1-\sigma(x))", "σ'(x) = σ(x)(1-σ(x))"),
        # inline math stays on one line, environments included
        (r"\begin{aligned} a &= b \\ &= c \end{aligned}", "a = b; = c"),
        (
            r"|x| = \begin{cases} x & x \ge 0 \\ -x & x < 0 \end{cases}",
            "|x| = {x, if x ≥ 0; -x, if x < 0}",
        ),
        (r"H = \begin{pmatrix} 6x & 0 \\ 0 & 2 \end{pmatrix}", "H = (6x, 0; 0, 2)"),
        (r"\left[\begin{matrix}6 x & 0\\0 & 2\end{matrix}\right]", "[6 x, 0; 0, 2]"),
        (r"\mathbf{v} = \begin{bmatrix} 1 \\ 2 \end{bmatrix}^\top", "v = [1; 2]ᵀ"),
    ],
)
def test_converts_common_latex(latex: str, expected: str) -> None:
    assert latex_to_unicode(latex) == expected


@pytest.mark.parametrize(
    "latex",
    [
        r"\begin{tabular}{cc}1 & 2\end{tabular}",  # not math
        r"\begin{pmatrix}1 & 2",  # never closed
        r"\unknowncommand{x}",
        r"\frac{a}{b",  # unbalanced
        r"x^",  # missing argument
        r"a } b",
        "\\",
    ],
)
def test_leaves_what_it_cannot_convert(latex: str) -> None:
    assert latex_to_unicode(latex) is None


def test_markdown_inline_and_display_math() -> None:
    text = (
        "The sigmoid $\\sigma(x) = \\frac{1}{1+e^{-x}}$ has\n\n"
        "$$\n\\sigma'(x) = \\sigma(x)(1-\\sigma(x))\n$$\n\n"
        "and \\(x_1\\), \\[y^2\\] too."
    )
    assert render_markdown(text) == (
        "The sigmoid σ(x) = 1/(1+e⁻ˣ) has\n\n```math\nσ'(x) = σ(x)(1-σ(x))\n```\n\nand x₁, y² too."
    )


def test_markdown_keeps_code_currency_and_escaped_dollars() -> None:
    text = (
        "It costs $5 and $10.\n"
        "Inline `$x^2$` code and \\$escaped\\$ dollars.\n"
        "```python\nprint('$\\alpha$')\n```\n"
    )
    assert render_markdown(text) == text


def test_unconvertible_math_is_shown_as_code_so_markdown_keeps_its_backslashes() -> None:
    assert render_markdown("see \\(\\weird{x}\\) here") == "see `\\(\\weird{x}\\)` here"
    assert render_markdown("$$\n\\weird{x}\n$$") == "```latex\n$$\n\\weird{x}\n$$\n```"


def test_markdown_escapes_formatting_in_converted_math() -> None:
    # x_i would become emphasis in Markdown if the underscore stayed
    assert render_markdown("$a * b_{k+w}$") == "a \\* b\\_(k+w)"


SAMPLES = [
    "The derivative is $\\frac{d}{dx} x^2 = 2x$ and $$\\int_0^1 x\\,dx = \\frac{1}{2}$$ holds.",
    "Steps:\n\n$$\n\\nabla_w L = X^\\top (Xw - y)\n$$\n\nso `grad` is $O(nd)$; costs $5.\n",
    "```\ncode $not math$\n```\nthen \\(\\alpha\\) and \\[\\beta^2\\] and a lone \\$ sign.",
    "Unclosed $x^2 at the end",
    "Mixed **bold** and $\\hat{y}_i - y_i$ with $e^{-x}$.",
    "1. item:\n   $$\n   H = \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}\n   $$\n2. next",
    "Model fence:\n\n```math\n\\sum_i x_i\n```\nafter $\\weird{y}$ end.",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_streaming_only_ever_appends(text: str) -> None:
    """Each longer prefix renders to an extension of the shorter one (so the UI only appends)."""
    previous = ""
    for end in range(len(text) + 1):
        shown = render_markdown(text[:end], partial=True)
        assert shown.startswith(previous), (text[:end], previous, shown)
        previous = shown
    # and nothing is lost: the complete text renders to at least what was streamed
    assert render_markdown(text).startswith(previous)


def test_partial_holds_back_an_open_formula() -> None:
    assert render_markdown("so $\\frac{1}{", partial=True) == "so "
    assert render_markdown("so $\\frac{1}{2}$ is", partial=True) == "so 1/2 is"


@pytest.mark.parametrize("text", SAMPLES)
def test_stream_renderer_matches_full_rendering(text: str) -> None:
    from mltutor.tui.mathtext import StreamRenderer

    doubled = text + "\n\n" + text  # more paragraphs, so some get sealed
    renderer = StreamRenderer()
    for end in range(len(doubled) + 1):
        assert renderer.render(doubled[:end]) == render_markdown(doubled[:end], partial=True)


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (
            r"H = \begin{pmatrix} 6x & 0 \\ 0 & 2 \end{pmatrix}",
            "H = ⎛6x  0⎞\n    ⎝ 0  2⎠",
        ),
        (
            r"\left[\begin{matrix}-6 & 0\\0 & 2\end{matrix}\right]",  # SymPy's own LaTeX
            "⎡-6  0⎤\n⎣ 0  2⎦",
        ),
        (
            r"\mathbf{v} = \begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}",
            "    ⎡1⎤\nv = ⎢2⎥\n    ⎣3⎦",
        ),
        (
            r"\det \begin{vmatrix} a & b \\ c & d \end{vmatrix} = ad - bc",
            "det │a  b│ = ad - bc\n    │c  d│",
        ),
        (
            r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \\ -1 & x < 0 \end{cases}",
            "       ⎧ 1,  if x > 0\nf(x) = ⎨ 0,  otherwise\n       ⎩ -1, if x < 0",
        ),
        (
            r"\begin{aligned} L &= (y - w x)^2 \\ &= y^2 - 2wxy \end{aligned}",
            "L = (y - w x)²\n  = y² - 2wxy",
        ),
        (r"\sum_{i=1}^{n} x_i = n\bar{x}", " n\n Σ  xᵢ = nx\u0304\ni=1"),
        (r"\lim_{x \to 0} \frac{\sin x}{x} = 1", "lim (sin x)/x = 1\nx→0"),
        (r"\int_0^1 x\,dx", "1\n∫ x dx\n0"),
    ],
)
def test_display_math_is_laid_out_in_two_dimensions(latex: str, expected: str) -> None:
    assert latex_to_unicode(latex, display=True) == expected


def test_display_formula_in_a_list_item_stays_in_the_list() -> None:
    from rich.console import Console

    from mltutor.tui.widgets.markdown_body import render_chunk

    answer = (
        "1. **Bias**: error from wrong assumptions:\n"
        "   $$\n   \\text{Bias} = \\mathbb{E}[\\hat f] - f\n   $$\n"
        "2. **Variance**: spread over training sets."
    )
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(render_chunk(render_markdown(answer)))
    painted = console.export_text()
    assert "Bias = 𝔼[f\u0302] - f" in painted
    assert "**" not in painted and "```" not in painted and "$$" not in painted
    assert "2 Variance: spread over training sets." in painted  # the list went on


def test_a_math_fence_written_by_the_model_is_converted() -> None:
    answer = (
        "Decomposition:\n\n```math\n\\mathbb{E}[(y-\\hat f)^2] = \\text{Bias}^2 + \\sigma^2\n```\n"
    )
    assert render_markdown(answer) == (
        "Decomposition:\n\n```math\n𝔼[(y-f\u0302)²] = Bias² + σ²\n```\n"
    )
    # while it streams, an unclosed math fence is held back rather than shown raw
    assert render_markdown(answer[:30], partial=True) == "Decomposition:\n\n"


def test_a_wide_matrix_falls_back_to_one_line_and_long_formulas_break_at_operators() -> None:
    from mltutor.tui.widgets.markdown_body import formula_lines

    block = render_markdown("$$M = \\begin{pmatrix} a+b+c+d & e \\\\ f & g \\end{pmatrix}$$")
    code = block.removeprefix("```math\n").removesuffix("\n```")
    assert formula_lines(code, 40) == ["M = ⎛a+b+c+d  e⎞", "    ⎝   f     g⎠"]
    assert formula_lines(code, 14) == ["M = (a+b+c+d,", "    e; f, g)"]
    long = "σ'(x) = e⁻ˣ/(1+e⁻ˣ)² = σ(x)(1-σ(x)) = 1/(1+e⁻ˣ) (1-1/(1+e⁻ˣ))"
    lines = formula_lines(long, 40)
    assert lines[0] == "σ'(x) = e⁻ˣ/(1+e⁻ˣ)² = σ(x)(1-σ(x))"
    assert lines[1] == "      = 1/(1+e⁻ˣ) (1-1/(1+e⁻ˣ))"  # "=" under "="
    assert all(len(line) <= 40 for line in lines)
    # never inside brackets while an operator outside them will do
    assert formula_lines("f = (a + b + c + d + e) + (g + h)", 26) == [
        "f = (a + b + c + d + e)",
        "    + (g + h)",  # under the first term
    ]
