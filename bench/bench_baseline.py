"""Baseline throughput: the real app's cheapest endpoint against bare Flask, and gunicorn's worker
classes against each other, measured side by side in one run.

    python bench/bench_baseline.py [--duration 5] [--rounds 3] [--connections 32] [--json out.json]

Four servers run at once (idle ones cost nothing) and are loaded in turn, round after round:

    hello/gthread  bench/hello_app.py GET /hello, the Procfile's settings (2 workers x 8 threads)
    app/gthread    app:create_app() GET /api/v1/health, same settings, embedded env (SQLite)
    hello/gevent   the hello app, --worker-class gevent --worker-connections 200
    hello/sync     the hello app, --worker-class sync

Reported per round and as the median: requests/s, server CPU ms per request, and the ratios
app/hello and gevent|sync/gthread. Only ratios within one run mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, VENV_BIN, BaseUrl, have_wrk, load, serve  # noqa: E402

DB_PATH = "/tmp/bench-baseline.db"
APP_ENV = {
    "DATABASE_URL": f"sqlite:///{DB_PATH}",
    "SECRET_KEY": "bench",
    "RATELIMIT_ENABLED": "false",
}
HELLO = "bench.hello_app:app"
REAL = "app:create_app()"


@dataclass(frozen=True)
class Target:
    name: str
    app_spec: str
    path: str
    worker_class: str
    env: dict[str, str]


TARGETS = (
    Target("hello/gthread", HELLO, "/hello", "gthread", {}),
    Target("app/gthread", REAL, "/api/v1/health", "gthread", APP_ENV),
    Target("hello/gevent", HELLO, "/hello", "gevent", {}),
    Target("hello/sync", HELLO, "/hello", "sync", {}),
)
RATIOS = (
    ("app/hello (gthread)", "app/gthread", "hello/gthread"),
    ("gevent/gthread (hello)", "hello/gevent", "hello/gthread"),
    ("sync/gthread (hello)", "hello/sync", "hello/gthread"),
)


def migrate() -> None:
    """A fresh SQLite database at DB_PATH with the schema (the app would start without it)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(DB_PATH + suffix)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **APP_ENV}
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip


def measure(url: BaseUrl, path: str, args: argparse.Namespace) -> dict[str, object]:
    """One load on ``url + path``: the result, server CPU milliseconds per request and the
    busiest process's share of the server's CPU (1.0: one worker did all the work)."""
    before = url.cpu_by_process()
    result = load(
        url + path,
        duration=args.duration,
        connections=args.connections,
        generator=args.generator,
    )
    after = url.cpu_by_process()
    used = [cpu - before.get(pid, 0.0) for pid, cpu in after.items()]
    total = sum(used)
    return {
        **result.as_dict(),
        "server_cpu_ms_per_request": round(total * 1000 / result.requests, 3)
        if result.requests
        else None,
        "busiest_process_cpu_share": round(max(used) / total, 2) if total > 0 else None,
    }


Rounds = list[dict[str, dict[str, object]]]


def value(rounds: Rounds, index: int, name: str, key: str) -> float:
    cell = rounds[index][name][key]
    return float(cell) if isinstance(cell, int | float) else float("nan")


def print_table(title: str, rounds: Rounds, key: str, fmt: str) -> dict[str, float]:
    """One line per round and the median of each server; returns the medians."""
    print(f"\n{title}")
    print(f"{'round':<7}" + "".join(f"{t.name:>15}" for t in TARGETS))
    for i in range(len(rounds)):
        cells = "".join(f"{value(rounds, i, t.name, key):>15{fmt}}" for t in TARGETS)
        print(f"{i + 1:<7}{cells}")
    medians = {
        t.name: statistics.median(value(rounds, i, t.name, key) for i in range(len(rounds)))
        for t in TARGETS
    }
    print(f"{'median':<7}" + "".join(f"{medians[t.name]:>15{fmt}}" for t in TARGETS))
    return medians


def print_ratios(rounds: Rounds) -> dict[str, dict[str, object]]:
    """Requests/s and CPU-per-request ratios per round (measured back to back) and median."""
    ratios: dict[str, dict[str, object]] = {}
    for key, title in (("rps", "requests/s"), ("server_cpu_ms_per_request", "CPU per request")):
        print(
            f"\nratio of {title:<26}"
            + "".join(f"{'r' + str(i + 1):>7}" for i in range(len(rounds)))
        )
        for label, top, bottom in RATIOS:
            per_round = [
                value(rounds, i, top, key) / value(rounds, i, bottom, key)
                for i in range(len(rounds))
            ]
            median = statistics.median(per_round)
            ratios[f"{key}: {label}"] = {
                "per_round": [round(r, 3) for r in per_round],
                "median": round(median, 3),
            }
            cells = "".join(f"{r:>7.2f}" for r in per_round)
            print(f"  {label:<33}{cells}   median {median:.2f}")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds per server, once")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    args = parser.parse_args()
    if args.generator == "auto":
        args.generator = "wrk" if have_wrk() else "python"

    migrate()
    rounds: list[dict[str, dict[str, object]]] = []
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        urls = {
            t.name: stack.enter_context(serve(t.app_spec, env=t.env, worker_class=t.worker_class))
            for t in TARGETS
        }
        for t in TARGETS:
            load(urls[t.name] + t.path, duration=args.warmup, generator=args.generator)
        for _ in range(args.rounds):
            row: dict[str, dict[str, object]] = {}
            for t in TARGETS:
                row[t.name] = measure(urls[t.name], t.path, args)
            rounds.append(row)
    generator = str(rounds[0][TARGETS[0].name]["generator"]) if rounds else args.generator
    print(
        f"baseline: {args.rounds} rounds x {args.duration:g}s per server, "
        f"{args.connections} connections, generator: {generator}, {os.cpu_count()} cores"
    )
    medians = {
        key: print_table(title, rounds, key, fmt)
        for title, key, fmt in (
            ("requests/s", "rps", ",.0f"),
            ("server CPU ms per request", "server_cpu_ms_per_request", ".3f"),
            ("busiest process's share of server CPU", "busiest_process_cpu_share", ".2f"),
        )
    }
    ratios = print_ratios(rounds)
    bad = [
        f"round {i} {name}: {cell['status_counts']} errors={cell['errors']}"
        for i, row in enumerate(rounds, 1)
        for name, cell in row.items()
        if set(cell["status_counts"]) != {"200"} or cell["errors"]  # type: ignore[arg-type]
    ]
    for line in bad:
        print("NOT ALL 200:", line)
    if not bad:
        print("all responses 200, no socket errors")
    print(f"took {time.monotonic() - started:.0f}s")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "baseline",
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "cores": os.cpu_count(),
                    "generator": generator,
                    "duration": args.duration,
                    "connections": args.connections,
                    "rounds": rounds,
                    "medians": medians,
                    "ratios": ratios,
                    "all_200": not bad,
                },
                indent=2,
            )
            + "\n"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
