"""Convert the derivation checker's test corpora into the bundled ``derivations`` eval suite.

Run ``python -m tests.evals.make_derivations_suite`` after changing ``tests/tools/data/*.yaml``;
``tests/evals/test_bundled.py`` fails while the shipped file and the corpora differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPORA = [
    ROOT / "tests/tools/data/derivations.yaml",
    ROOT / "tests/tools/data/derivations_extra.yaml",
]
TARGET = ROOT / "src/mltutor/evals/data/derivations.jsonl"

TOPIC_PREFIXES = {
    # the corpora carry no topic field; the first word of an id names the subject, mapped here to the
    # note (src/mltutor/knowledge/notes/<slug>.md) that covers it
    "calculus": (
        "calc chain power product quotient sigmoid tanh softplus relu act log exp sqrt integral "
        "int taylor second loss mse bce cross logistic logit softmax logsumexp"
    ),
    "information-theory": "entropy kl",
    "constrained-optimization": "lagrangian",
    "regularization": "ridge lasso elastic weight",
    "multiple-testing": "fwer bonferroni",
    "statistics": "ab t standard vif se ci z sample mle",
    "scaling-laws": "chinchilla",
    "ensembles": "gini",
    "probability": (
        "gaussian gauss exponential bernoulli poisson bayes die uniform expectation expected "
        "binomial"
    ),
    "second-order-optimization": "hessian",
    "random-projections": "jl",
}
_TOPIC_OF = {word: slug for slug, words in TOPIC_PREFIXES.items() for word in words.split()}


def _topic(case_id: str) -> str:
    return _TOPIC_OF.get(case_id.split("-", 1)[0], "")


def suite_lines() -> list[str]:
    """The suite's JSONL lines, one per corpus derivation, in corpus order."""
    lines = []
    for path in CORPORA:
        cases: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
        for c in cases:
            steps = c["text"].rstrip("\n").split("\n")
            line = {
                "kind": "derivation",
                "id": c["id"],
                "topic": _topic(c["id"]),
                "language": "en",
                "notation": c.get("notation", ""),
                "steps": steps,
                "first_wrong_step": c.get("first_wrong"),
            }
            lines.append(json.dumps(line, ensure_ascii=False))
    return lines


def main() -> None:
    TARGET.write_text("\n".join(suite_lines()) + "\n", encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
