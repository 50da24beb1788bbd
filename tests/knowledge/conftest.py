"""Fixtures for the knowledge tests: synthetic notes, knowledge bases in tmp dirs, no network.

The real embedder is used throughout (its weights ship in the package, it loads once per process);
one index over the real notes is built once per session and shared.
"""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mltutor.knowledge.base import KnowledgeBase, open_knowledge_base
from mltutor.knowledge.notes import bundled_notes_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
STUDY_GUIDE = REPO_ROOT.parent / "shared" / "material" / "ml-math-study-guide.ru-en.txt"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the machine: the knowledge base must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or self.family == socket.AF_UNIX
        ):
            raise OSError(f"network access attempted in an offline test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _no_chroma_default_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's default embedder downloads ONNX weights; calling it is a bug."""
    from chromadb.api import types

    def boom(self: Any, input: Any) -> Any:
        raise AssertionError("Chroma's default embedding function was called")

    monkeypatch.setattr(types.DefaultEmbeddingFunction, "__call__", boom)


def note_text(
    slug: str,
    title: str,
    *,
    title_ru: str = "",
    aliases: list[str] | None = None,
    keywords_en: list[str] | None = None,
    keywords_ru: list[str] | None = None,
    sections: dict[str, str] | None = None,
    n_questions: int = 4,
) -> str:
    """A note in the documented format (front matter + ``##`` sections)."""
    meta = {
        "slug": slug,
        "title": title,
        "title_ru": title_ru,
        "aliases": aliases or [],
        "keywords_en": keywords_en or [],
        "keywords_ru": keywords_ru or [],
        "checks": [],
        "questions": [
            {
                "id": f"{slug}-{i}",
                "difficulty": ("easy", "medium", "hard")[i % 3],
                "question": f"Question {i} about {title}?",
                "reference_answer": f"Answer {i} about {title}.",
                "key_points": [f"point {i}a", f"point {i}b", f"point {i}c"],
                "follow_ups": [f"Follow-up {i}?"],
            }
            for i in range(1, n_questions + 1)
        ],
    }
    body = "\n\n".join(
        f"## {h}\n\n{textwrap.dedent(t).strip()}" for h, t in (sections or {}).items()
    )
    return f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n\n{body}\n"


SYNTHETIC: dict[str, dict[str, Any]] = {
    "calculus": {
        "title": "Calculus for ML",
        "title_ru": "Матанализ для ML",
        "aliases": ["calculus", "матанализ", "производные"],
        "keywords_en": ["derivative", "sigmoid derivative", "chain rule"],
        "keywords_ru": ["производная", "цепное правило"],
        "sections": {
            "Key formulas": "### Sigmoid\n\nThe sigmoid derivative is s(x)(1 - s(x)).\n\n"
            "### ReLU\n\nReLU derivative is 1 for positive inputs, else 0.",
            "Intuition": "Gradients flow backwards through the chain rule in backpropagation.",
            "Кратко": "Производная сигмоиды выражается через саму сигмоиду.",
        },
    },
    "statistics": {
        "title": "Statistics",
        "title_ru": "Статистика",
        "aliases": ["stats", "статистика"],
        "keywords_en": ["p-value", "confidence interval", "bootstrap"],
        "keywords_ru": ["p-значение", "доверительный интервал", "бутстрап"],
        "sections": {
            "Key formulas": "A 95% confidence interval is mean ± 1.96 standard errors.",
            "Bootstrap": "Resample the data with replacement many times to estimate variability.",
            "Кратко": "Бутстрап оценивает разброс статистики повторной выборкой с возвращением.",
        },
    },
    "linear-algebra": {
        "title": "Linear Algebra",
        "title_ru": "Линейная алгебра",
        "aliases": ["linalg", "линал"],
        "keywords_en": ["eigenvalue", "SVD", "matrix rank"],
        "keywords_ru": ["собственные значения", "сингулярное разложение"],
        "sections": {
            "Key formulas": "SVD factors X = U S V^T with orthogonal U and V.",
            "Eigenvalues": "An eigenvector keeps its direction: A v = lambda v.",
        },
    },
}


def write_synthetic_notes(root: Path) -> Path:
    """Write the synthetic notes into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for slug, spec in SYNTHETIC.items():
        (root / f"{slug}.md").write_text(note_text(slug, **spec), encoding="utf-8")
    return root


@pytest.fixture
def synthetic_notes(tmp_path: Path) -> Path:
    return write_synthetic_notes(tmp_path / "notes")


class Recorder:
    """Collects progress messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: str) -> None:
        self.messages.append(message)

    def saw(self, fragment: str) -> bool:
        return any(fragment in m for m in self.messages)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def small_kb(tmp_path: Path, synthetic_notes: Path, recorder: Recorder) -> Iterator[KnowledgeBase]:
    """A knowledge base over the synthetic notes in a fresh data dir."""
    kb = open_knowledge_base(
        data_dir=tmp_path / "data", chroma_url=None, progress=recorder, notes_dir=synthetic_notes
    )
    yield kb
    kb.close()


def real_notes_present() -> bool:
    return any(bundled_notes_dir().glob("*.md"))


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-kb")


@pytest.fixture(scope="session")
def real_kb(real_data_dir: Path) -> Iterator[KnowledgeBase]:
    """One knowledge base over the bundled notes, built once for the whole session."""
    if not real_notes_present():
        pytest.skip("no bundled notes yet")
    kb = open_knowledge_base(data_dir=real_data_dir, chroma_url=None)
    kb.ensure_index()
    yield kb
    kb.close()


def random_embed(texts: Any) -> Any:
    """A fast stand-in embedder (deterministic per text) for tests about storage, not relevance."""
    import hashlib

    import numpy as np

    rows = []
    for t in texts:
        seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).normal(size=512).astype(np.float32)
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows) if rows else np.zeros((0, 512), dtype=np.float32)
