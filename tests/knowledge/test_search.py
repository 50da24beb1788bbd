"""Hybrid search over the bundled notes, the CLI's JSON, and the retrieval eval targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mltutor.evals.retrieval_eval import TARGET_HIT1, TARGET_HIT3, evaluate, load_queries
from mltutor.knowledge.base import KnowledgeBase
from mltutor.knowledge.errors import KnowledgeError
from mltutor.knowledge.lexical import LexicalIndex, tokenize
from mltutor.knowledge.retrieval import Hit, rrf

JSON_KEYS = {"topic", "title", "heading", "source", "score", "text"}


def test_tokenizer_handles_russian_and_english() -> None:
    assert tokenize("Производные сигмоиды") == tokenize("производная сигмоида")
    assert tokenize("Derivatives of the sigmoid") == tokenize("derivative sigmoid")
    assert "tsne" in tokenize("t-SNE") and "tsne" in tokenize("tSNE")
    assert tokenize("Что такое ёмкость?") == tokenize("емкость")
    assert tokenize("the what is of") == []


def test_lexical_index_topic_filter() -> None:
    ix = LexicalIndex(["a", "b"], ["gradient descent", "gradient boosting"], ["opt", "ens"])
    assert [i for i, _ in ix.search("gradient", 5)] in (["a", "b"], ["b", "a"])
    assert [i for i, _ in ix.search("gradient", 5, topic="ens")] == ["b"]
    assert ix.search("unknownword", 5) == []
    assert LexicalIndex([], [], []).search("x", 5) == []


def test_rrf_prefers_agreement() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], ks=[60, 60]))
    assert max(fused, key=lambda k: fused[k]) == "a"
    assert fused["c"] > fused["b"]


def test_hit_json_shape() -> None:
    hit = Hit(topic="t", title="T", heading="H", source="s", score=0.5, text="x", citation="t § H")
    data = hit.to_json()
    assert set(data) >= JSON_KEYS and data["citation"] == "t § H"


@pytest.mark.parametrize(
    ("query", "topic"),
    [
        ("derivative of the sigmoid", "calculus"),
        ("производная сигмоиды", "calculus"),
        ("perplexity in t-SNE", "dimensionality-reduction"),
        ("Bonferroni correction", "multiple-testing"),
        ("поправка Бонферрони", "multiple-testing"),
        ("KKT conditions", "constrained-optimization"),
        ("pandas groupby transform", "numpy-pandas"),
        ("log-sum-exp trick", "numerical-stability"),
        ("Metropolis-Hastings acceptance", "mcmc"),
        ("L-BFGS", "second-order-optimization"),
    ],
)
def test_obvious_queries(real_kb: KnowledgeBase, query: str, topic: str) -> None:
    hits = real_kb.search(query, k=3)
    assert hits[0].topic == topic, [h.citation for h in hits]


def test_hits_are_complete_and_sorted(real_kb: KnowledgeBase) -> None:
    hits = real_kb.search("chain rule backpropagation", k=7)
    assert len(hits) == 7
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({(h.source, h.heading, h.text) for h in hits}) == 7
    for h in hits:
        assert h.source == f"notes/{h.topic}.md"
        assert h.citation == f"{h.topic} § {h.heading.split(' > ')[-1]}"
        assert h.title and h.text


def test_topic_filter_and_errors(real_kb: KnowledgeBase) -> None:
    hits = real_kb.search("gradient", k=5, topic="statistics")
    assert hits and all(h.topic == "statistics" for h in hits)
    with pytest.raises(KnowledgeError, match="unknown topic"):
        real_kb.search("gradient", topic="no-such-topic")
    assert real_kb.search("   ", k=5) == []
    assert real_kb.search("gradient", k=0) == []


def test_query_without_known_words_still_answers(real_kb: KnowledgeBase) -> None:
    hits = real_kb.search("zzqx wwvy", k=3)  # no BM25 match: dense results only
    assert len(hits) == 3


def test_cli_search_json(
    real_kb: KnowledgeBase,
    real_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mltutor.cli import main

    monkeypatch.setenv("MLTUTOR_DATA_DIR", str(real_data_dir))
    monkeypatch.delenv("MLTUTOR_CHROMA_URL", raising=False)
    monkeypatch.setenv("MLTUTOR_CONFIG", str(real_data_dir / "absent.toml"))
    assert main(["search", "производная", "сигмоиды", "-k", "3", "--json"]) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert len(data) == 3 and set(data[0]) >= JSON_KEYS
    assert data[0]["topic"] == "calculus"
    assert "building" not in out.err  # the shared index was reused
    assert main(["search", "x", "--topic", "nope"]) == 2


def test_retrieval_eval_meets_targets(real_kb: KnowledgeBase) -> None:
    queries = load_queries()
    if len(queries) < 60:
        pytest.skip(f"only {len(queries)} eval queries so far")
    report = evaluate(lambda q, k: real_kb.search(q, k=k), queries)
    print("\n" + report.summary())
    assert report.overall.hit1 >= TARGET_HIT1, report.summary()
    assert report.overall.hit3 >= TARGET_HIT3, report.summary()
    assert set(report.per_lang) == {"en", "ru"}


def test_cli_knowledge_add_list_remove(
    real_kb: KnowledgeBase,
    real_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    from mltutor.cli import main

    data = tmp_path / "data"
    shutil.copytree(real_data_dir, data)  # reuse the built notes index, keep the shared one clean
    monkeypatch.setenv("MLTUTOR_DATA_DIR", str(data))
    monkeypatch.delenv("MLTUTOR_CHROMA_URL", raising=False)
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "absent.toml"))
    doc = tmp_path / "mine.md"
    doc.write_text("# Mine\n\n## Quokka lemma\n\nThe quokka lemma bounds the loss.\n")
    assert main(["knowledge", "add", str(doc), str(tmp_path / "missing.md")]) == 2
    out = capsys.readouterr()
    assert "added" in out.out and "no such file" in out.err
    assert "building" not in out.err
    assert main(["knowledge", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["path"] for d in listed] == [str(doc.resolve())]
    assert main(["search", "quokka", "lemma", "-k", "1", "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["topic"] == "user" and hit["citation"] == "mine.md § Quokka lemma"
    assert main(["knowledge", "remove", str(doc)]) == 0
    assert main(["knowledge", "remove", str(doc)]) == 2
    capsys.readouterr()
    assert main(["knowledge", "list"]) == 0
    assert "no user material yet" in capsys.readouterr().out
