"""The registry in the cache dir: users counted by live process (not by pid alone), the lock held
across processes, a state file that is unreadable counts as none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mltutor.agent.embedded import Registry, ServerState
from mltutor.agent.embedded.process import start_time
from mltutor.agent.errors import ProviderError

from .conftest import LINUX


def test_users_are_counted_while_their_process_lives(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    mine = reg.register()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = reg.register(child.pid)
        assert sorted(reg.live_users()) == sorted([os.getpid(), child.pid])
        child.kill()
        child.wait()
        assert reg.live_users() == [os.getpid()]
        assert not theirs.exists()  # a dead user's file is pruned by whoever looks
    finally:
        child.kill()
        child.wait()
    reg.unregister(mine)
    reg.unregister(mine)  # idempotent
    assert reg.live_users() == []


@pytest.mark.skipif(not LINUX, reason="start times come from /proc")
def test_a_reused_pid_is_not_a_user(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    me = start_time(os.getpid())
    assert me is not None and me > 0
    # a file left by an earlier process that had our pid: same pid, another start time
    (reg.users_dir).mkdir(parents=True, exist_ok=True)
    (reg.users_dir / f"{os.getpid()}-earlier").write_text(
        json.dumps({"pid": os.getpid(), "started": me - 1})
    )
    (reg.users_dir / "junk-file").write_text("not json")
    assert reg.live_users() == []
    assert list(reg.users_dir.iterdir()) == []


def test_unreadable_state_counts_as_none(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.read_state() is None
    reg.ensure()
    reg.state_path.write_text('{"status": "ready"}')  # missing fields
    assert reg.read_state() is None
    reg.write_state(ServerState(status="ready", warden_pid=os.getpid(), port=4242, alias="a"))
    state = reg.read_state()
    assert state is not None and state.base_url == "http://127.0.0.1:4242/v1"
    assert state.updated > 0 and state.warden_alive()
    reg.clear_state(warden_pid=os.getpid() + 1)  # not its supervisor: kept
    assert reg.read_state() is not None
    reg.clear_state(warden_pid=os.getpid())
    assert reg.read_state() is None


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mltutor.agent.embedded import Registry
    with Registry(Path(sys.argv[1])).lock(timeout_s=5):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


@pytest.mark.skipif(not LINUX, reason="flock")
def test_the_lock_excludes_other_processes(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with reg.try_lock() as held:
            assert held is False
        with (
            pytest.raises(ProviderError, match="starting the embedded model"),
            reg.lock(timeout_s=0.2),
        ):
            pass
        t0 = time.monotonic()
        with reg.lock(timeout_s=10):  # waits for the holder, then gets it
            assert time.monotonic() - t0 > 0.3
    finally:
        holder.kill()
        holder.wait()
    with reg.try_lock() as held:
        assert held is True
