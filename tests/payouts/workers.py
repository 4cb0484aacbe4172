"""Real RQ workers in subprocesses (``flask --app app worker``), for crash tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> set[int]:
    """The direct child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class WorkerProcess:
    """One ``flask --app app worker payouts`` process with the given environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "payouts"],
            cwd=ROOT, env=full, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.base: set[int] = set()
        self.horses: set[int] = set()

    @property
    def pid(self) -> int:
        """The worker (parent) process id."""
        return self.proc.pid

    def ready(self, redis: Any, timeout: float = 30) -> None:
        """Wait until the worker registered itself in Redis; remember its helper processes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            names = [k.decode() for k in redis.smembers("rq:workers")]
            pids = [int(redis.hget(f"rq:worker:{n.split(':')[-1]}", "pid") or 0) for n in names]
            if self.pid in pids:
                time.sleep(0.5)  # its scheduler process starts right after
                self.base = children(self.pid)
                return
            assert self.proc.poll() is None, "worker exited at start (see its log)"
            time.sleep(0.2)
        raise AssertionError("worker did not register in time")

    def horse(self, timeout: float = 20) -> int:
        """The work-horse running a job now (a child that was not there at start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = children(self.pid) - self.base
            if new:
                self.horses |= new
                return min(new)
            time.sleep(0.05)
        raise AssertionError("no work-horse appeared")

    def kill(self, pid: int) -> None:
        """SIGKILL one process."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill the worker and everything it started."""
        for pid in children(self.pid) | {self.pid} | self.horses:
            self.kill(pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.log.close()
