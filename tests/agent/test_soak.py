"""Fault soak (issue: reliability): 200 turns against a server failing at random, then two service
instances on one data dir. Every turn ends with an answer or a typed error within its bound, the
session holds exactly the turns that ended, and memory and file descriptors stay flat."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.agent.soak import TURN_BOUND_S, make_tutor, server_with_faults, soak

TYPED = {"provider", "cancelled", "session", "knowledge", "input"}


def test_200_turns_with_faults_end_cleanly_and_leak_nothing(tmp_path: Path) -> None:
    server = server_with_faults()
    tutor = make_tutor(tmp_path / "data", server.url)
    try:
        result = soak(tutor, 200)
    finally:
        tutor.close()
        server.close()
    assert not result.problems, result.problems
    assert result.turns == 200 and result.over_bound == 0, result.slowest_s
    assert result.finals + sum(result.errors.values()) == 200
    assert set(result.errors) <= TYPED, result.errors  # never an internal error
    assert result.finals >= 80 and result.errors.get("provider", 0) >= 10  # faults really hit
    assert result.transcript_ok
    # flat after warm-up: the first sample includes imports and the embedder
    assert result.fds[-1] - result.fds[1] <= 4, result.fds
    assert result.rss_mb[-1] - result.rss_mb[1] <= 60, result.rss_mb
    assert result.slowest_s < TURN_BOUND_S


def test_two_services_on_one_data_dir_lose_and_interleave_nothing(tmp_path: Path) -> None:
    server = server_with_faults(seed=5, stall_s=1.5)
    data = tmp_path / "data"
    first, second = make_tutor(data, server.url), make_tutor(data, server.url)
    shared = first.new_session("shared").id
    results = {}

    def run(name: str, tutor: object, seed: int) -> None:
        results[name] = soak(tutor, 30, seed=seed, session_id=shared)  # type: ignore[arg-type]

    threads = [
        threading.Thread(target=run, args=("a", first, 1)),
        threading.Thread(target=run, args=("b", second, 2)),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert all(not r.problems for r in results.values()), results
        roles = [e.role for e in first.transcript(shared)]
        # 60 turns in one session from two services: 60 questions, each followed by its answer
        assert roles == ["user", "assistant"] * 60
        assert second.transcript(shared) == first.transcript(shared)
    finally:
        first.close()
        second.close()
        server.close()
