"""Grader accuracy on the grading set, and its speed.

Accuracy (``evals/data/grading.jsonl``, per split ``tune``/``report``/``all``), for the modes
deterministic (no model), judge (the judge's verdicts alone) and combined:

- ordering accuracy: share of the pairs good>partial, partial>wrong, good>wrong scored strictly in
  that order;
- band accuracy: share of answers put in their band (good / partial / wrong);
- no rubric: answers that could not be graded (counted as score 0, band wrong).

The judge is the embedded model by default (``mltutor.agent.llm.connect_models``), or the configured
judge endpoint. Its replies are cached in ``bench/results/grader_judge_cache.jsonl`` (keyed by model,
rubric and answer), so judge-only and combined scores are recomputed without calling the model again;
``--judge-limit`` grades only the first N questions of each split with the judge (the embedded model
takes tens of seconds per answer on a 2-core machine).

Speed: deterministic grading p50/p95 in-process (after warm-up), ``mltutor grade`` as a process
(median of runs, bank question, no judge), judge call p50/p95 from the calls made in this run.

Run::

    .venv/bin/python bench/bench_grader.py                       # deterministic only
    .venv/bin/python bench/bench_grader.py --judge --judge-limit 8
    .venv/bin/python bench/bench_grader.py --judge --judge-only-cached --spread 5 --spread-answers 1
    # writes bench/results/grader.json

Intervals are 95% percentile bootstrap intervals over questions (2,000 resamples, seed 0). The
grading set labels answers, not key points; ``key_points`` gives the verdicts by the answer's true
band and the share of answers with a contradicted point, and ``key_point_agreement_...`` the
deterministic verdict against the judge's per key point. ``judge_judged_questions_only`` /
``combined_judged_questions_only`` count only questions whose three answers all got a judge reply
(the rest fall back to deterministic grading and are counted in ``fell_back``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src/mltutor/evals/data/grading.jsonl"
RESULTS = ROOT / "bench/results"
CACHE = RESULTS / "grader_judge_cache.jsonl"
PAIRS = (("good", "partial"), ("partial", "wrong"), ("good", "wrong"))
BANDS = ("good", "partial", "wrong")
VERDICTS = ("covered", "missing", "contradicted")
BOOTSTRAP = 2000
"""Bootstrap resamples (over questions) for the 95% intervals."""


class CachedJudge:
    """A chat model that answers judge calls from the cache, calling the real model on a miss."""

    def __init__(
        self, model: Any | None, cache: dict[str, dict[str, Any]], name: str | None = None
    ) -> None:
        self.model = model
        self._name = name
        self.cache = cache
        self.seconds: list[float] = []
        self.failures = 0

    @property
    def name(self) -> str:
        if self.model is not None:
            return str(self.model.name)
        return self._name or next((e["model"] for e in self.cache.values()), "cached")

    def key(self, messages: list[dict[str, Any]]) -> str:
        text = json.dumps([self.name, messages], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def complete(self, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        from mltutor.agent.errors import ProviderError
        from mltutor.agent.llm import Completion

        key = self.key(messages)
        if key in self.cache:
            hit = self.cache[key]
            if hit.get("error"):
                raise ProviderError(hit["error"], "server")
            return Completion(content=hit["content"], model=self.name)
        if self.model is None:
            raise ProviderError("no judge reply cached and no model to ask", "unreachable")
        start = time.perf_counter()
        entry: dict[str, Any] = {"key": key, "model": self.name}
        try:
            completion = self.model.complete(messages, **kwargs)
            entry["content"] = completion.content
            entry["usage"] = completion.usage
        except ProviderError as exc:
            entry["error"] = exc.message
            self.failures += 1
        entry["seconds"] = round(time.perf_counter() - start, 2)
        self.seconds.append(entry["seconds"])
        self.cache[key] = entry
        with CACHE.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if "error" in entry:
            raise ProviderError(entry["error"], "server")
        return completion

    def stream(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - not used by the grader
        raise NotImplementedError


def load_cache() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if CACHE.exists():
        for line in CACHE.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "key" in entry and not entry.get("error"):
                out[entry["key"]] = entry  # a failed call (timeout on a loaded machine) is retried
    return out


def score_rows(grader: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grade every answer; one record per answer."""
    from mltutor.agent.errors import NoRubricError

    out = []
    for row in rows:
        for answer in row["answers"]:
            record: dict[str, Any] = {
                "id": row["id"],
                "split": row["split"],
                "band": answer["band"],
            }
            try:
                grade = grader.grade(row["question"], answer["text"])
                record.update(
                    score=grade.score,
                    predicted=grade.band,
                    mode=grade.grader.mode,
                    source=grade.rubric_source,
                    seconds=grade.grader.seconds,
                    notes=grade.grader.notes,
                    verdicts=[k.verdict for k in grade.key_points],
                )
            except NoRubricError:
                record.update(score=0.0, predicted="wrong", mode="none", source="none", seconds=0.0)
            out.append(record)
    return out


