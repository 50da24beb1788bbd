"""Search latency (embedding + dense + BM25 + fusion) at 1x, 10x and 100x the bundled corpus.

1x is the bundled notes. 10x / 100x add synthetic chunks: texts are shuffled sentences of real chunks
(so BM25 sees a realistic vocabulary) and vectors are real chunk vectors plus noise (so the HNSW graph
has realistic neighbours); they are inserted with precomputed vectors, so building them costs no
embedding time. Also reports the eval's hit@1 / hit@3 at 1x and the unchanged-reopen time per scale.

Run: .venv/bin/python bench/bench_retrieval.py [--scales 1,10,100]   (writes bench/results/retrieval.json)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mltutor.evals.retrieval_eval import evaluate, load_queries
from mltutor.knowledge.base import KnowledgeBase, open_knowledge_base
from mltutor.knowledge.chunking import Chunk
from mltutor.knowledge.notes import bundled_notes_dir
from mltutor.knowledge.retrieval import CANDIDATES, RRF_K_DENSE, RRF_K_LEXICAL, Hit, rrf

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "retrieval.json"
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def synthetic(kb: KnowledgeBase, n: int, seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    """``n`` distractor chunks derived from the real ones (see the module docstring)."""
    assert kb._notes is not None
    got = kb._notes.collection.get(include=["embeddings"])
    ids, vecs = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
    real = [kb._note_chunks[i] for i in ids]
    sentences = [s for c in real for s in _SENTENCE.split(c.text) if len(s) > 20]
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    chunks, rows = [], []
    for i in range(n):
        j = rng.randrange(len(real))
        text = " ".join(rng.sample(sentences, 6))
        chunks.append(
            Chunk(
                id=f"syn-{i}",
                topic=f"synthetic-{i % 240}",
                title=f"Synthetic topic {i % 240}",
                heading=f"Section {i}",
                source=f"synthetic/{i % 240}.md",
                text=text,
                kind="section",
            )
        )
        v = vecs[j] + nprng.normal(scale=0.04, size=vecs.shape[1]).astype(np.float32)
        rows.append(v / np.linalg.norm(v))
    return chunks, np.stack(rows)


def time_queries(kb: KnowledgeBase, queries: list[str], passes: int) -> dict[str, Any]:
    """End-to-end ``search`` latency, and the same split into its stages."""
    for q in queries[:10]:
        kb.search(q, k=5)  # warm-up
    total: list[float] = []
    stages: dict[str, list[float]] = {"embed": [], "dense": [], "lexical": [], "fusion": []}
    notes, lexical = kb._ensure_notes(), kb._ensure_lexical()
    chunks = {**kb._note_chunks, **kb._user_chunks}
    for _ in range(passes):
        for q in queries:
            t = time.perf_counter()
            kb.search(q, k=5)
            total.append((time.perf_counter() - t) * 1000)

            t0 = time.perf_counter()
            vec = kb.embed([q])[0]
            t1 = time.perf_counter()
            dense = [cid for cid, _ in notes.query(vec, CANDIDATES)]
            t2 = time.perf_counter()
            lex = [cid for cid, _ in lexical.search(q, CANDIDATES)]
            t3 = time.perf_counter()
            fused = rrf([dense, lex], ks=[RRF_K_DENSE, RRF_K_LEXICAL])
            [Hit.from_chunk(chunks[cid], s) for cid, s in fused[:5]]
            t4 = time.perf_counter()
            for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[name].append(dt * 1000)
    return {
        "p50_ms": round(statistics.median(total), 2),
        "p95_ms": round(percentile(total, 0.95), 2),
        "stages_p50_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
        "queries": len(total),
    }


def reopen_time(data_dir: Path, notes_dir: Path) -> float:
    messages: list[str] = []
    kb = open_knowledge_base(
        data_dir=data_dir, chroma_url=None, notes_dir=notes_dir, progress=messages.append
    )
    t = time.perf_counter()
    kb.ensure_index()
    elapsed = time.perf_counter() - t
    kb.close()
    assert not messages, f"the index was rebuilt on reopen: {messages}"
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scales", default="1,10,100")
    p.add_argument("--passes", type=int, default=3)
    args = p.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    evalq = load_queries()
    queries = [q.query for q in evalq] or ["derivative of the sigmoid", "поправка Бонферрони"]
    out: dict[str, Any] = {"load_average_1min": round(os.getloadavg()[0], 2), "scales": {}}
    with tempfile.TemporaryDirectory() as tmp:
        # A snapshot of the notes: authors editing them meanwhile must not trigger a rebuild.
        notes = Path(tmp) / "notes"
        shutil.copytree(bundled_notes_dir(), notes)
        base_dir = Path(tmp) / "x1"
        kb = open_knowledge_base(data_dir=base_dir, chroma_url=None, notes_dir=notes)
        kb.ensure_index()
        n_real = len(kb._note_chunks)
        if evalq:
            report = evaluate(lambda q, k: kb.search(q, k=k), evalq)
            out["eval"] = report.model_dump(exclude={"misses"})
            print(report.summary())
        kb.close()
        for scale in scales:
            data_dir = Path(tmp) / f"x{scale}"
            if scale != 1:
                shutil.copytree(base_dir, data_dir)
            kb = open_knowledge_base(data_dir=data_dir, chroma_url=None, notes_dir=notes)
            kb.ensure_index()
            if scale != 1:
                extra, vecs = synthetic(kb, n_real * (scale - 1))
                t = time.perf_counter()
                assert kb._notes is not None
                kb._notes.add(extra, embeddings=vecs)
                insert_s = time.perf_counter() - t
                kb.close()
                kb = open_knowledge_base(data_dir=data_dir, chroma_url=None, notes_dir=notes)
                kb.ensure_index()
            row = time_queries(kb, queries, args.passes)
            row["chunks"] = len(kb._note_chunks)
            kb.close()
            row["unchanged_open_s"] = round(reopen_time(data_dir, notes), 3)
            if scale != 1:
                row["synthetic_insert_s"] = round(insert_s, 2)
            out["scales"][f"{scale}x"] = row
            print(f"{scale:>3}x  {row['chunks']:>6} chunks  p50 {row['p50_ms']:.1f} ms  "
                  f"p95 {row['p95_ms']:.1f} ms  stages {row['stages_p50_ms']}  "
                  f"reopen {row['unchanged_open_s']:.2f} s", flush=True)  # fmt: skip
    out["targets"] = {"p50_ms_1x": 30.0, "hit1": 0.85, "hit3": 0.95}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
