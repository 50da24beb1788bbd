"""Fakes for the eval harness tests: a chat model that answers by question, a fast grader, a retriever."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from mltutor.agent.events import Citation
from mltutor.agent.llm import Completion


def last_user(messages: list[dict[str, Any]]) -> str:
    return next((str(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")


class KeyedChatModel:
    """Answers each request with ``answer(last user message)``; thread-safe; records every prompt."""

    def __init__(self, answer: Callable[[str], str | Exception], *, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.prompts: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "keyed-fake"

    def _reply(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            self.prompts.append(messages)
        out = self.answer(last_user(messages))
        if isinstance(out, Exception):
            raise out
        return out

    def complete(self, messages: list[dict[str, Any]], **kwargs: Any) -> Completion:
        return Completion(content="no tool")

    def stream(self, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        text = self._reply(messages)

        def pieces() -> Any:
            for i in range(0, len(text), 16):
                if self.delay:
                    time.sleep(self.delay)
                yield text[i : i + 16]

        return pieces()


_WORD = re.compile(r"[^\W\d_]{4,}")


class FakeGrade:
    def __init__(self, score: float, verdicts: list[str]) -> None:
        self.score = score
        self.band = "good" if score >= 7 else "partial" if score >= 4 else "wrong"
        self.key_points = [type("KP", (), {"verdict": v})() for v in verdicts]

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "band": self.band}


class LexicalGrader:
    """A fast stand-in for the grader: a key point is covered when most of its words appear.

    The real grader is used where the grade itself matters (the planted regression); this one is for
    runner mechanics (1,000 cases must not wait on real grading).
    """

    def __init__(self, key_points: dict[str, list[str]] | None = None) -> None:
        self.key_points = key_points or {}
        self.calls = 0
        self._lock = threading.Lock()

    def grade(
        self, question: str, answer: str, *, question_id: str | None = None, rubric: Any = None
    ) -> FakeGrade:
        with self._lock:
            self.calls += 1
        points = self.key_points.get(question_id or "", []) or (
            list(rubric.key_points) if rubric is not None else [question]
        )
        have = {w.lower() for w in _WORD.findall(answer)}
        verdicts = []
        for p in points:
            words = {w.lower() for w in _WORD.findall(p)}
            ok = bool(words) and len(words & have) / len(words) >= 0.6
            verdicts.append("covered" if ok else "missing")
        score = 10.0 * verdicts.count("covered") / len(verdicts) if verdicts else 0.0
        return FakeGrade(score, verdicts)


class RecordingRetriever:
    """Returns the given chunks best first, honouring ``exclude_question_ids``; records each call."""

    def __init__(self, chunks: list[Citation]) -> None:
        self.chunks = chunks
        self.calls: list[tuple[str, int, tuple[str, ...]]] = []

    def __call__(
        self, query: str, k: int, *, exclude_question_ids: Collection[str] = ()
    ) -> list[Citation]:
        self.calls.append((query, k, tuple(exclude_question_ids)))
        return [c for c in self.chunks if c.question_id not in set(exclude_question_ids)][:k]
