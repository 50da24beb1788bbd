"""The embedder: offline, registered with Chroma, normalised vectors, single-threaded BLAS."""

from __future__ import annotations

import numpy as np

from mltutor.knowledge.embedding import (
    DIMENSION,
    EMBEDDER_NAME,
    UseEmbeddingFunction,
    embed_texts,
    embedder_id,
)


def test_vectors_are_normalised_and_multilingual() -> None:
    vecs = embed_texts(["derivative of the sigmoid", "производная сигмоиды", "pandas dataframe"])
    assert vecs.shape == (3, DIMENSION) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]  # the translation is closer than another topic
    assert embed_texts([]).shape == (0, DIMENSION)


def test_chroma_embedding_function_round_trip() -> None:
    from chromadb.utils.embedding_functions import config_to_embedding_function

    ef = UseEmbeddingFunction()
    assert ef.name() == EMBEDDER_NAME
    rebuilt = config_to_embedding_function({"name": EMBEDDER_NAME, "config": ef.get_config()})
    assert isinstance(rebuilt, UseEmbeddingFunction)
    assert len(rebuilt(["hello"])[0]) == DIMENSION
    assert not ef.is_legacy()
    assert embedder_id().startswith(EMBEDDER_NAME)


def test_threadpoolctl_is_installed() -> None:
    """Without it the encoder cannot limit BLAS threads, and contended machines get ~50x slower."""
    import threadpoolctl

    assert threadpoolctl.ThreadpoolController
