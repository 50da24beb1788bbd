"""When does the tutor lead with a bank question's reference answer? Precision and recall.

For every question of the grading set (``evals/data/grading.jsonl``; each names its bank question or
none) and of any extra ``qa`` suite given (cases with ``bank_id``), the tutor's own lead decision is
made exactly as in an answer (``agent.adapters.bank_match`` + ``tutor.lead.choose_lead`` over the
real notes index) and compared with the truth:

- recall: bank questions (reworded) that lead with their own reference answer;
- wrong lead: bank questions that lead with another question's answer;
- false lead: questions not in the bank that lead with a bank answer anyway.

Per split. The corroboration rule (an unconfident bank guess leads when retrieval's top hit is that
question and the question has no numbers) was designed on the ``tune`` splits; ``report`` is the
figure to quote (grading/report was looked at once, before the number rule; the conceptual suite's
report split was not). No model is needed.

Run::

    .venv/bin/python bench/bench_lead.py src/mltutor/evals/data/conceptual_{tune,report}.jsonl
    # writes bench/results/lead.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GRADING = ROOT / "src/mltutor/evals/data/grading.jsonl"
OUT = ROOT / "bench/results/lead.json"


def cases(extra: list[str]) -> list[dict[str, Any]]:
    rows = []
    for line in GRADING.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            rows.append(
                {
                    "id": d["id"],
                    "question": d["question"],
                    "bank_id": d.get("bank_id"),
                    "split": d.get("split", "all"),
                    "suite": "grading",
                }
            )
    for path in extra:  # conceptual suites: ids "<split>-<lang>-<n>-para-<bank id>" or "-notes-"
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                d = json.loads(line)
                cid = str(d.get("id"))
                bank = cid.split("-para-", 1)[1] if "-para-" in cid else d.get("bank_id")
                split = cid.split("-", 1)[0]
                rows.append(
                    {
                        "id": cid,
                        "question": d["question"],
                        "bank_id": bank,
                        "split": split,
                        "suite": Path(path).stem,
                    }
                )
    return rows


def main() -> None:
    from mltutor.agent.adapters import bank_match, notes_retriever
    from mltutor.agent.facade import create_service
    from mltutor.agent.tutor.lead import choose_lead, language_of
    from mltutor.settings import load_settings

    settings = load_settings()
    service = create_service(settings)
    grader = service.grader()
    retrieve = notes_retriever(settings.data_dir, settings.chroma_url)
    table: dict[str, dict[str, Any]] = {}
    misses = []
    for row in cases(sys.argv[1:]):
        question = row["question"]
        hits = retrieve(question, 5)
        lead, _ = choose_lead(
            question,
            hits,
            language=language_of(question),
            bank_match=lambda q: bank_match(grader, q),
            lookup=grader.questions.get,
        )
        got = lead.question_id or None if lead is not None else None  # a section lead: None
        want = row["bank_id"]
        key = f"{row['suite']}/{row['split']}"
        t = table.setdefault(
            key, {"bank": 0, "led_right": 0, "led_wrong": 0, "not_bank": 0, "false_lead": 0}
        )
        if want:
            t["bank"] += 1
            t["led_right"] += got == want
            t["led_wrong"] += bool(got) and got != want
        else:
            t["not_bank"] += 1
            t["false_lead"] += bool(got)
        if got != want:
            misses.append({"case": row["id"], "split": key, "want": want, "got": got})
    for t in table.values():
        t["recall"] = round(t["led_right"] / t["bank"], 3) if t["bank"] else None
        t["false_lead_rate"] = round(t["false_lead"] / t["not_bank"], 3) if t["not_bank"] else None
    OUT.write_text(json.dumps({"splits": table, "misses": misses}, indent=1) + "\n")
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
