"""Scripted turns, stored sessions and topics for the fake service (fixed, so snapshots are stable)."""

from __future__ import annotations

from typing import Any

from mltutor.agent.events import (
    Citation,
    Event,
    FinalEvent,
    PhaseEvent,
    RetrievalEvent,
    TokenEvent,
    ToolResultEvent,
    ToolStartedEvent,
    VerificationEvent,
)
from mltutor.agent.service import (
    ToolCallRecord,
    TopicInfo,
    TranscriptEntry,
    VerificationRecord,
)

SIGMOID_CITATIONS = [
    Citation(
        label="calculus § Sigmoid derivative",
        topic="calculus",
        heading="Sigmoid derivative",
        source="calculus.md",
        score=0.91,
        text="σ'(x) = σ(x)(1 − σ(x)); the derivative peaks at x = 0 with value 1/4.",
    ),
    Citation(
        label="numerical-stability § Logistic loss",
        topic="numerical-stability",
        heading="Logistic loss",
        source="numerical-stability.md",
        score=0.64,
        text="Compute log σ(x) as -softplus(-x) to avoid overflow.",
    ),
]

SIGMOID_ANSWER = (
    "The sigmoid is $\\sigma(x) = \\frac{1}{1+e^{-x}}$. Differentiating,\n\n"
    "$$\n\\sigma'(x) = \\frac{e^{-x}}{(1+e^{-x})^2} = \\sigma(x)\\,(1-\\sigma(x))\n$$\n\n"
    "so the derivative is largest at $x = 0$, where it equals $\\frac{1}{4}$ [1]."
)


SIGMOID_ARGS: dict[str, Any] = {"expr": "1/(1+exp(-x))", "wrt": ["x"]}

SIGMOID_DERIVATIVE: dict[str, Any] = {
    "derivative": {
        "text": "exp(x)/(exp(x) + 1)**2",
        "latex": "\\frac{e^{x}}{\\left(e^{x} + 1\\right)^{2}}",
        "pretty": "    x    \n   ℯ     \n─────────\n        2\n⎛ x    ⎞ \n⎝ℯ  + 1⎠ ",
    },
    "notation": "d/dx",
    "value_at": None,
    "numeric_at": None,
}
"""What ``mltutor.tools`` returns for SIGMOID_ARGS (test_fakes checks it against the real tool)."""


