"""A run in a child process (so a test can SIGKILL it): the real provider against a fake server.

``python -m tests.evals.child_run SUITE RUN_DIR BASE_URL [--resume] [--concurrency C]``. The grader is
the fast lexical stand-in (1,000 cases must not wait on real grading); everything else is real: the
OpenAI-compatible provider, the runner, the log.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mltutor.evals import launch
from mltutor.evals.bundled import load_suite
from mltutor.evals.records import RunConfig
from mltutor.settings import Settings
from tests.evals.fakes import LexicalGrader


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("suite")
    p.add_argument("run_dir", type=Path)
    p.add_argument("base_url")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--concurrency", type=int, default=16)
    args = p.parse_args()
    settings = Settings(
        data_dir=args.run_dir.parent / "data",
        cache_dir=args.run_dir.parent / "cache",
        base_url=args.base_url,
        model="fake-model",
        # the default retries: the scripted server's listen backlog is 5, so 16 connections opened
        # at once on a loaded machine can be refused once, as with any server under a burst
        max_retries=2,
    )
    injected = launch.Injected(grader=LexicalGrader())
    if args.resume:
        outcome = launch.resume(
            args.run_dir, settings, injected=injected, concurrency=args.concurrency
        )
    else:
        suite = load_suite(args.suite)
        config = RunConfig(suite=args.suite, solver="raw", concurrency=args.concurrency)
        outcome = launch.start(
            suite, config, settings, args.run_dir.parent, injected=injected, run_dir=args.run_dir
        )
    print(outcome.model_dump_json(), flush=True)
    return 0 if outcome.remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