def _ordering(by_id: dict[str, dict[str, dict[str, Any]]], ids: list[str]) -> tuple[int, int]:
    pairs = right = 0
    for i in ids:
        answers = by_id[i]
        for hi, lo in PAIRS:
            if hi in answers and lo in answers:
                pairs += 1
                right += answers[hi]["score"] > answers[lo]["score"]
    return right, pairs


def _banded(by_id: dict[str, dict[str, dict[str, Any]]], ids: list[str]) -> tuple[int, int]:
    answers = [a for i in ids for a in by_id[i].values()]
    return sum(a["predicted"] == a["band"] for a in answers), len(answers)


def bootstrap(
    by_id: dict[str, dict[str, dict[str, Any]]], stat: Any, n: int = BOOTSTRAP, seed: int = 0
) -> list[float] | None:
    """95% percentile interval of ``stat`` over questions resampled with replacement (an answer's
    three grades stay together: the pairs of one question are not independent)."""
    import random

    ids = sorted(by_id)
    if not ids:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(n):
        sample = [ids[rng.randrange(len(ids))] for _ in ids]
        hit, total = stat(by_id, sample)
        if total:
            values.append(hit / total)
    values.sort()
    return [
        round(values[int(0.025 * len(values))], 4),
        round(values[int(0.975 * len(values)) - 1], 4),
    ]


def key_point_stats(chosen: list[dict[str, Any]]) -> dict[str, Any]:
    """Key-point verdicts by the answer's true band, and how often an answer gets a contradiction.

    The grading set labels answers, not key points, so this is the closest to a per-key-point
    confusion: a good answer's points should be covered, a partial's partly missing and never
    contradicted, a wrong answer should have at least one contradicted point."""
    verdicts = {b: {v: 0 for v in VERDICTS} for b in BANDS}
    flagged = {b: [0, 0] for b in BANDS}
    for r in chosen:
        if "verdicts" not in r:
            continue
        for v in r["verdicts"]:
            verdicts[r["band"]][v] += 1
        flagged[r["band"]][0] += "contradicted" in r["verdicts"]
        flagged[r["band"]][1] += 1
    return {
        "verdicts_by_true_band": verdicts,
        "answers_with_a_contradiction_by_true_band": {
            b: round(h / t, 4) if t else None for b, (h, t) in flagged.items()
        },
    }


def accuracy(records: list[dict[str, Any]], split: str) -> dict[str, Any]:
    chosen = [r for r in records if split == "all" or r["split"] == split]
    by_id: dict[str, dict[str, dict[str, Any]]] = {}
    for r in chosen:
        by_id.setdefault(r["id"], {})[r["band"]] = r
    ids = sorted(by_id)
    right, pairs = _ordering(by_id, ids)
    per_pair = {f"{a}>{b}": [0, 0] for a, b in PAIRS}
    for answers in by_id.values():
        for hi, lo in PAIRS:
            if hi in answers and lo in answers:
                per_pair[f"{hi}>{lo}"][0] += answers[hi]["score"] > answers[lo]["score"]
                per_pair[f"{hi}>{lo}"][1] += 1
    confusion = {b: {p: 0 for p in BANDS} for b in BANDS}
    for r in chosen:
        confusion[r["band"]][r["predicted"]] += 1
    banded = sum(confusion[b][b] for b in BANDS)
    return {
        "questions": len(by_id),
        "answers": len(chosen),
        "ordering_accuracy": round(right / pairs, 4) if pairs else None,
        "ordering_ci95": bootstrap(by_id, _ordering),
        "ordering_pairs": pairs,
        "ordering_by_pair": {
            k: round(v[0] / v[1], 4) if v[1] else None for k, v in per_pair.items()
        },
        "band_accuracy": round(banded / len(chosen), 4) if chosen else None,
        "band_ci95": bootstrap(by_id, _banded),
        "band_confusion_true_by_predicted": confusion,
        "key_points": key_point_stats(chosen),
        "no_rubric": sum(1 for r in chosen if r["mode"] == "none"),
    }


