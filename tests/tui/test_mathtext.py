"""LaTeX → Unicode conversion for the terminal, and math spans in streamed Markdown."""

from __future__ import annotations

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
        (r"\begin{aligned} a &= b \\ &= c \end{aligned}", "a = b\n= c"),
        (
            r"|x| = \begin{cases} x & x \ge 0 \\ -x & x < 0 \end{cases}",
            "|x| = { x, if x ≥ 0\n{ -x, if x < 0",
        ),
    ],
)
def test_converts_common_latex(latex: str, expected: str) -> None:
    assert latex_to_unicode(latex) == expected


@pytest.mark.parametrize(
    "latex",
    [
        r"\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}",  # matrices stay raw
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


def test_markdown_keeps_code_currency_and_unconvertible_math() -> None:
    text = (
        "It costs $5 and $10.\n"
        "Inline `$x^2$` code and \\$escaped\\$ dollars.\n"
        "```python\nprint('$\\alpha$')\n```\n"
        "A matrix $\\begin{pmatrix}1\\end{pmatrix}$ stays."
    )
    assert render_markdown(text) == text


def test_markdown_escapes_formatting_in_converted_math() -> None:
    # x_i would become emphasis in Markdown if the underscore stayed
    assert render_markdown("$a * b_{k+w}$") == "a \\* b\\_(k+w)"


SAMPLES = [
    "The derivative is $\\frac{d}{dx} x^2 = 2x$ and $$\\int_0^1 x\\,dx = \\frac{1}{2}$$ holds.",
    "Steps:\n\n$$\n\\nabla_w L = X^\\top (Xw - y)\n$$\n\nso `grad` is $O(nd)$; costs $5.\n",
    "```\ncode $not math$\n```\nthen \\(\\alpha\\) and \\[\\beta^2\\] and a lone \\$ sign.",
    "Unclosed $x^2 at the end",
    "Mixed **bold** and $\\hat{y}_i - y_i$ with $e^{-x}$.",
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