def tokens_of(text: str, size: int = 6) -> list[str]:
    """Split ``text`` into streaming pieces of ``size`` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def sigmoid_script(answer: str = SIGMOID_ANSWER) -> list[Event]:
    """A full turn: retrieval, prompt reading, one tool call, streamed answer, verification."""
    events: list[Event] = [
        PhaseEvent(phase="retrieving"),
        RetrievalEvent(hits=SIGMOID_CITATIONS),
        ToolStartedEvent(call_id="c1", name="differentiate", args=SIGMOID_ARGS),
        ToolResultEvent(
            call_id="c1",
            name="differentiate",
            ok=True,
            result=SIGMOID_DERIVATIVE,
            summary="differentiate: exp(x)/(exp(x) + 1)^2",
        ),
        PhaseEvent(phase="reading", detail="1,200 tokens of notes", progress=0.0),
        PhaseEvent(phase="reading", detail="1,200 tokens of notes", progress=0.5),
        PhaseEvent(phase="writing"),
    ]
    events += [TokenEvent(text=t) for t in tokens_of(answer)]
    events += [
        PhaseEvent(phase="verifying"),
        VerificationEvent(claims_checked=2, claims_failed=0),
        FinalEvent(
            answer=answer,
            citations=[SIGMOID_CITATIONS[0]],
            verified="2 claims checked by the math tools.",
        ),
    ]
    return events


HESSIAN_ARGS: dict[str, Any] = {"expr": "x^3 - 3*x + y^2", "variables": ["x", "y"]}

HESSIAN_RESULT: dict[str, Any] = {
    "variables": ["x", "y"],
    "hessian": {
        "text": "[[6*x, 0], [0, 2]]",
        "latex": "\\left[\\begin{matrix}6 x & 0\\\\0 & 2\\end{matrix}\\right]",
        "pretty": "⎡6⋅x  0⎤\n⎢      ⎥\n⎣ 0   2⎦",
    },
    "constant_eigenvalues": None,
    "points": [
        {
            "point": {"x": "-1", "y": "0"},
            "point_numeric": {"x": -1.0, "y": 0.0},
            "hessian": {
                "text": "[[-6, 0], [0, 2]]",
                "latex": "\\left[\\begin{matrix}-6 & 0\\\\0 & 2\\end{matrix}\\right]",
                "pretty": "⎡-6  0⎤\n⎢     ⎥\n⎣0   2⎦",
            },
            "eigenvalues": [-6.0, 2.0],
            "classification": "saddle",
        },
        {
            "point": {"x": "1", "y": "0"},
            "point_numeric": {"x": 1.0, "y": 0.0},
            "hessian": {
                "text": "[[6, 0], [0, 2]]",
                "latex": "\\left[\\begin{matrix}6 & 0\\\\0 & 2\\end{matrix}\\right]",
                "pretty": "⎡6  0⎤\n⎢    ⎥\n⎣0  2⎦",
            },
            "eigenvalues": [2.0, 6.0],
            "classification": "minimum",
        },
    ],
    "note": "critical points from solving ∇f = 0: found 2",
}
"""What ``mltutor.tools`` returns for HESSIAN_ARGS (test_fakes checks it against the real tool)."""

HESSIAN_ANSWER = (
    "The Hessian of $f(x, y) = x^3 - 3x + y^2$ is\n\n"
    "\\[ H = \\begin{pmatrix} 6x & 0 \\\\ 0 & 2 \\end{pmatrix} \\]\n\n"
    "At the critical point $(-1, 0)$ the eigenvalues are $-6$ and $2$: a **saddle**. "
    "At $(1, 0)$ both are positive, so it is a **minimum**."
)


def hessian_script() -> list[Event]:
    """A turn whose tool result is a matrix with classified critical points."""
    events: list[Event] = [
        ToolStartedEvent(call_id="h1", name="hessian", args=HESSIAN_ARGS),
        ToolResultEvent(call_id="h1", name="hessian", ok=True, result=HESSIAN_RESULT),
    ]
    events += [TokenEvent(text=t) for t in tokens_of(HESSIAN_ANSWER)]
    events += [
        VerificationEvent(claims_checked=1, claims_failed=0),
        FinalEvent(answer=HESSIAN_ANSWER, verified="The Hessian was computed by the math tools."),
    ]
    return events


LONG_FORMULA_ANSWER = (
    "Expanding the squared error around the mean prediction gives the decomposition\n\n"
    "$$\\mathbb{E}_{\\mathcal{D},\\varepsilon}\\left[(y - \\hat f(x;\\mathcal{D}))^2\\right]"
    " = \\left(\\mathbb{E}_{\\mathcal{D}}[\\hat f(x;\\mathcal{D})] - f(x)\\right)^2"
    " + \\mathbb{E}_{\\mathcal{D}}\\left[(\\hat f(x;\\mathcal{D})"
    " - \\mathbb{E}_{\\mathcal{D}}[\\hat f(x;\\mathcal{D})])^2\\right] + \\sigma^2$$\n\n"
    "1. **Bias**: error from wrong assumptions,\n"
    "   $$\n   \\text{Bias} = \\mathbb{E}[\\hat f(x)] - f(x)\n   $$\n"
    "2. **Variance**: spread of $\\hat f$ over training sets."
)


def bias_variance_script() -> list[Event]:
    """An answer with a formula far wider than 80 columns and a formula inside a list item."""
    return [
        *[TokenEvent(text=t) for t in tokens_of(LONG_FORMULA_ANSWER)],
        FinalEvent(answer=LONG_FORMULA_ANSWER),
    ]


def demo_sessions() -> list[tuple[str, list[TranscriptEntry]]]:
    """Two stored conversations for resume/export tests and the sessions snapshot."""
    return [
        (
            "Bayes rule for a medical test",
            [
                TranscriptEntry(role="user", content="P(disease | positive) for a 1% prior?"),
                TranscriptEntry(
                    role="assistant",
                    content="With sensitivity 0.99 and specificity "
                    "0.95, $P = \\frac{0.0099}{0.0099 + 0.0495} \\approx 0.167$.",
                    citations=["probability § Bayes rule"],
                    sources=[
                        Citation(
                            label="probability § Bayes rule",
                            topic="probability",
                            heading="Bayes rule",
                            source="probability.md",
                            score=0.8,
                            text="P(A|B) = P(B|A) P(A) / P(B): the posterior is the likelihood "
                            "times the prior, normalised by the evidence.",
                        )
                    ],
                    tool_calls=[
                        ToolCallRecord(
                            name="evaluate",
                            args={"expr": "0.0099/(0.0099 + 0.0495)"},
                            result={"value": 0.16666666666666669},
                            summary="evaluate: value = 0.166667",
                        )
                    ],
                    verification=VerificationRecord(claims_checked=1, claims_failed=0),
                    verified="1 claim checked by the math tools.",
                ),
            ],
        ),
        (
            "Derivative of softmax",
            [
                TranscriptEntry(role="user", content="What is the Jacobian of softmax?"),
                TranscriptEntry(
                    role="assistant",
                    content="$\\frac{\\partial s_i}{\\partial z_j} = s_i(\\delta_{ij} - s_j)$",
                    citations=["matrix-calculus § Softmax"],
                ),
            ],
        ),
    ]


DEMO_TOPICS = [
    ("calculus", "Calculus for ML: Gradients, Activation Derivatives and Backprop", 6),
    ("causal-inference", "Causal inference basics", 6),
    ("classification-metrics", "Classification Metrics: Precision, Recall, F1, ROC-AUC", 7),
    ("constrained-optimization", "Constrained Optimization: Lagrange Multipliers and KKT", 6),
    ("dimensionality-reduction", "Dimensionality Reduction: PCA, t-SNE and UMAP", 6),
    ("ensembles", "Ensemble Methods: Bagging, Random Forest, Boosting and GBDT", 7),
    ("information-geometry", "Information Geometry: Fisher Information and Natural Gradient", 6),
    ("information-theory", "Information Theory for ML: Entropy, Cross-Entropy, KL Divergence", 6),
    ("linear-algebra", "Linear Algebra for ML: Norms, Softmax, Cosine Similarity and SVD", 6),
    ("matrix-calculus", "Matrix calculus: Jacobian and Hessian", 6),
    ("mcmc", "MCMC sampling methods", 5),
    ("multiple-testing", "Multiple Testing Correction: FWER, FDR, Bonferroni, Holm, BH", 6),
    ("numerical-stability", "Numerical stability in ML (log-sum-exp, stable softmax)", 6),
    ("numpy-pandas", "NumPy and Pandas for ML interviews", 5),
    ("probability", "Probability for ML: Bayes' Theorem, Naive Bayes and Distributions", 6),
    ("random-projections", "Random Projections and the Johnson-Lindenstrauss Lemma", 5),
    ("regularization", "Regularization: L1/Lasso, L2/Ridge, ElasticNet, Dropout and BatchNorm", 7),
    ("scaling-laws", "LLM scaling laws (Kaplan, Chinchilla and after)", 5),
    ("second-order-optimization", "Second-Order Optimization: Newton, BFGS, L-BFGS", 6),
    ("spectral-methods", "Spectral Methods: Graph Laplacian and Spectral Clustering", 5),
    ("statistics", "Statistics for ML Interviews: CLT, Hypothesis Tests, A/B Tests", 11),
    ("test-time-compute", "Test-Time Compute Scaling for LLMs", 5),
    ("time-series", "Time series statistics (stationarity, ARIMA, ACF/PACF)", 5),
    ("vc-pac", "VC dimension and PAC learning", 6),
]
"""The bundled topics as of writing (titles shortened), fixed so snapshots do not follow note edits."""


def demo_topics(mastery: dict[str, float] | None = None) -> list[TopicInfo]:
    """The 24 topics, with mastery for the slugs given (None for the others)."""
    return [
        TopicInfo(slug=slug, title=title, questions=n, mastery=(mastery or {}).get(slug))
        for slug, title, n in DEMO_TOPICS
    ]


DEMO_NOTE = """\
## Key formulas

Newton's update:
$$ \\theta_{t+1} = \\theta_t - H^{-1} \\nabla f(\\theta_t), \\qquad H = \\nabla^2 f(\\theta) $$
plain: theta_(t+1) = theta_t - H^(-1) grad f(theta_t)

Quadratic convergence:
$$ |\\theta_{t+1} - \\theta^*| \\approx C\\, |\\theta_t - \\theta^*|^2 $$
plain: |theta_(t+1) - theta*| ~ C |theta_t - theta*|^2

## Intuition

- Gradient descent only knows the slope; Newton also knows the curvature and jumps to the
  bottom of the local parabola.
- Quasi-Newton methods learn the curvature from how the gradient changes (y ≈ H s).
"""
"""A short note in the bundled format (key formulas with their ``plain:`` lines first)."""
