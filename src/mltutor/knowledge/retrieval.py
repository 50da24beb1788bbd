"""Hybrid retrieval: dense (Chroma) + lexical (BM25) candidates fused by reciprocal rank fusion.

RRF needs no score calibration between cosine distances and BM25 scores, which live on unrelated
scales: each list contributes ``1 / (k + rank)`` per chunk. Dense search carries cross-lingual and
paraphrased queries (a Russian question about an English section); BM25 carries exact terms and
acronyms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from mltutor.knowledge.chunking import Chunk
from mltutor.knowledge.lexical import LexicalIndex

# RRF constants per list. A smaller k makes a list's top ranks count for more. BM25 gets the sharper
# one because on the eval set it is far stronger than USE embeddings on this technical, half-Russian
# material (hit@1 0.94 vs 0.73); dense ranks still break ties between lexical candidates, add
# recall (hit@3 0.97 -> 0.98) and carry queries that share no word with the notes.
RRF_K_DENSE = 60
RRF_K_LEXICAL = 10
CANDIDATES = 40  # per list; enough for fusion to find agreement, cheap for both back ends
# Fused score multiplier for chunks in the requested language (``search(..., language="ru")``): a
# Russian query then prefers the Russian version of a section over its English original, without
# hiding English-only material. Chosen on the "tune" split of the section-level eval (never on
# "report"): boosts from 1.0 to 3.0 left topic and section hit@1/hit@3 unchanged there, while the
# share of top-3 hits in the query's language rose from 0.90 (no boost) to 0.95 (1.25) and 0.99
# (1.5) for Russian queries and from 0.96 to 1.00 for English ones; 1.5 is the smallest boost that
# gets there.
LANGUAGE_BOOST = 1.5
MAX_QUERY_CHARS = 2000
"""Longest query a search uses; longer ones are cut here (see :func:`cap_query`). Embedding is
linear in the text's length: a 120 KB query took ~0.5 GB and 2.4 s in the embedder alone."""


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return: applied to both candidate lists before fusion and top-k."""

    exclude_question_ids: frozenset[str] = frozenset()
    kinds: frozenset[str] | None = None

    def admits(self, chunk: Chunk) -> bool:
        """True if ``chunk`` may be returned."""
        if chunk.question_id and chunk.question_id in self.exclude_question_ids:
            return False
        return self.kinds is None or chunk.kind in self.kinds

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered out."""
        return not self.exclude_question_ids and self.kinds is None


NO_FILTER = SearchFilter()


class DenseSearch(Protocol):
    """Nearest chunks to a query as (id, distance), best first, honouring topic and filter."""

    def __call__(
        self, query: str, n: int, topic: str | None, flt: SearchFilter, /
    ) -> list[tuple[str, float]]: ...


