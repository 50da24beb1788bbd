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


# -- filters: no leakage of the open interview question, kinds, language preference --------------


def _exact_question_query(kb: KnowledgeBase, qid: str, language: str = "en") -> str:
    """The text of the question's own chunk: the query most likely to retrieve it."""
    chunks = [c for c in kb._note_chunks.values() if c.question_id == qid]
    (chunk,) = [c for c in chunks if c.language == language][:1]
    return chunk.text


def test_open_question_never_retrieved_synthetic(small_kb: KnowledgeBase) -> None:
    small_kb.ensure_index()
    query = _exact_question_query(small_kb, "calculus-1")
    unfiltered = small_kb.search(query, k=5)
    assert unfiltered[0].question_id == "calculus-1"  # the query does find it
    assert unfiltered[0].kind == "question"
    hits = small_kb.search(query, k=5, exclude_question_ids={"calculus-1"})
    assert len(hits) == 5
    assert all(h.question_id != "calculus-1" for h in hits)
    assert {h.question_id for h in hits if h.kind == "question"}  # other questions still come


def test_open_question_never_retrieved_real_notes(real_kb: KnowledgeBase) -> None:
    from mltutor.knowledge.bank import load_questions

    for q in load_questions()[::7]:  # a spread over the topics
        langs = ["en", "ru"] if q.has_russian else ["en"]
        for lang in langs:
            query = _exact_question_query(real_kb, q.id, lang)
            assert q.id in {h.question_id for h in real_kb.search(query, k=3)}, (q.id, lang)
            for k in (1, 10):
                hits = real_kb.search(query, k=k, exclude_question_ids=[q.id], language=lang)
                assert len(hits) == k, (q.id, lang)
                assert all(h.question_id != q.id for h in hits), (q.id, lang)
            question_text = q.text_in(lang)
            hits = real_kb.search(question_text, k=10, exclude_question_ids=[q.id])
            assert len(hits) == 10 and all(h.question_id != q.id for h in hits)


def test_kinds_filter_keeps_k(real_kb: KnowledgeBase) -> None:
    hits = real_kb.search("derivative of the sigmoid", k=8, kinds={"section"})
    assert len(hits) == 8 and {h.kind for h in hits} == {"section"}
    hits = real_kb.search("derivative of the sigmoid", k=4, kinds={"question"})
    assert len(hits) == 4 and all(h.kind == "question" and h.question_id for h in hits)


def test_chroma_filter_on_the_notes_store(real_kb: KnowledgeBase) -> None:
    """The dense side filters inside Chroma (not only after it), so n candidates still come back."""
    from mltutor.knowledge.base import _chroma_where
    from mltutor.knowledge.retrieval import SearchFilter

    store = real_kb._notes
    assert store is not None
    vec = real_kb.embed(["derivative of the sigmoid"])[0]
    qids = {c.question_id for c in real_kb._note_chunks.values() if c.question_id}
    flt = SearchFilter(exclude_question_ids=frozenset(qids))
    found = store.query(vec, 20, None, where=_chroma_where(flt))
    assert len(found) == 20
    assert all(real_kb._note_chunks[cid].kind != "question" for cid, _ in found)
    flt = SearchFilter(kinds=frozenset({"summary"}))
    found = store.query(vec, 5, "calculus", where=_chroma_where(flt))
    assert [real_kb._note_chunks[cid].kind for cid, _ in found] == ["summary"] * len(found)
    assert found and all(real_kb._note_chunks[cid].topic == "calculus" for cid, _ in found)


def test_language_preference_boosts_without_filtering(real_kb: KnowledgeBase) -> None:
    query = "производная сигмоиды"
    plain = real_kb.search(query, k=10)
    ru = real_kb.search(query, k=10, language="ru")
    en = real_kb.search(query, k=10, language="en")
    share = [sum(h.language == "ru" for h in hs) for hs in (en, plain, ru)]
    assert share[0] <= share[1] <= share[2]
    assert ru[0].language == "ru"
    # a preference, not a filter: a term only the English text has still finds the English section
    hits = real_kb.search("Pearlmutter trick", k=3, language="ru")
    assert hits[0].language == "en" and hits[0].topic == "matrix-calculus", hits[0].citation


