"""Reusable pieces for the HTTP benchmarks: serve an app with gunicorn, put load on a URL.

    from bench.harness import serve, load

    with serve("app:create_app()", env={"DATABASE_URL": "sqlite:////tmp/x.db"}) as url:
        result = load(url + "/api/v1/health", duration=5)
        print(result.rps, result.status_counts)

``serve`` starts ``.venv/bin/gunicorn`` on 127.0.0.1 in its own process group and always kills
that group on exit. ``load`` uses ``wrk`` when it is installed (``apt-get install -y wrk``) and a
Python fallback (threads with keep-alive ``http.client`` connections) otherwise; the result says
which. The fallback shares the GIL and the cores with the server, so its figures are lower:
compare ratios measured with one generator in one run, never absolute figures across runs.

Only loopback addresses are served or loaded. Every wait is bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
GUNICORN = VENV_BIN / "gunicorn"

# Variables passed through to the server; everything else comes from ``env`` only, so a
# DATABASE_URL or REDIS_URL of the calling shell never leaks into a benchmark.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_REQUESTS_PER_THREAD = 10_000_000


class BaseUrl(str):
    """The base URL of a running server (a plain ``str``), with its master pid attached."""

    pid: int

    def __new__(cls, url: str, pid: int) -> BaseUrl:
        obj = super().__new__(cls, url)
        obj.pid = pid
        return obj

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server's live processes (master and
        workers). Take the difference around a load to get server CPU per request."""
        return process_group_cpu(self.pid)

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds so far of each live process of the server, by pid (to see whether the
        load was spread over the workers)."""
        return {pid: cpu for pid, _, pgrp, cpu in _proc_stats() if pgrp == self.pid}


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"benchmarks only talk to loopback addresses, not {host!r}")


def _proc_stats() -> Iterator[tuple[int, int, int, float]]:
    """(pid, ppid, pgrp, cpu seconds) of every process, from /proc (empty elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ")".
        fields = raw[raw.rfind(")") + 2 :].split()
        ppid, pgrp = int(fields[1]), int(fields[2])
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        yield int(entry.name), ppid, pgrp, cpu


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes in process group ``pgid``."""
    return sum(cpu for _, _, pgrp, cpu in _proc_stats() if pgrp == pgid)


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of the live process ``root`` and all its descendants."""
    stats = list(_proc_stats())
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, ppid, _, _ in stats if ppid in tree} - tree
        grew, tree = bool(more), tree | more
    return sum(cpu for pid, _, _, cpu in stats if pid in tree)


def _children(pid: int) -> int:
    return sum(1 for _, ppid, _, _ in _proc_stats() if ppid == pid)


