"""The supervisor of the shared embedded model server: a small process of ours between the users and
the server, so the server is never orphaned.

``python -m mltutor.agent.embedded.warden --config JSON`` is started (detached, in its own session) by
the first mltutor process that needs the model (see :mod:`mltutor.agent.embedded.registry` for the
protocol). It spawns the server as its own child with ``PR_SET_PDEATHSIG`` (so even a SIGKILL of the
supervisor takes the server down), waits until ``/health`` is ok and the model is listed, and then:

- restarts the server when it dies (on the same port, so clients keep their URL), at most
  ``max_restarts`` times within ``restart_window_s``; past that it records ``failed`` with the log
  tail and exits;
- every ``tick_s`` prunes the registered users whose processes are gone, and once none has been
  alive for ``idle_timeout_s`` it takes the registry lock, looks once more, stops the server, removes
  the state file and exits;
- exits (stopping the server) on SIGTERM/SIGINT/SIGHUP, and when ``state.json`` no longer names it.

So the server lives exactly as long as its supervisor, and the supervisor at most ``idle_timeout_s``
(plus a tick) after the last user process is gone, however that process ended.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mltutor.agent.embedded.command import free_port, with_port
from mltutor.agent.embedded.process import log_tail, spawn, start_time, terminate
from mltutor.agent.embedded.registry import Registry, ServerState, Status


class WardenConfig(BaseModel):
    """Everything the supervisor needs, passed as JSON on its command line."""

    model_config = ConfigDict(use_attribute_docstrings=True, frozen=True)

    state_dir: Path
    """The registry directory."""
    argv: list[str]
    """The server command, with ``{port}`` for the port."""
    alias: str
    """Model name the server must list before it counts as ready."""
    model: str = ""
    """Path of the GGUF (recorded in the state for diagnostics)."""
    idle_timeout_s: float = Field(default=300.0, ge=0)
    """Stop this long after the last user process is gone."""
    startup_timeout_s: float = Field(default=120.0, gt=0)
    """Longest wait for the server to answer after each spawn."""
    max_restarts: int = Field(default=3, ge=0)
    """Crashes restarted within ``restart_window_s`` before giving up."""
    restart_window_s: float = Field(default=300.0, gt=0)
    """The window the crash cap counts in."""
    stop_grace_s: float = Field(default=5.0, ge=0)
    """Wait after SIGTERM before SIGKILL."""
    tick_s: float = Field(default=0.2, gt=0)
    """How often users and the server are checked."""


class StartFailed(Exception):
    """The server did not come up; the message says why, with the log tail."""


class Stopped(Exception):
    """A stop signal arrived while the server was starting."""


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def server_ready(port: int, alias: str, timeout_s: float = 2.0) -> bool:
    """``/health`` is ok (not 503 "Loading model") and ``/v1/models`` lists ``alias`` (so another
    program that happens to hold the port is not taken for our server)."""
    opener = _opener()
    try:
        with opener.open(f"http://127.0.0.1:{port}/health", timeout=timeout_s) as r:
            if r.status != 200:
                return False
        with opener.open(f"http://127.0.0.1:{port}/v1/models", timeout=timeout_s) as r:
            body = json.load(r)
    except (OSError, ValueError):
        return False
    return any(m.get("id") == alias for m in body.get("data", []) if isinstance(m, dict))


class Warden:
    def __init__(self, config: WardenConfig) -> None:
        self.cfg = config
        self.registry = Registry(config.state_dir)
        self.pid = os.getpid()
        self.started = start_time(self.pid)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.crashes: list[float] = []
        self.stopping = False

    # -- state -----------------------------------------------------------------------------------

    def write(self, status: Status, error: str = "") -> None:
        proc = self.proc
        self.registry.write_state(
            ServerState(
                status=status,
                warden_pid=self.pid,
                warden_started=self.started,
                server_pid=proc.pid if proc is not None else None,
                server_started=start_time(proc.pid) if proc is not None else None,
                port=self.port,
                alias=self.cfg.alias,
                model=self.cfg.model,
                error=error,
                restarts=len(self.crashes),
            )
        )

    def still_mine(self) -> bool:
        state = self.registry.read_state()
        return state is not None and state.warden_pid == self.pid

    # -- the server ------------------------------------------------------------------------------

    def launch(self) -> None:
        """Spawn on the previous port if any, else a free one; on a port taken between choosing
        and binding it, again on a fresh one."""
        ports = ([self.port] if self.port is not None else []) + [free_port(), free_port()]
        for attempt, port in enumerate(ports):
            offset = self._log_size()
            self.port = port
            self.proc = spawn(
                with_port(self.cfg.argv, port), self.registry.log_path, die_with_parent=True
            )
            self.write("starting")
            code = self._wait_ready(self.proc, port)
            if code is None:
                return
            self.proc = None
            if self.stopping:
                raise Stopped
            tail = log_tail(self.registry.log_path, since=offset)
            lowered = tail.lower()
            taken = "address already in use" in lowered or "couldn't bind" in lowered
            if taken and attempt + 1 < len(ports):
                continue
            if code == -999:
                raise StartFailed(
                    f"The embedded model server did not answer within "
                    f"{self.cfg.startup_timeout_s:.0f} s. Last lines of "
                    f"{self.registry.log_path}:\n{tail}"
                )
            raise StartFailed(
                f"The embedded model server exited during start-up (exit code {code}). "
                f"Last lines of {self.registry.log_path}:\n{tail}"
            )

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> int | None:
        """None once ready; the exit code if it died; -999 on timeout or shutdown (killed)."""
        deadline = time.monotonic() + self.cfg.startup_timeout_s
        while True:
            code = proc.poll()
            if code is not None:
                return code
            if server_ready(port, self.cfg.alias):
                return None
            if self.stopping or time.monotonic() > deadline:
                terminate(proc, self.cfg.stop_grace_s)
                return -999
            time.sleep(0.1)

    def _log_size(self) -> int:
        try:
            return self.registry.log_path.stat().st_size
        except OSError:
            return 0

    def shutdown(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate(proc, self.cfg.stop_grace_s)

    def restart_allowed(self) -> bool:
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < self.cfg.restart_window_s]
        if len(self.crashes) >= self.cfg.max_restarts:
            return False
        self.crashes.append(now)
        return True

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> int:
        def on_signal(signum: int, frame: object) -> None:
            self.stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                signal.signal(sig, on_signal)
        log(f"supervisor {self.pid} starting the server: {' '.join(self.cfg.argv)}")
        failed = False
        try:
            self.write("starting")
            self.launch()
            self.write("ready")
            log(f"server {self.proc.pid if self.proc else '?'} ready on port {self.port}")
            idle_since: float | None = None
            while not self.stopping:
                time.sleep(self.cfg.tick_s)
                if not self.still_mine():
                    log("state file gone or taken over; stopping")
                    break
                proc = self.proc
                if proc is None or proc.poll() is not None:
                    code = proc.returncode if proc is not None else None
                    if not self.restart_allowed():
                        tail = log_tail(self.registry.log_path)
                        failed = True
                        self.proc = None
                        self.write(
                            "failed",
                            f"The embedded model server keeps crashing ({len(self.crashes) + 1} "
                            f"times in {self.cfg.restart_window_s:.0f} s, last exit code {code}). "
                            f"Last lines of {self.registry.log_path}:\n{tail}",
                        )
                        return 1
                    log(f"server exited with code {code}; restarting")
                    self.launch()
                    self.write("ready")
                    continue
                if self.registry.live_users():
                    idle_since = None
                    continue
                idle_since = idle_since if idle_since is not None else time.monotonic()
                if time.monotonic() - idle_since >= self.cfg.idle_timeout_s:
                    with self.registry.try_lock() as held:
                        if held and not self.registry.live_users():
                            log("no users left; stopping")
                            self.write("stopping")
                            self.shutdown()
                            self.registry.clear_state(self.pid)
                            return 0
            return 0
        except StartFailed as exc:
            failed = True
            self.write("failed", str(exc))
            return 1
        except Stopped:
            return 0
        finally:
            if not failed and self.still_mine():
                self.write("stopping")  # clients wait for a new supervisor instead of this one
            self.shutdown()
            if not failed:
                self.registry.clear_state(self.pid)


def log(message: str) -> None:
    print(f"mltutor-supervisor: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mltutor-embedded-supervisor")
    parser.add_argument("--config", required=True, help="WardenConfig as JSON")
    args = parser.parse_args(argv)
    config = WardenConfig.model_validate(json.loads(args.config))
    with contextlib.suppress(KeyboardInterrupt):
        return Warden(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
