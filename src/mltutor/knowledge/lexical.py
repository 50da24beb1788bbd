"""Lexical retrieval: BM25 (``bm25s``) with a small Russian + English tokenizer.

Dense embeddings blur exact terms (``VIF``, ``KKT``, ``L-BFGS``, ``перплексия``); BM25 catches them.
The index lives in memory and is rebuilt from the stored chunks when the knowledge base opens: for
the bundled notes that takes tens of milliseconds (see ``bench/bench_index.py``), cheaper than
keeping a second on-disk index in sync with Chroma.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Collection, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import bm25s


def _bm25s_stopwords() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """bm25s's English+ and Russian stopword lists, read without importing the ``bm25s`` package:
    its ``__init__`` imports SciPy (~0.2 s), which tokenizing (the grader, every answer) never
    needs. ``bm25s/stopwords.py`` is plain tuples; if it cannot be read so, it is imported."""
    spec = importlib.util.find_spec("bm25s")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / "stopwords.py" if locations else None
    if path is not None and path.is_file():
        file_spec = importlib.util.spec_from_file_location("_mltutor_bm25s_stopwords", path)
        if file_spec is not None and file_spec.loader is not None:
            module = importlib.util.module_from_spec(file_spec)
            file_spec.loader.exec_module(module)
            return tuple(module.STOPWORDS_EN_PLUS), tuple(module.STOPWORDS_RUSSIAN)
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_RUSSIAN  # pragma: no cover

    return tuple(STOPWORDS_EN_PLUS), tuple(STOPWORDS_RUSSIAN)  # pragma: no cover


STOPWORDS_EN_PLUS, STOPWORDS_RUSSIAN = _bm25s_stopwords()

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_EXTRA_STOPWORDS = {
    # question words and fillers that say nothing about the topic
    "explain", "describe", "tell", "mean", "means", "meaning", "difference", "use", "used", "using",
    "объясни", "объяснить", "расскажи", "такое", "что", "как", "зачем", "почему", "чем", "это",
    "нужен", "нужна", "нужно", "работает", "разница", "между",
}  # fmt: skip
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(STOPWORDS_RUSSIAN) | _EXTRA_STOPWORDS


def _load_stemmers() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """Snowball stemmers for (English, Russian); identity if PyStemmer is not installed."""
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is a dependency; degrade rather than crash

        def identity(word: str) -> str:
            return word

        return identity, identity
    en, ru = Stemmer.Stemmer("english"), Stemmer.Stemmer("russian")
    return en.stemWord, ru.stemWord


_STEM_EN, _STEM_RU = _load_stemmers()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if any("\u0400" <= ch <= "\u04ff" for ch in word):
        return _STEM_RU(word)
    return _STEM_EN(word)


def tokenize(text: str) -> list[str]:
    """Lowercase, ё→е, words of letters/digits, stopwords dropped, stemmed by script.

    A hyphenated word yields its parts and the joined form, so ``t-SNE`` and ``tSNE`` meet.
    """
    out: list[str] = []
    for match in _WORD.finditer(text.lower().replace("ё", "е")):
        word = match.group()
        parts = word.split("-")
        candidates = [*parts, "".join(parts)] if len(parts) > 1 else parts
        for w in candidates:
            if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
                continue
            out.append(_stem(w))
    return out


class LexicalIndex:
    """BM25 over a fixed list of documents, with topic / kind / question-id filters at query time.

    ``kinds``, ``question_ids`` and ``languages`` are per-document like ``topics``; left out, every
    document counts as kind ``""``, question id ``""`` and language ``"en"``.
    """

    def __init__(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        topics: Sequence[str],
        *,
        kinds: Sequence[str] | None = None,
        question_ids: Sequence[str] | None = None,
        languages: Sequence[str] | None = None,
    ) -> None:
        self.ids = list(ids)
        n = len(self.ids)
        self.topics = np.asarray(list(topics), dtype=object)
        self.kinds = np.asarray(list(kinds) if kinds is not None else [""] * n, dtype=object)
        self.question_ids = np.asarray(
            list(question_ids) if question_ids is not None else [""] * n, dtype=object
        )
        self.languages = np.asarray(
            list(languages) if languages is not None else ["en"] * n, dtype=object
        )
        if not (
            len(self.topics)
            == len(self.kinds)
            == len(self.question_ids)
            == len(self.languages)
            == n
        ):
            raise ValueError("LexicalIndex: every per-document sequence must match ids in length")
        self._bm25: bm25s.BM25 | None = None
        corpus = [tokenize(t) for t in texts]
        if any(corpus):
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def allowed(
        self,
        topic: str | None = None,
        *,
        exclude_question_ids: Collection[str] = (),
        kinds: Collection[str] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Boolean mask of the documents a query with these filters may return."""
        mask = np.ones(len(self.ids), dtype=bool)
        if topic is not None:
            mask &= self.topics == topic
        if exclude_question_ids:
            mask &= ~np.isin(self.question_ids, list(exclude_question_ids))
        if kinds is not None:
            mask &= np.isin(self.kinds, list(kinds))
        return mask

    def search(
        self,
        query: str,
        n: int,
        topic: str | None = None,
        *,
        exclude_question_ids: Collection[str] = (),
        kinds: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Up to ``n`` (id, score) pairs with a positive score, best first, filters applied first."""
        if self._bm25 is None or n <= 0:
            return []
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if topic is not None or exclude_question_ids or kinds is not None:
            mask = self.allowed(topic, exclude_question_ids=exclude_question_ids, kinds=kinds)
            scores = np.where(mask, scores, 0.0)
        k = min(n, int(np.count_nonzero(scores > 0)))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]
