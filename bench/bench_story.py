"""The story of a unit: cached story JSON and page against bare Flask, and what the cache saves.

    python bench/bench_story.py [--duration 5] [--rounds 3] [--connections 16] [--builds 200]

Part 1, HTTP (embedded env: SQLite ``/tmp/bench-story.db`` seeded by ``flask demo``, whose
organic-formula journey has six steps over six parties): three servers with the Procfile's
settings (gunicorn gthread, 2 workers x 8 threads) loaded in turn, round after round:

    hello    bench/hello_app.py GET /hello (bare Flask)
    json     app:create_app() GET /api/v1/story/{code}  (lot story from the per-process cache)
    page     app:create_app() GET /story/{code}         (same, rendered with the inline SVG map)

Reported per round and as the median: requests/s, server CPU ms per request, and json/hello,
page/hello. Part 2, in process: building a lot's story from the database (the journey's
queries, claim signatures, carbon allocation) against serving it from the cache, and a whole
unit story (code check, code state, lifecycle) with the lot story cached. Only ratios within
one run mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, VENV_BIN, have_wrk, load, serve  # noqa: E402

DB_PATH = "/tmp/bench-story.db"
APP_ENV = {
    "DATABASE_URL": f"sqlite:///{DB_PATH}",
    "SECRET_KEY": "bench",
    "RATELIMIT_ENABLED": "false",
    "PUBLIC_BASE_URL": "http://127.0.0.1",
}
HELLO = "bench.hello_app:app"
REAL = "app:create_app()"


def seed() -> str:
    """A fresh database seeded by ``flask demo``; returns one story code it printed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(DB_PATH + suffix)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **APP_ENV}
    flask = str(VENV_BIN / "flask")
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([flask, "--app", "app", *command], cwd=ROOT, env=env, check=True,
                              timeout=180, capture_output=True, text=True)  # fmt: skip
    codes = re.findall(r"/story/([A-Z2-7]+)", done.stdout)
    if not codes:
        raise RuntimeError(f"flask demo printed no story URL:\n{done.stdout}")
    return codes[0]


def measure(url: str, path: str, args: argparse.Namespace, cpu: object) -> dict[str, float]:
    """One load: requests/s and server CPU ms per request."""
    before = cpu.cpu_seconds()  # type: ignore[attr-defined]
    result = load(url + path, duration=args.duration, connections=args.connections,
                  generator=args.generator)  # fmt: skip
    used = cpu.cpu_seconds() - before  # type: ignore[attr-defined]
    if not result.all_status(200):
        raise RuntimeError(f"{path}: {result.status_counts} errors={result.errors}")
    return {"rps": result.rps, "cpu_ms": used * 1000 / max(result.requests, 1)}


def http_part(code: str, args: argparse.Namespace) -> None:
    """Part 1: the story endpoints against bare Flask, side by side."""
    targets: tuple[tuple[str, str, str, dict[str, str]], ...] = (
        ("hello", HELLO, "/hello", {}),
        ("json", REAL, f"/api/v1/story/{code}", APP_ENV),
        ("page", REAL, f"/story/{code}", APP_ENV),
    )
    rounds: list[dict[str, dict[str, float]]] = []
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(serve(spec, env=env)) for name, spec, _, env in targets}
        for name, _, path, _ in targets:
            load(urls[name] + path, duration=1, generator=args.generator)  # warm every worker
        for _ in range(args.rounds):
            rounds.append({name: measure(urls[name], path, args, urls[name])
                           for name, _, path, _ in targets})  # fmt: skip
    print(f"story HTTP: {args.rounds} rounds x {args.duration:g}s, {args.connections} "
          f"connections, generator {args.generator}, {os.cpu_count()} cores")  # fmt: skip
    for key, title in (("rps", "requests/s"), ("cpu_ms", "server CPU ms per request")):
        print(f"\n{title:<28}" + "".join(f"{n:>12}" for n, *_ in targets))
        for i, row in enumerate(rounds, 1):
            print(f"round {i:<22}" + "".join(f"{row[n][key]:>12.3f}" for n, *_ in targets))
        for top in ("json", "page"):
            ratios = [row[top][key] / row["hello"][key] for row in rounds]
            shown = " ".join(f"{r:.2f}" for r in ratios)
            print(f"  {top}/hello per round {shown}, "
                  f"median {statistics.median(ratios):.2f}")  # fmt: skip


def in_process_part(code: str, builds: int) -> None:
    """Part 2: building a lot story against the cached one, in one process."""
    os.environ.update(APP_ENV)
    from app import create_app
    from provenance import service, story
    from provenance.unit import resolve

    app = create_app()
    with app.app_context():
        unit = resolve(code).unit
        assert unit is not None and unit.batch.product_batch is not None
        pb = unit.batch.product_batch
        lot = story.lot_for_unit(unit.brand_id, unit.batch.product.gtin, pb.id, pb.lot)
        assert lot is not None
        timings = {}
        for name, call in (
            ("build lot story (uncached)", lambda: story.build_lot_story(unit.brand_id, lot.id)),
            ("lot story from the cache", lambda: story.lot_story(unit.brand_id, lot.id)),
            ("whole unit story (lot cached)", lambda: service.unit_story(code, False)),
        ):
            call()
            started = time.perf_counter()
            for _ in range(builds):
                call()
            timings[name] = (time.perf_counter() - started) * 1000 / builds
    print(f"\nin process, {builds} calls each (ms per call):")
    for name, ms in timings.items():
        print(f"  {name:<32}{ms:>9.3f}")
    built, cached = timings["build lot story (uncached)"], timings["lot story from the cache"]
    print(f"  uncached / cached lot story: {built / cached:.0f}x")


def capture_part(copies: int) -> None:
    """Part 3: capturing a document of ``copies`` demo journeys (6 events each) in a new
    brand, rolled back: schema validation, checks and the write, per event."""
    from accounts import service as accounts
    from app import create_app
    from core.db import db
    from provenance import demo
    from provenance.epcis.capture import capture
    from provenance.epcis.validate import schema_problems, validator

    app = create_app()
    with app.app_context():
        brand = accounts.create_brand("bench-capture", "Bench", "b@bench.test", "bench-pass").brand
        chain = demo.register_chain(brand)
        events = []
        for i in range(copies):
            events += demo.journey_document(chain, "http://127.0.0.1", f"{i:04x}")["epcisBody"][
                "eventList"]  # fmt: skip
        document = demo.journey_document(chain, "http://127.0.0.1")
        document["epcisBody"]["eventList"] = events
        validator()
        started = time.perf_counter()
        assert schema_problems(document) == []
        schema_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        capture(brand, document, "http://127.0.0.1")
        total_ms = (time.perf_counter() - started) * 1000
        db.session.rollback()
    n = len(events)
    print(f"\ncapture of one document with {n} events ({len(json.dumps(document)) // 1024} KB):"
          f" {total_ms:.0f} ms in all, {total_ms / n:.2f} ms per event, of which the schema "
          f"{schema_ms / n:.2f} ms per event")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--copies", type=int, default=100, help="journeys in the captured doc")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    if args.generator == "auto":
        args.generator = "wrk" if have_wrk() else "python"
    started = time.monotonic()
    code = seed()
    http_part(code, args)
    in_process_part(code, args.builds)
    capture_part(args.copies)
    print(f"took {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
