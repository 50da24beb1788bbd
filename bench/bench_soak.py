"""Fault soak figures: turns against a scripted server failing at random (see tests/agent/soak.py).

Records how turns ended, the slowest turn, RSS / open file descriptors every ``--sample-every``
turns, and the size of the sessions database at the end, for two runs: every turn in one session,
and a new session every ``--session-turns`` turns. The difference separates growth that belongs to
a long session (its checkpointed state grows with every turn) from growth of the process.
Run: .venv/bin/python bench/bench_soak.py [--turns 600 --sample-every 50 --session-turns 50]
(writes bench/results/soak.json, or ``--out``)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent.soak import SoakResult, make_tutor, server_with_faults, soak  # noqa: E402


def _merge(total: SoakResult, part: SoakResult) -> None:
    total.turns += part.turns
    total.finals += part.finals
    for kind, n in part.errors.items():
        total.errors[kind] = total.errors.get(kind, 0) + n
    total.slowest_s = max(total.slowest_s, part.slowest_s)
    total.over_bound += part.over_bound
    total.rss_mb += part.rss_mb
    total.fds += part.fds
    total.problems += part.problems


def run(turns: int, sample_every: int, session_turns: int) -> dict[str, Any]:
    """One soak; ``session_turns`` 0 keeps every turn in one session."""
    server = server_with_faults()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        tutor = make_tutor(data, server.url)
        start = time.perf_counter()
        try:
            if session_turns <= 0:
                result = soak(tutor, turns, sample_every=sample_every)
            else:
                result = SoakResult()
                for i in range(turns // session_turns):
                    sid = tutor.new_session(f"soak {i}").id
                    part = soak(
                        tutor, session_turns, seed=7 + i, session_id=sid, sample_every=sample_every
                    )
                    _merge(result, part)
                    roles = [e.role for e in tutor.transcript(sid)]
                    if roles != ["user", "assistant"] * session_turns:
                        result.transcript_ok = False
                        result.problems.append(f"session {i}: {len(roles)} messages")
        finally:
            tutor.close()
            server.close()
        seconds = time.perf_counter() - start
        db_mb = sum(p.stat().st_size for p in data.glob("sessions.sqlite*")) / 2**20
    return asdict(result) | {
        "session_turns": session_turns or turns,
        "sample_every": sample_every,
        "sessions_db_mb": round(db_mb, 1),
        "total_s": round(seconds, 1),
        "per_turn_s": round(seconds / turns, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--sample-every", type=int, default=50)
    parser.add_argument("--session-turns", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    args = parser.parse_args()
    out = {
        "one_session": run(args.turns, args.sample_every, 0),
        f"new_session_every_{args.session_turns}": run(
            args.turns, args.sample_every, args.session_turns
        ),
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