def agreement(det: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key point: the deterministic verdict (rows) against the judge's (columns), on the
    answers the judge replied to (same rubric, so the key points line up)."""
    table = {v: {w: 0 for w in VERDICTS} for v in VERDICTS}
    index = {(r["id"], r["band"]): r for r in det}
    for r in other:
        d = index.get((r["id"], r["band"]))
        if (
            r.get("mode") != "judge"
            or d is None
            or len(d.get("verdicts", [])) != len(r["verdicts"])
        ):
            continue
        for a, b in zip(d["verdicts"], r["verdicts"], strict=True):
            table[a][b] += 1
    return table


def process_time(runs: int) -> dict[str, Any]:
    """Wall time of ``mltutor grade`` as a process (bank question, deterministic)."""
    argv = [
        sys.executable, "-m", "mltutor.cli", "grade", "--no-judge",
        "--question", "Why does L1 give sparse weights and L2 not?",
        "--answer", "L1 adds |w| to the loss, so its constraint region is a diamond with corners "
        "on the axes and the optimum lands where some weights are exactly zero.",
    ]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)  # warm the caches (bank vectors)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return {
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {"p50": round(statistics.median(values), 3), "p95": round(p95, 3), "n": len(values)}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="store_true", help="also grade with the judge model")
    parser.add_argument(
        "--judge-limit", type=int, default=0, help="judge only N questions per split"
    )
    parser.add_argument("--judge-only-cached", action="store_true", help="never call the model")
    parser.add_argument(
        "--judge-split",
        choices=("tune", "report", "all"),
        default="all",
        help="grade only this split with the judge (the embedded model is slow)",
    )
    parser.add_argument("--process-runs", type=int, default=5)
    parser.add_argument(
        "--spread",
        type=int,
        default=0,
        help="grade --spread-answers answers N times with the live judge (no cache)",
    )
    parser.add_argument("--spread-answers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "grader.json")
    args = parser.parse_args()

    from mltutor.agent.grading import create_grader
    from mltutor.settings import load_settings

    settings = load_settings()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    deterministic = create_grader(settings, progress=lambda m: print(m, file=sys.stderr))

    # warm-up (embedder, bank vectors, checker worker, notes index), then timed runs
    for row in rows[:3]:
        for answer in row["answers"]:
            with contextlib.suppress(Exception):  # no rubric etc.: timing only
                deterministic.grade(row["question"], answer["text"])
    records = score_rows(deterministic, rows)
    again = score_rows(deterministic, rows[:10])
    reproducible = all(
        a["score"] == b["score"] for a, b in zip(records[: len(again)], again, strict=True)
    )
    result: dict[str, Any] = {
        "data": str(DATA.relative_to(ROOT)),
        "machine": machine(),
        "deterministic": {s: accuracy(records, s) for s in ("tune", "report", "all")},
        "deterministic_reproducible": reproducible,
        "speed": {
            "deterministic_in_process_s": percentiles(
                [r["seconds"] for r in records if r["mode"] != "none"]
            )
        },
    }

    if args.judge:
        cache = load_cache()
        model, close = None, None
        if not args.judge_only_cached or args.spread:
            from mltutor.agent.llm import connect_models

            connected = connect_models(settings, lambda m, f=None: print(m, file=sys.stderr))
            model, close = connected.judge, connected.close
        # --judge-only-cached: accuracy from the cache alone (the live model only for --spread)
        judge = CachedJudge(None if args.judge_only_cached else model, cache)
        try:
            chosen = [r for r in rows if args.judge_split in ("all", r["split"])]
            if args.judge_limit:
                limited = []
                for split in ("tune", "report"):
                    limited += [r for r in chosen if r["split"] == split][: args.judge_limit]
                chosen = limited
            ids = {r["id"] for r in chosen}
            result["judge_split"] = args.judge_split
            for mode in ("judge", "combined"):
                grader = create_grader(settings, judge=judge, mode=mode)  # type: ignore[arg-type]
                graded = score_rows(grader, chosen)
                # questions whose three answers all got a judge reply: the judge's own figures
                replied = {i for i in ids if all(r["mode"] == mode for r in graded if r["id"] == i)}
                subset = [r for r in records if r["id"] in replied]
                result[mode] = {s: accuracy(graded, s) for s in ("tune", "report", "all")}
                result[mode]["fell_back"] = sum(1 for r in graded if r["mode"] == "deterministic")
                result[f"{mode}_judged_questions_only"] = {
                    s: accuracy([r for r in graded if r["id"] in replied], s)
                    for s in ("tune", "report", "all")
                }
                result[f"deterministic_on_{mode}_judged_questions"] = {
                    s: accuracy(subset, s) for s in ("tune", "report", "all")
                }
                if mode == "judge":
                    result["key_point_agreement_deterministic_by_judge"] = agreement(
                        records, graded
                    )
            if args.spread and model is not None:
                live = create_grader(settings, judge=model)
                spread = []
                bank = [r for r in rows if r.get("bank_id")]
                for row in bank[: args.spread_answers]:
                    answer = row["answers"][1]["text"]  # the partial: where verdicts can waver
                    scores = [live.grade(row["question"], answer).score for _ in range(args.spread)]
                    spread.append(
                        {"id": row["id"], "scores": scores, "range": max(scores) - min(scores)}
                    )
                result["combined_spread_over_runs"] = spread
                det_spread = []
                for row in bank[: args.spread_answers]:
                    answer = row["answers"][1]["text"]
                    scores = [deterministic.grade(row["question"], answer).score for _ in range(5)]
                    det_spread.append(
                        {"id": row["id"], "scores": scores, "range": max(scores) - min(scores)}
                    )
                result["deterministic_spread_over_runs"] = det_spread
            result["judge_model"] = judge.name
            result["speed"]["judge_call_s"] = percentiles(
                judge.seconds
                or [e["seconds"] for e in cache.values() if "seconds" in e and not e.get("error")]
            )
            result["judge_failures"] = judge.failures
        finally:
            if close is not None:
                close()

    result["speed"]["process_s"] = process_time(args.process_runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1)[:4000])


if __name__ == "__main__":
    main()
