"""Issue 15: a search query's length is capped in the knowledge layer, so every caller (the CLI,
the tutor's retrieval of a pasted page, the grader's notes search) gets bounded memory and time.

Chosen behaviour: a long query is cut (at a word boundary) to ``MAX_QUERY_CHARS`` and the cut is
reported through the knowledge base's ``progress``; it is not an error, because the tutor searches
with the user's whole question and a pasted page must still get an answer. Before the cap a
120 KB query used ~0.5 GB in the embedder alone (1.28 GB for the whole search).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from mltutor.knowledge.base import KnowledgeBase
from mltutor.knowledge.embedding import MAX_TEXT_CHARS, embed_texts
from mltutor.knowledge.retrieval import MAX_QUERY_CHARS, cap_query
from tests.knowledge.conftest import Recorder

T = TypeVar("T")
HUGE = ("derivative of the sigmoid производная сигмоиды chain rule " * 3000)[:120_000]


def traced(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, the peak of memory allocated while it ran (MB, numpy included), and seconds."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, peak, time.perf_counter() - start


def test_cap_query_cuts_at_a_word_and_says_so() -> None:
    assert cap_query("short query") == ("short query", None)
    exact = "x" * MAX_QUERY_CHARS
    assert cap_query(exact) == (exact, None)
    cut, note = cap_query(HUGE)
    assert 0 < len(cut) <= MAX_QUERY_CHARS and HUGE.startswith(cut)
    assert HUGE[len(cut)] == " "  # the cut falls between words
    assert note is not None and "120000" in note and str(MAX_QUERY_CHARS) in note
    one_word, note = cap_query("y" * 5000)
    assert one_word == "y" * MAX_QUERY_CHARS and note is not None


def test_embedding_a_huge_text_is_bounded() -> None:
    embed_texts(["load the model first: its loading is not what is measured"])
    (vec,), peak, seconds = traced(lambda: embed_texts([HUGE]))
    assert peak < 150, f"{peak:.0f} MB for one 120 KB text"
    assert seconds < 20
    assert np.allclose(vec, embed_texts([HUGE[:MAX_TEXT_CHARS]])[0], atol=1e-5)


def test_a_120kb_query_is_cut_with_a_note_and_bounded(
    small_kb: KnowledgeBase, recorder: Recorder
) -> None:
    small_kb.ensure_index()
    small_kb.search("warm up", k=3)
    hits, peak, seconds = traced(lambda: small_kb.search(HUGE, k=3))
    assert peak < 200, f"{peak:.0f} MB for a 120 KB query"
    assert seconds < 20
    assert recorder.saw("only its first") and recorder.saw("120000 characters")
    assert hits and hits[0].topic == "calculus"
    cut, _ = cap_query(HUGE)
    assert [h.text for h in hits] == [h.text for h in small_kb.search(cut, k=3)]
