"""Scan throughput on PostgreSQL + Redis against bare Flask, and gthread against gevent, in one run.

    python bench/bench_scans.py [--duration 5] [--rounds 3] [--connections 32] [--codes N]

Four servers (2 workers each) run at once and are loaded in turn, round after round:

    hello/gthread  bench/hello_app.py GET /hello, the baseline (gthread, 8 threads per worker)
    hello/gevent   the same, --worker-class gevent --worker-connections 200
    app/gthread    app:create_app() POST /api/v1/scans, gthread 2 x 8
    app/gevent     the same app, gevent

Each app server takes two loads per round: ``auth``, where every request is the FIRST scan of a
distinct genuine code (verify, cached batch, one Redis call, event to the stream), and ``forged``,
random 20-character codes (no database). The write-behind flusher
(``flask scans flush --follow``, the Procfile's ``scanflush``) runs throughout, as in production:
after each authentic load the benchmark waits until it has drained the stream into PostgreSQL, so
no load pays for the previous one's backlog, and reports the backlog left at the end of the load
and the CPU the flusher and Redis spent per scan. The target (issue 3) is auth/hello >= 0.30 on
the same worker class.

At the end it checks that every response was a 200 and that PostgreSQL holds a code state and a
scan event for every authentic request counted. That forged codes cost no query, and authentic
scans none either once the batch is cached, is proven by the tests (statement listeners).
Needs PostgreSQL and Redis on 127.0.0.1 (uses database ``yiwuyima_bench`` and Redis db 13).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    ROOT,
    VENV_BIN,
    BaseUrl,
    load,
    process_group_cpu,
    serve,
)

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN = f"{PG_SERVER}/postgres"
DB_NAME = "yiwuyima_bench"
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "PAYOUT_PROVIDER": "sandbox",
    "SECRET_KEY": "bench-scans",
    "RATELIMIT_ENABLED": "false",
    "PUBLIC_BASE_URL": "https://qr.bench.test",
    "DB_POOL_SIZE": "10",
}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CLASSES = ("gthread", "gevent")
STREAM = "scan:v1:events"
DRAIN_TIMEOUT = 120.0
WARMUP_CODES = 500
CODES_PER_SECOND = 6000  # the most authentic scans/s one load is expected to need


def _psql(sql: str, database: str = "postgres") -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return str(row[0]) if row else ""


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(APP_ENV["REDIS_URL"])


def prepare(codes: int) -> list[str]:
    """A fresh database with one active batch of ``codes`` codes; returns their URLs."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    _redis().flushdb()
    env = {**os.environ, **APP_ENV}
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    seed = (
        "import sys\n"
        "from app import create_app\n"
        "from core.db import db\n"
        "from accounts.service import create_brand\n"
        "from anticounterfeit import codes, service\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    brand = create_brand('bench', 'Bench', 'o@bench.test', 'password1').brand\n"
        "    p = service.create_product(brand, service.NewProduct('Bench tea', '06901234567892'))\n"
        f"    b = service.create_code_batch(brand, service.NewCodeBatch(str(p.id), {codes}))\n"
        "    service.activate_code_batch(b)\n"
        "    job = service.print_job(b, app.config['PUBLIC_BASE_URL'])\n"
        "    db.commit()\n"
        "    for _, code, _ in codes.encode_range(job.key, job.start, job.stop):\n"
        "        sys.stdout.write(f'{job.base_url}/01/{job.gtin}/21/{code}\\n')\n"
    )
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-c", seed],
        cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.split()


def body(code: str) -> bytes:
    return json.dumps({"code": code}).encode()


def forged_bodies(n: int) -> list[bytes]:
    rng = random.Random(7)
    return [body("".join(rng.choice(ALPHABET) for _ in range(20))) for _ in range(n)]


@contextlib.contextmanager
def flusher(app_env: dict[str, str] | None = None) -> Iterator[int]:
    """Run ``flask scans flush --follow`` (in its own process group); yields its pid."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    proc = subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "app", "scans", "flush", "--follow"],
        cwd=ROOT, env={**env, **(app_env or APP_ENV)}, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def redis_cpu() -> float:
    """CPU seconds the Redis server has used so far."""
    info = _redis().info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (from /proc): the live ones,
    and the exited ones the postmaster has reaped (backends of connections since closed)."""
    total = 0
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1":  # the postmaster (a child of init): its exited children's CPU
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def backlog() -> int:
    """Scan events not yet committed to PostgreSQL (the flusher deletes them after commit)."""
    return int(_redis().xlen(STREAM))


def drain() -> float:
    """Wait until the flusher has emptied the stream; returns the seconds it took."""
    began = time.monotonic()
    while backlog() and time.monotonic() - began < DRAIN_TIMEOUT:
        time.sleep(0.05)
    return time.monotonic() - began