def test_filter_applies_before_top_k_in_fusion() -> None:
    """Unit level: the excluded chunks are the best matches of both lists, k results still return."""
    from mltutor.knowledge.chunking import Chunk
    from mltutor.knowledge.retrieval import SearchFilter, hybrid_search

    def chunk(i: int, qid: str = "", lang: str = "en") -> Chunk:
        text = "alpha beta" if qid else f"alpha filler{i}"
        kind = "question" if qid else "section"
        return Chunk(f"c{i}", "t", "T", f"H{i}", "notes/t.md", text, kind, lang, qid)

    chunks = {c.id: c for c in [chunk(0, "t-1"), chunk(1, "t-1", "ru"), *map(chunk, range(2, 9))]}
    ids = list(chunks)
    lexical = LexicalIndex(
        ids,
        [chunks[i].text for i in ids],
        ["t"] * len(ids),
        kinds=[chunks[i].kind for i in ids],
        question_ids=[chunks[i].question_id for i in ids],
        languages=[chunks[i].language for i in ids],
    )

    def dense(q: str, n: int, t: str | None, f: SearchFilter) -> list[tuple[str, float]]:
        return [(cid, 0.1 * r) for r, cid in enumerate(ids)][:n]  # unfiltered: the helper checks

    base = hybrid_search("alpha beta", dense=dense, lexical=lexical, chunks=chunks, k=3)
    assert {h.question_id for h in base[:2]} == {"t-1"}
    flt = SearchFilter(exclude_question_ids=frozenset({"t-1"}))
    hits = hybrid_search("alpha beta", dense=dense, lexical=lexical, chunks=chunks, k=3, flt=flt)
    assert len(hits) == 3 and all(h.question_id == "" for h in hits)
    ru_first = hybrid_search(
        "alpha beta", dense=dense, lexical=lexical, chunks=chunks, k=2, language="ru"
    )
    assert ru_first[0].language == "ru"


def test_hit_json_has_language_and_question_id() -> None:
    hit = Hit(
        topic="t", title="T", heading="H", source="s", score=0.5, text="x", citation="t § H",
        kind="question", language="ru", question_id="t-1",
    )  # fmt: skip
    data = hit.to_json()
    assert (data["kind"], data["language"], data["question_id"]) == ("question", "ru", "t-1")


# -- section level (Russian and English), measured on the "report" split only ------------------------

SECTION_TARGET_HIT1 = 0.75  # measured on the report split: RU 0.84-0.88, EN 0.88
SECTION_TARGET_HIT3 = 0.90  # measured: RU 1.00, EN 0.94


@pytest.mark.parametrize("language_hint", [False, True])
def test_section_level_retrieval_targets(real_kb: KnowledgeBase, language_hint: bool) -> None:
    queries = [q for q in load_queries() if q.sections and q.split == "report"]
    if language_hint:
        report = evaluate(
            lambda q, k, lang: real_kb.search(q, k=k, language=lang), queries, language_hint=True
        )
    else:
        report = evaluate(lambda q, k: real_kb.search(q, k=k), queries)
    print("\n" + report.summary())
    for lang in ("ru", "en"):
        score = report.group("section", lang, "report")
        assert score is not None and score.n >= 15, lang
        assert score.hit1 >= SECTION_TARGET_HIT1, report.summary()
        assert score.hit3 >= SECTION_TARGET_HIT3, report.summary()


@pytest.mark.parametrize("language", [None, "ru"])
def test_bootstrap_in_russian_finds_the_bootstrap_section(
    real_kb: KnowledgeBase, language: str | None
) -> None:
    """The issue's example: "что такое бутстрап" lands on the bootstrap section, not Naive Bayes."""
    hit = real_kb.search("что такое бутстрап", k=1, language=language)[0]
    assert hit.topic == "statistics", hit.citation
    assert "бутстрап" in hit.heading.lower() or "bootstrap" in hit.heading.lower(), hit.citation
    if language == "ru":
        assert hit.language == "ru"


def test_russian_queries_get_russian_text_with_the_hint(real_kb: KnowledgeBase) -> None:
    queries = [q for q in load_queries() if q.lang == "ru" and q.sections]
    top = [real_kb.search(q.query, k=1, language="ru")[0] for q in queries]
    share = sum(h.language == "ru" for h in top) / len(top)
    assert share >= 0.95, share
