"""Run the Procfile's processes for a test: real gunicorn, flusher and workers, on an ephemeral
port of 127.0.0.1, against the test's PostgreSQL and Redis; stopped (by their own process
group) when the test ends."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """The Procfile's ``name: command`` lines."""
    commands = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not line.startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


@dataclass
class Process:
    """One started process and everything it printed."""

    name: str
    popen: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def text(self) -> str:
        """What it printed so far."""
        return "".join(self.output)


@dataclass
class Services:
    """The running processes and the web process's URL."""

    base_url: str
    processes: dict[str, Process]

    def logs(self) -> str:
        """Every process's output, for a failure message."""
        return "\n".join(f"--- {p.name}\n{p.text()[-20_000:]}" for p in self.processes.values())


def _start(name: str, command: str, env: dict[str, str]) -> Process:
    popen = subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    process = Process(name, popen)

    def pump() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            process.output.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return process


def _stop(process: Process) -> None:
    if process.popen.poll() is None:
        os.killpg(process.popen.pid, signal.SIGTERM)
        try:
            process.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=5)


@contextmanager
def running(
    env: dict[str, str], names: tuple[str, ...] = ("web", "scanflush", "worker")
) -> Iterator[Services]:
    """Start the named Procfile processes; ``web`` binds an ephemeral port of 127.0.0.1."""
    commands = procfile()
    venv_bin = str(ROOT / ".venv" / "bin")
    full_env = {**os.environ, **env, "PORT": "0", "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    processes: dict[str, Process] = {}
    try:
        for name in names:
            command = commands[name].replace("0.0.0.0:$PORT", "127.0.0.1:$PORT")
            processes[name] = _start(name, command, full_env)
        base_url = _wait_for_web(processes["web"]) if "web" in processes else ""
        yield Services(base_url, processes)
    finally:
        for process in processes.values():
            _stop(process)


def _wait_for_web(web: Process, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(web.text())
        if found:
            return f"http://127.0.0.1:{found[1]}"
        if web.popen.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start:\n{web.text()}")