def measure(
    url: BaseUrl, path: str, args: argparse.Namespace, *, bodies: list[bytes] | None = None,
    flusher_pid: int | None = None,
) -> dict[str, object]:  # fmt: skip
    """One load: the result and CPU ms per request (server; with ``flusher_pid`` also the
    flusher's and Redis's, until the stream is drained)."""
    server0, redis0, by_process0 = url.cpu_seconds(), redis_cpu(), url.cpu_by_process()
    postgres0 = postgres_cpu()
    flush0 = process_group_cpu(flusher_pid) if flusher_pid else 0.0
    method = "POST" if bodies else "GET"
    result = load(
        url + path, method=method, bodies=bodies, duration=args.duration,
        connections=args.connections,
    )  # fmt: skip
    server = url.cpu_seconds() - server0
    used = [cpu - by_process0.get(pid, 0.0) for pid, cpu in url.cpu_by_process().items()]
    row: dict[str, object] = result.as_dict()
    n = max(result.requests, 1)
    row["server_cpu_ms"] = round(server * 1000 / n, 3)
    row["busiest_share"] = round(max(used) / sum(used), 2) if sum(used) > 0 else None
    if flusher_pid:
        row["backlog_at_end"] = backlog()
        row["drain_seconds"] = round(drain(), 2)
        row["flusher_cpu_ms"] = round((process_group_cpu(flusher_pid) - flush0) * 1000 / n, 3)
        row["redis_cpu_ms"] = round((redis_cpu() - redis0) * 1000 / n, 3)
        row["postgres_cpu_ms"] = round((postgres_cpu() - postgres0) * 1000 / n, 3)
    return row


RATIOS = (
    ("auth/hello, gthread", "app/gthread auth", "hello/gthread"),
    ("auth/hello, gevent", "app/gevent auth", "hello/gevent"),
    ("auth gevent / hello gthread", "app/gevent auth", "hello/gthread"),
    ("forged/hello, gthread", "app/gthread forged", "hello/gthread"),
    ("forged/hello, gevent", "app/gevent forged", "hello/gevent"),
    ("hello gevent / gthread", "hello/gevent", "hello/gthread"),
)
Rows = list[dict[str, dict[str, Any]]]
SKEWED = 0.75


def skewed(*loads: dict[str, Any]) -> bool:
    """Whether one worker did nearly all of a load's work (2 workers: 0.5 is even)."""
    return any((load.get("busiest_share") or 0) > SKEWED for load in loads)


def stored() -> tuple[int, int]:
    """How many code states and scan events PostgreSQL holds."""
    return (
        int(_psql("SELECT count(*) FROM code_states", DB_NAME)),
        int(_psql("SELECT count(*) FROM scan_events", DB_NAME)),
    )


def run(args: argparse.Namespace, urls: list[str]) -> tuple[Rows, int, tuple[int, int]]:
    """Every round: the rows, how many authentic requests completed in the measured loads, and
    how many code states and scan events PostgreSQL gained meanwhile."""
    forged = forged_bodies(20_000)
    rows: Rows = []
    sent = 0
    cursor = 0

    def fresh(n: int) -> list[bytes]:
        nonlocal cursor
        chunk = urls[cursor : cursor + n]
        cursor += n
        return [body(u) for u in chunk]

    per_load = (len(urls) - 2 * WARMUP_CODES) // (args.rounds * len(CLASSES))
    with contextlib.ExitStack() as stack:
        flush_pid = stack.enter_context(flusher())
        servers = {}
        for cls in CLASSES:
            servers[f"hello/{cls}"] = stack.enter_context(
                serve("bench.hello_app:app", env={}, ready_path="/hello", worker_class=cls)
            )
            servers[f"app/{cls}"] = stack.enter_context(
                serve("app:create_app()", env=APP_ENV, ready_path="/api/v1/health",
                      worker_class=cls)
            )  # fmt: skip
        for cls in CLASSES:  # warm up: pools, key ring, batch cache, scripts
            load(servers[f"hello/{cls}"] + "/hello", duration=1)
            load(
                servers[f"app/{cls}"] + "/api/v1/scans", method="POST",
                bodies=fresh(WARMUP_CODES), duration=1, connections=4,
            )  # fmt: skip
        drain()
        before = stored()
        for r in range(args.rounds):
            row: dict[str, dict[str, Any]] = {}
            for cls in CLASSES:
                row[f"hello/{cls}"] = measure(servers[f"hello/{cls}"], "/hello", args)
                auth = measure(
                    servers[f"app/{cls}"], "/api/v1/scans", args, bodies=fresh(per_load),
                    flusher_pid=flush_pid,
                )  # fmt: skip
                sent += int(auth["requests"])
                if int(auth["requests"]) > per_load:
                    print(
                        f"warning: round {r + 1} ran out of codes; raise --codes", file=sys.stderr
                    )
                row[f"app/{cls} auth"] = auth
                row[f"app/{cls} forged"] = measure(
                    servers[f"app/{cls}"], "/api/v1/scans", args, bodies=forged
                )
            rows.append(row)
            print(f"round {r + 1} done", file=sys.stderr)
        drain()
    after = stored()
    return rows, sent, (after[0] - before[0], after[1] - before[1])