def _answers(host: str, port: int, path: str) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _die_with_parent() -> None:
    """In the gunicorn child before exec: get SIGTERM if the benchmark process dies (Linux), so a
    killed benchmark leaves no server behind."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, wait (bounded), then SIGKILL whatever is left."""
    pgid = proc.pid  # start_new_session=True: the master leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)  # workers that outlived their master
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def serve(
    app_spec: str,
    *,
    env: Mapping[str, str],
    port: int | None = None,
    workers: int = 2,
    worker_class: str = "gthread",
    threads: int = 8,
    worker_connections: int = 200,
    cwd: str | Path = ROOT,
    ready_path: str = "/",
    extra_args: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT,
) -> Iterator[BaseUrl]:
    """Run ``gunicorn app_spec`` on 127.0.0.1 and yield its base URL (``http://127.0.0.1:N``).

    The server's environment is ``env`` plus PATH/HOME/locale only. ``threads`` applies to
    gthread, ``worker_connections`` to gevent/eventlet (gunicorn would turn ``sync`` with
    threads > 1 into gthread, so threads are not passed for other classes). Ready means it
    answered ``ready_path`` (any status) and has forked all ``workers``. The process group is
    terminated on exit, always.
    """
    port = port or free_port()
    args = [
        str(GUNICORN), app_spec,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--log-level", "warning",
        "--graceful-timeout", "5",
    ]  # fmt: skip
    if worker_class == "gthread":
        args += ["--threads", str(threads)]
    elif worker_class in ("gevent", "eventlet"):
        args += ["--worker-connections", str(worker_connections)]
    args += list(extra_args)
    child_env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
    child_env.update(env)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            args,
            cwd=str(cwd),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers("127.0.0.1", port, ready_path):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-3000:].decode(errors="replace")
                    state = f"exited {proc.returncode}" if proc.poll() is not None else "timed out"
                    raise RuntimeError(f"gunicorn {app_spec} {state} before answering:\n{tail}")
                time.sleep(0.1)
            while _children(proc.pid) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            yield BaseUrl(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            _kill_group(proc)


@dataclass
class LoadResult:
    """What one load run did. ``errors`` counts socket errors and timeouts (no response)."""

    requests: int
    seconds: float
    rps: float
    status_counts: dict[int, int]
    errors: int = 0
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    generator: str = ""
    detail: dict[str, object] = field(default_factory=dict)

    def all_status(self, status: int) -> bool:
        """Every request got ``status``, and there was at least one and no socket error."""
        return self.requests > 0 and self.errors == 0 and set(self.status_counts) == {status}

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "status_counts": {str(k): v for k, v in sorted(self.status_counts.items())},
            "errors": self.errors,
            "latency_p50_ms": _round(self.latency_p50_ms),
            "latency_p99_ms": _round(self.latency_p99_ms),
            "generator": self.generator,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


#: One request of a load: its body, and headers of its own (on top of the load's).
Line = tuple[bytes, Mapping[str, str]]


def _lines(bodies: Sequence[bytes] | None,
           request_headers: Sequence[Mapping[str, str]] | None) -> list[Line] | None:  # fmt: skip
    if request_headers is None:
        return [(body, {}) for body in bodies] if bodies else None
    if not bodies or len(request_headers) != len(bodies):
        raise ValueError("request_headers needs bodies, one set of headers per body")
    for extra in request_headers:
        for name, value in extra.items():
            if any(c in name + value for c in "\t\r\n\x1e\x1f"):
                raise ValueError(f"unsendable header {name!r}")
    if any(b"\t" in body for body in bodies):
        raise ValueError("with request_headers, no tab inside a body")
    return list(zip(bodies, request_headers, strict=True))


def load(
    url: str,
    *,
    method: str = "GET",
    bodies: list[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    duration: float = 10,
    connections: int = 32,
    generator: str = "auto",
    threads: int = 2,
    request_headers: Sequence[Mapping[str, str]] | None = None,
) -> LoadResult:
    """Send requests to ``url`` for ``duration`` seconds over ``connections`` keep-alive
    connections and count the responses by status.

    With ``bodies`` each request carries one of them (``Content-Type: application/json``); the
    bodies are split between the generator's threads (thread i sends i, i+T, i+2T, ...) and
    cycle, so with at least as many bodies as requests none is sent twice. ``generator`` is
    ``"wrk"``, ``"python"`` or ``"auto"`` (wrk if installed). ``threads`` is wrk's thread count.
    A closed loop, as fast as the server answers: for latency at a given rate, ``paced``.

    ``request_headers`` (with ``bodies``, one per body): headers of that request only, on top of
    ``headers`` (say, each request's own consumer token).
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"need an http:// URL, not {url!r}")
    _check_loopback(parts.hostname)
    if bodies is not None and not bodies:
        raise ValueError("bodies is empty")
    if bodies and any(b"\n" in body for body in bodies):
        raise ValueError("bodies are sent one per line: no newlines inside a body")
    lines = _lines(bodies, request_headers)
    all_headers = dict(headers or {})
    if bodies:
        all_headers.setdefault("Content-Type", "application/json")
    if generator == "auto":
        generator = "wrk" if have_wrk() else "python"
    if generator == "wrk":
        return _load_wrk(url, method, lines, all_headers, duration, connections, threads)
    if generator == "python":
        return _load_python(url, method, lines, all_headers, duration, connections)
    raise ValueError(f"unknown generator {generator!r}")


# --- wrk ---------------------------------------------------------------------------------------

_LUA = r"""
-- Generated by bench/harness.py.
local method = %(method)s
local headers = %(headers)s
local body_path = %(body_path)s
local nthreads = %(nthreads)d
local with_headers = %(with_headers)s

wrk.method = method
for k, v in pairs(headers) do wrk.headers[k] = v end

local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

statuses = {}
local prepared = {}
local count, idx = 0, 0

function init(args)
  statuses = {}
  if body_path then
    local i = 0
    for line in io.lines(body_path) do
      if i %% nthreads == tid then
        count = count + 1
        local hdrs, body = nil, line
        if with_headers then
          -- "name\031value\030name\031value\tbody": this request's own headers, then its body
          local tab = string.find(line, "\t", 1, true)
          hdrs, body = {}, string.sub(line, tab + 1)
          for k, v in pairs(wrk.headers) do hdrs[k] = v end
          for pair in string.gmatch(string.sub(line, 1, tab - 1), "[^\030]+") do
            local sep = string.find(pair, "\031", 1, true)
            hdrs[string.sub(pair, 1, sep - 1)] = string.sub(pair, sep + 1)
          end
        end
        prepared[count] = wrk.format(method, nil, hdrs, body)
      end
      i = i + 1
    end
  end
end

if body_path then
  function request()
    idx = idx %% count + 1
    return prepared[idx]
  end
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses") or {}
    for code, n in pairs(s) do merged[code] = (merged[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = string.format('"%%d": %%d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "statuses": {%%s}, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, "status": %%d}, ' ..
    '"p50_us": %%d, "p99_us": %%d}\n',
    summary.requests, summary.duration, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_str(value: str) -> str:
    """A Lua string literal: printable ASCII kept, every other byte as a decimal escape."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _wrk_line(body: bytes, extra: Mapping[str, str], with_headers: bool) -> bytes:
    if not with_headers:
        return body
    head = "\x1e".join(f"{name}\x1f{value}" for name, value in extra.items())
    return head.encode() + b"\t" + body


def _load_wrk(
    url: str,
    method: str,
    lines: list[Line] | None,
    headers: dict[str, str],
    duration: float,
    connections: int,
    threads: int,
) -> LoadResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    threads = max(1, min(threads, connections, len(lines) if lines else threads))
    with_headers = bool(lines) and any(extra for _, extra in lines or ())
    seconds = max(1, round(duration))  # wrk takes whole seconds
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_path = "nil"
        if lines:
            path = Path(tmp) / "bodies.jsonl"
            path.write_bytes(b"".join(_wrk_line(body, extra, with_headers) + b"\n"
                                      for body, extra in lines))  # fmt: skip
            body_path = _lua_str(str(path))
        header_table = (
            "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items()) + "}"
        )
        script = Path(tmp) / "load.lua"
        script.write_text(
            _LUA
            % {
                "method": _lua_str(method.upper()),
                "headers": header_table,
                "body_path": body_path,
                "nthreads": threads,
                "with_headers": "true" if with_headers else "false",
            }
        )
        cmd = [
            wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "10s", "-s", str(script), url,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    took = data["duration_us"] / 1e6
    errors = data["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    return LoadResult(
        requests=data["requests"],
        seconds=took,
        rps=data["requests"] / took if took else 0.0,
        status_counts={int(k): v for k, v in data["statuses"].items()},
        errors=socket_errors,
        latency_p50_ms=data["p50_us"] / 1000,
        latency_p99_ms=data["p99_us"] / 1000,
        generator=f"wrk -t{threads} -c{connections}",
        detail={"wrk_errors": errors},
    )


# --- Python fallback -----------------------------------------------------------------------------


@dataclass
class _ThreadTally:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def _client_thread(
    host: str,
    port: int,
    path: str,
    method: str,
    lines: list[Line] | None,
    headers: dict[str, str],
    start: threading.Event,
    deadline_box: list[float],
    tally: _ThreadTally,
) -> None:
    start.wait(timeout=30)
    deadline = deadline_box[0]
    conn: http.client.HTTPConnection | None = None
    clock = time.perf_counter
    sent = 0
    for _ in range(MAX_REQUESTS_PER_THREAD):  # bounded by count and by the deadline
        if clock() >= deadline:
            break
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        body, extra = lines[sent % len(lines)] if lines else (None, {})
        began = clock()
        try:
            conn.request(method, path, body=body, headers={**headers, **extra})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            tally.errors += 1
            conn.close()
            conn = None
            continue
        tally.latencies.append(clock() - began)
        tally.statuses[response.status] += 1
        sent += 1
        if response.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def _share(lines: list[Line] | None, index: int, parts: int) -> list[Line] | None:
    """Thread ``index``'s requests: every ``parts``-th from ``index`` (at least one)."""
    if not lines:
        return None
    return lines[index::parts] or [lines[index % len(lines)]]


def _load_python(
    url: str,
    method: str,
    lines: list[Line] | None,
    headers: dict[str, str],
    duration: float,
    connections: int,
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    start = threading.Event()
    deadline_box = [0.0]
    tallies = [_ThreadTally() for _ in range(connections)]
    workers = [
        threading.Thread(
            target=_client_thread,
            args=(
                host, port, path, method.upper(),
                _share(lines, i, connections),
                headers, start, deadline_box, tallies[i],
            ),
            daemon=True,
        )
        for i in range(connections)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline_box[0] = began + duration
    start.set()
    for worker in workers:
        worker.join(timeout=max(0.0, deadline_box[0] - time.perf_counter()) + 15)
    took = time.perf_counter() - began
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0
    for tally in tallies:
        statuses.update(tally.statuses)
        latencies.extend(tally.latencies)
        errors += tally.errors
    requests = sum(statuses.values())
    p50 = p99 = None
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    return LoadResult(
        requests=requests,
        seconds=took,
        rps=requests / took if took else 0.0,
        status_counts=dict(statuses),
        errors=errors,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        generator=f"python http.client x{connections} threads",
    )


# --- Open loop (paced latency) -------------------------------------------------------------------


class _Http11:
    """One keep-alive HTTP/1.1 connection on asyncio streams (Content-Length bodies only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> tuple[int, bool]:
        """Send one request; its status, and whether the server closes the connection."""
        self.writer.write(request)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status, length, close = int(status_line.split()[1]), 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise ValueError("chunked responses are not supported here")
        if length:
            await self.reader.readexactly(length)
        return status, close

    def close(self) -> None:
        self.writer.close()


def _open_loop_requests(url: str, method: str, lines: list[Line] | None,
                        headers: Mapping[str, str]) -> list[bytes]:  # fmt: skip
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    requests = []
    for body, extra in lines or [(b"", {})]:
        head = [f"{method.upper()} {path} HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{k}: {v}" for k, v in {**headers, **extra}.items()]
        text = "\r\n".join([*head, f"Content-Length: {len(body)}", "", ""])
        requests.append(text.encode("latin1") + body)
    return requests


async def _open_loop(
    url: str, requests: list[bytes], rate: float, duration: float, warmup: float,
    max_connections: int, seed: int,
) -> tuple[Counter[int], list[float], int, int]:  # fmt: skip
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[_Http11] = []
    slots = asyncio.Semaphore(max_connections)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors, sent = 0, 0
    clock = time.perf_counter

    async def one(request: bytes, due: float, measured: bool) -> None:
        nonlocal errors
        async with slots:  # at most max_connections in flight; a wait here counts as latency
            conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = _Http11(*await asyncio.open_connection(host, port))
                status, close = await asyncio.wait_for(conn.send(request), timeout=10)
            except (OSError, EOFError, ValueError, IndexError):  # timeouts and resets: OSError
                errors += 1
                if conn is not None:
                    conn.close()
                return
            took = clock() - due  # from the arrival it was due at: queueing included
            if close:
                conn.close()
            else:
                idle.append(conn)
        statuses[status] += 1
        if measured:
            latencies.append(took)

    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()
    began = clock()
    due = began
    while True:
        due += rng.expovariate(rate)
        if due - began >= duration:
            break
        await asyncio.sleep(max(0.0, due - clock()))
        task = asyncio.create_task(one(requests[sent % len(requests)], due, due - began >= warmup))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
    if tasks:
        await asyncio.wait(tasks, timeout=15)
    for conn in idle:
        conn.close()
    return statuses, latencies, errors, sent


def paced(
    url: str,
    *,
    rate: float,
    duration: float = 20,
    method: str = "GET",
    bodies: list[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
    warmup: float = 3.0,
    max_connections: int = 64,
    seed: int = 7919,
    request_headers: Sequence[Mapping[str, str]] | None = None,
) -> LoadResult:
    """An open-loop load for latency at a given rate: requests arrive as a Poisson process of
    ``rate`` per second for ``duration`` seconds, whatever the server's answers (a closed loop
    like wrk's slows down when the server does, hiding the queue it would have made). Each
    arrival goes out on an idle keep-alive connection or a new one, at most
    ``max_connections`` at once (an arrival beyond that waits, and the wait counts). Latency
    runs from the moment a request was due, not from when it could be sent. Requests due in
    the first ``warmup`` seconds (connections being opened, the server's caches filling) are
    sent and counted by status but left out of the percentiles. One asyncio thread in this
    process: a few hundred requests per second cost it a few per cent of a core.

    ``bodies`` are sent in order, one per request (``Content-Type: application/json``), each
    with its ``request_headers`` if given (as ``load``'s)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"need an http:// URL, not {url!r}")
    _check_loopback(parts.hostname)
    all_headers = dict(headers or {})
    if bodies:
        all_headers.setdefault("Content-Type", "application/json")
    requests = _open_loop_requests(url, method, _lines(bodies, request_headers), all_headers)
    began = time.perf_counter()
    statuses, latencies, errors, sent = asyncio.run(
        _open_loop(url, requests, rate, duration, warmup, max_connections, seed)
    )  # fmt: skip
    took = time.perf_counter() - began
    p50 = p99 = None
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    answered = sum(statuses.values())
    return LoadResult(
        requests=answered, seconds=took, rps=answered / took if took else 0.0,
        status_counts=dict(statuses), errors=errors, latency_p50_ms=p50, latency_p99_ms=p99,
        generator=f"open loop {rate:.0f}/s (python asyncio, <= {max_connections} connections)",
        detail={"sent": sent, "measured": len(latencies)},
    )  # fmt: skip