class Hit(BaseModel):
    """One search result, ready for the CLI, the TUI and the tutor's citations."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    topic: str
    """Topic slug (``user`` for the user's own material)."""
    title: str
    """Title of the note or file."""
    heading: str
    """Heading path below the title, e.g. ``Key formulas > Sigmoid``."""
    source: str
    """``notes/<slug>.md`` or the user's file path."""
    score: float
    """Fused retrieval score (higher is better; comparable within one search only)."""
    text: str
    """The chunk's text."""
    citation: str
    """What the UI shows: ``calculus § Sigmoid``."""
    kind: str = ""
    """``summary``, ``section``, ``question`` or ``user``."""
    language: str = "en"
    """``en`` or ``ru``: the language of the chunk's text."""
    question_id: str = ""
    """The bank question's id when the hit is a question chunk, else ``""``."""

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``mltutor search --json`` (plus ``citation``)."""
        return {
            "topic": self.topic,
            "title": self.title,
            "heading": self.heading,
            "source": self.source,
            "score": round(self.score, 6),
            "text": self.text,
            "citation": self.citation,
            "kind": self.kind,
            "language": self.language,
            "question_id": self.question_id,
        }

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float) -> Hit:
        return cls(
            topic=chunk.topic,
            title=chunk.title,
            heading=chunk.heading,
            source=chunk.source,
            score=score,
            text=chunk.text,
            citation=chunk.citation,
            kind=chunk.kind,
            language=chunk.language,
            question_id=chunk.question_id,
        )


def rrf(rankings: Sequence[Sequence[str]], ks: Sequence[int]) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: ``sum(1 / (k_list + rank))``; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking, k in zip(rankings, ks, strict=True):
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def prefer_language(
    fused: Sequence[tuple[str, float]],
    chunks: Mapping[str, Chunk],
    language: str | None,
    boost: float,
) -> list[tuple[str, float]]:
    """Multiply the scores of chunks in ``language`` by ``boost`` and re-sort (stable)."""
    if language is None:
        return list(fused)
    boosted = [(cid, s * boost if chunks[cid].language == language else s) for cid, s in fused]
    return sorted(boosted, key=lambda kv: -kv[1])


def cap_query(query: str, limit: int = MAX_QUERY_CHARS) -> tuple[str, str | None]:
    """``query`` cut to ``limit`` characters (at a word boundary when there is one), and a note
    saying so for the user, or ``None`` when it was short enough."""
    if len(query) <= limit:
        return query, None
    cut = query[:limit]
    head = cut.rsplit(None, 1)[0] if len(cut.split(None, 1)) > 1 else cut
    note = (
        f"the search query was {len(query)} characters long; only its first {len(head)} "
        f"were searched (the limit is {limit})"
    )
    return head, note


def hybrid_search(
    query: str,
    *,
    dense: DenseSearch,
    lexical: LexicalIndex,
    chunks: Mapping[str, Chunk],
    k: int = 5,
    topic: str | None = None,
    candidates: int = CANDIDATES,
    flt: SearchFilter = NO_FILTER,
    language: str | None = None,
    language_boost: float | None = None,
) -> list[Hit]:
    """Top ``k`` hits for ``query``: both candidate lists, fused, deduplicated by chunk id.

    ``flt`` is applied inside both candidate searches (and checked again here), so excluded chunks
    never take a place in the top ``k``; ``language`` boosts chunks in that language (by
    ``language_boost``, default :data:`LANGUAGE_BOOST`). A query longer than
    :data:`MAX_QUERY_CHARS` is cut to that length first.
    """
    query, _ = cap_query(query)
    if k <= 0 or not query.strip():
        return []
    n = max(candidates, k)

    def keep(cid: str) -> bool:
        return cid in chunks and flt.admits(chunks[cid])

    dense_ids = [cid for cid, _ in dense(query, n, topic, flt) if keep(cid)]
    lexical_ids = [
        cid
        for cid, _ in lexical.search(
            query,
            n,
            topic,
            exclude_question_ids=flt.exclude_question_ids,
            kinds=flt.kinds,
        )
        if keep(cid)
    ]
    fused = rrf([dense_ids, lexical_ids], ks=[RRF_K_DENSE, RRF_K_LEXICAL])
    boost = LANGUAGE_BOOST if language_boost is None else language_boost
    fused = prefer_language(fused, chunks, language, boost)
    fused = credit_summaries(fused, chunks)
    return [Hit.from_chunk(chunks[cid], score) for cid, score in fused[:k]]


def credit_summaries(
    fused: Sequence[tuple[str, float]], chunks: Mapping[str, Chunk]
) -> list[tuple[str, float]]:
    """Replace each topic-summary chunk by its topic's best content chunk, which takes its rank.

    Summary chunks (title, aliases, keywords) exist to route a query to its topic; they carry nothing
    worth quoting. Moving the topic's best-ranked section up to the summary's place keeps that routing
    and returns text the tutor can cite. The score is the larger of the two, not their sum: summing
    would aggregate evidence per topic, which measurably hurt hit@1 (0.94 -> 0.89 on the eval set). A
    summary stays only when no content chunk of its topic is among the candidates.
    """
    best: dict[str, str] = {}
    for cid, _ in fused:
        c = chunks[cid]
        if c.kind != "summary":
            best.setdefault(c.topic, cid)
    scores: dict[str, float] = {}
    for cid, score in fused:
        c = chunks[cid]
        target = best.get(c.topic, cid) if c.kind == "summary" else cid
        scores[target] = max(scores.get(target, 0.0), score)
    return sorted(scores.items(), key=lambda kv: -kv[1])