def report(rows: Rows, states: int, events: int, sent: int, args: argparse.Namespace) -> bool:
    """Print per-round figures, ratios and checks; True if every check passed."""
    names = list(rows[0])
    print(f"\nrequests/s (wrk -c{args.connections}, {args.duration:g}s per load)")
    print(f"{'round':<7}" + "".join(f"{n:>20}" for n in names))
    for i, row in enumerate(rows):
        print(f"{i + 1:<7}" + "".join(f"{float(row[n]['rps']):>20,.0f}" for n in names))
    print("\nserver CPU ms per request (median); busiest worker's share of it, per round")
    for n in names:
        cpu = statistics.median(float(r[n]["server_cpu_ms"]) for r in rows)
        shares = " ".join(f"{r[n]['busiest_share']}" for r in rows)
        print(f"  {n:<22}{cpu:.3f}   {shares}")
    print(
        "\nauthentic loads, median: CPU ms per scan of the flusher, Redis and PostgreSQL (until"
        " the stream was drained); events not yet in PostgreSQL when the load ended; drain s"
    )
    for cls in CLASSES:
        cells = [r[f"app/{cls} auth"] for r in rows]
        med = {k: statistics.median(float(c[k]) for c in cells) for k in (
            "flusher_cpu_ms", "redis_cpu_ms", "postgres_cpu_ms", "backlog_at_end",
            "drain_seconds")}  # fmt: skip
        print(
            f"  {cls:<8} flusher {med['flusher_cpu_ms']:.3f}  redis {med['redis_cpu_ms']:.3f}"
            f"  postgres {med['postgres_cpu_ms']:.3f}  backlog {med['backlog_at_end']:.0f}"
            f"  drain {med['drain_seconds']:.2f}"
        )
    print(
        f"\nratio of requests/s{'':<18}"
        + "".join(f"{'r' + str(i + 1):>7}" for i in range(len(rows)))
    )
    for label, top, bottom in RATIOS:
        per = [float(r[top]["rps"]) / float(r[bottom]["rps"]) for r in rows]
        fair = [x for x, r in zip(per, rows, strict=True) if not skewed(r[top], r[bottom])]
        marks = ["*" if skewed(r[top], r[bottom]) else " " for r in rows]
        print(
            f"  {label:<35}"
            + "".join(f"{x:>6.2f}{m}" for x, m in zip(per, marks, strict=True))
            + f"   median {statistics.median(per):.2f}"
            + (f", balanced rounds {statistics.median(fair):.2f}" if fair else "")
        )
    print(
        f"  * a load where one worker did more than {SKEWED:.0%} of the server's work (wrk's"
        " connections all went to it), so the ratio says little"
    )
    bad = [
        f"round {i} {n}: {c['status_counts']} errors={c['errors']}"
        for i, row in enumerate(rows, 1)
        for n, c in row.items()
        if set(c["status_counts"]) != {"200"} or c["errors"]
    ]
    for line in bad:
        print("NOT ALL 200:", line)
    ok = states >= sent and events >= sent
    print(f"\nall responses 200: {not bad}")
    print(f"authentic requests counted {sent}; new code_states {states}; new scan_events "
          f"{events} (all stored: {ok})")  # fmt: skip
    if args.json:
        result = {"rounds": rows, "code_states": states, "scan_events": events, "sent": sent}
        args.json.write_text(json.dumps(result, indent=2))
    return ok and not bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=None, help="default: enough for the run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    codes = args.codes or (
        2 * WARMUP_CODES + int(args.rounds * len(CLASSES) * args.duration * CODES_PER_SECOND)
    )
    started = time.monotonic()
    urls = prepare(codes)
    rows, sent, (states, events) = run(args, urls)
    print(f"scans: {args.rounds} rounds, {len(urls)} codes, {os.cpu_count()} cores, "
          f"took {time.monotonic() - started:.0f}s")  # fmt: skip
    return 0 if report(rows, states, events, sent, args) else 1


if __name__ == "__main__":
    sys.exit(main())
