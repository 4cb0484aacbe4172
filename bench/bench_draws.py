"""Scans that draw prizes against scans that do not, in one run (PostgreSQL + Redis).

    python bench/bench_draws.py [--duration 5] [--rounds 3] [--connections 32] [--codes 45000]
                                [--paced-duration 20] [--consumers 500] [--pay-at-once]

Three loads, round after round, on the Procfile's gunicorn settings:

    hello     bench/hello_app.py GET /hello (the baseline)
    no-draw   POST /api/v1/scans by logged-in consumers, every request the first scan of a
              distinct genuine code of a brand WITHOUT campaigns
    draw      the same for a brand with an active red-packet campaign (win probability 0.8:
              88 fen at 0.5, 30-100 fen at 0.3): Redis reservation, the one-statement claim
              (guarded budget/tier/limit updates, draw + award + payout rows), commit; the code's
              settled bit is written behind the request (``core.behind``); with --pay-at-once
              one Redis command takes the payouts drain's flag after the commit

Each brand has ``--consumers`` consumers, request i scanning as consumer i mod N: a festival
peak is many shoppers, not one (with ``--consumers 1`` every win of the run lands on one
consumer's rows and index keys). Then, each round, an open-loop load of winning scans at half the
draw rate just reached (``bench.harness.paced``: Poisson arrivals, latency from the moment each
request was due) reports p50 and p99.

The write-behind flusher (``flask scans flush --follow``) runs throughout, as in production, and
each load starts once the previous one's scan events are in PostgreSQL, right after a
``CHECKPOINT`` (every load pays the same full-page writes; none gets a timed checkpoint the other
does not). Both loads first run ``--warmup`` seconds unmeasured (prepared statements, caches,
Redis counters). It reports requests/s, server, PostgreSQL and Redis CPU ms per request, the
busiest process's share of the server's CPU (0.5: two workers even; rounds where one process did
over 0.75 in either load get a median of their own, as gunicorn's accepts, not the code, decided
them), WAL bytes per request and checkpoints during each load, and checks that every response
was a 200 and that every draw request left a recorded draw.
Needs PostgreSQL and Redis on 127.0.0.1 (database ``yiwuyima_bench_draws``, Redis db 12).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_scans import STREAM, flusher, postgres_cpu, redis_cpu  # noqa: E402
from bench.harness import ROOT, VENV_BIN, BaseUrl, load, paced, serve  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "yiwuyima_bench_draws"
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "PAYOUT_PROVIDER": "sandbox",
    "SECRET_KEY": "bench-draws",
    "RATELIMIT_ENABLED": "false",
    "PUBLIC_BASE_URL": "https://qr.bench.test",
    "DB_POOL_SIZE": "10",
}
SEED = """
import json, sys
from datetime import timedelta
from app import create_app
from core.db import db
from accounts.service import create_brand
from anticounterfeit import codes, service
from campaigns import service as campaigns
from campaigns.schemas import CampaignCreateSchema as CampaignSchema
from core.db import utcnow
from profiles.models import Consumer
from profiles.service import issue_consumer_token
app = create_app()
out = {}
with app.app_context():
    for slug, gtin in (("draw", "06901234567892"), ("nodraw", "06901234567908")):
        brand = create_brand(slug, slug, f"o@{slug}.test", "password1").brand
        if sys.argv[2] == "pay-at-once":  # red packets paid without waiting for a fraud check
            brand.settings = {**brand.settings, "fraud_hold_payouts": False}
        p = service.create_product(brand, service.NewProduct("Bench tea", gtin))
        b = service.create_code_batch(brand, service.NewCodeBatch(str(p.id), int(sys.argv[1])))
        service.activate_code_batch(b)
        consumers = [Consumer(brand_id=brand.id) for _ in range(int(sys.argv[3]))]
        db.session.add_all(consumers)
        db.session.flush()
        if slug == "draw":
            now = utcnow()
            c = campaigns.create_campaign(brand, CampaignSchema().load({
                "name": "bench", "kind": "red_packet", "budget_fen": 10**12,
                "starts_at": (now - timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=30)).isoformat(),
                "prizes": [{"amount_fen": 88, "probability": 0.5},
                           {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.3}]}))
            campaigns.transition(brand, str(c.id), "activate")
        job = service.print_job(b, app.config["PUBLIC_BASE_URL"])
        db.commit()
        urls = [f"{job.base_url}/01/{job.gtin}/21/{code}"
                for _, code, _ in codes.encode_range(job.key, job.start, job.stop)]
        tokens = [issue_consumer_token(c).access_token for c in consumers]
        db.commit()
        out[slug] = {"tokens": tokens, "urls": urls}
print(json.dumps(out))
"""


def _psql(sql: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}", autocommit=True) as conn:
        cursor = conn.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return str(row[0]) if row else ""


def fresh_seed(db_name: str, app_env: dict[str, str], seed: list[str]) -> dict[str, Any]:
    """Recreate ``db_name``, empty the app's Redis db, migrate, then run the seed script
    (``python -c`` with ``seed`` as its code and arguments); what it printed last, as JSON."""
    import psycopg
    import redis

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    redis.Redis.from_url(app_env["REDIS_URL"]).flushdb()
    env = {**os.environ, **app_env}
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-c", *seed],
        cwd=ROOT, env=env, check=True, timeout=600, capture_output=True, text=True,
    )  # fmt: skip
    seeded: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return seeded


def prepare(codes: int, pay_at_once: bool, consumers: int) -> dict[str, dict[str, Any]]:
    """A fresh database with the two brands; returns each one's consumer tokens and URLs."""
    mode = "pay-at-once" if pay_at_once else "fraud-check"
    return fresh_seed(DB_NAME, APP_ENV, [SEED, str(codes), mode, str(consumers)])


def _drain() -> None:
    import redis

    client, began = redis.Redis.from_url(APP_ENV["REDIS_URL"]), time.monotonic()
    while client.xlen(STREAM) and time.monotonic() - began < 120:
        time.sleep(0.05)


def _auth(tokens: list[str], n: int) -> list[dict[str, str]]:
    """Request i's consumer: the tokens in turn (each consumer scans every len(tokens)-th code)."""
    return [{"Authorization": f"Bearer {tokens[i % len(tokens)]}"} for i in range(n)]


def _measure(
    app: BaseUrl, urls: list[str], tokens: list[str], args: argparse.Namespace,
    rate: float | None = None,
) -> dict[str, object]:  # fmt: skip
    """A closed-loop load at full speed (wrk) or, with ``rate``, an open-loop one for latency
    (``bench.harness.paced``: Poisson arrivals, the first 3 s not counted)."""
    _psql("CHECKPOINT")  # every load starts clean: no checkpoint's full-page writes in it
    wal0, checkpoints0 = _wal_position()
    cpu0, pg0, redis0 = app.cpu_seconds(), postgres_cpu(), redis_cpu()
    by_process0 = app.cpu_by_process()
    url, bodies, auth = app + "/api/v1/scans", _bodies(urls), _auth(tokens, len(urls))
    if rate:
        result = paced(url, method="POST", bodies=bodies, request_headers=auth, rate=rate,
                       duration=args.paced_duration)  # fmt: skip
    else:
        result = load(url, method="POST", bodies=bodies, request_headers=auth,
                      duration=args.duration, connections=args.connections)  # fmt: skip
    row = result.as_dict()
    row["server_cpu_ms"] = round((app.cpu_seconds() - cpu0) * 1000 / max(result.requests, 1), 3)
    used = [cpu - by_process0.get(pid, 0.0) for pid, cpu in app.cpu_by_process().items()]
    row["busiest_share"] = round(max(used) / sum(used), 2) if sum(used) > 0 else 0.0
    if result.requests > len(urls):
        print("warning: a load ran out of codes; raise --codes", file=sys.stderr)
    _drain()  # the flusher's writes of these scans count in PostgreSQL's and Redis's CPU
    n = max(result.requests, 1)
    row["postgres_cpu_ms"] = round((postgres_cpu() - pg0) * 1000 / n, 3)
    row["redis_cpu_ms"] = round((redis_cpu() - redis0) * 1000 / n, 3)
    wal, checkpoints = _wal_position()
    row["wal_bytes"] = round((wal - wal0) / n)
    row["checkpoints"] = checkpoints - checkpoints0
    return row


def _wal_position() -> tuple[int, int]:
    """PostgreSQL's WAL position in bytes and the checkpoints it has begun so far."""
    wal = int(_psql("SELECT pg_current_wal_lsn() - '0/0'"))
    checkpoints = int(_psql("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"))
    return wal, checkpoints


def _chunk(urls: list[str], r: int, per_round: int) -> list[str]:
    """Round r's share of the codes (no code is scanned in two loads)."""
    return list(urls)[r * per_round : (r + 1) * per_round]


def _bodies(urls: list[str]) -> list[bytes]:
    return [json.dumps({"code": u}).encode() for u in urls]


Rows = list[dict[str, dict[str, object]]]
#: A load is balanced when no gunicorn process did more than this share of the server's work
#: (with keep-alive, one worker may accept most of wrk's connections and the other idle).
BALANCED = 0.75


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--paced-duration", type=float, default=20.0,
                        help="seconds of the open-loop half load (its first 3 s not counted)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of each load before round 1, not measured")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=45_000)
    parser.add_argument("--consumers", type=int, default=500,
                        help="logged-in consumers per brand, taking the codes in turn (1: one "
                             "consumer scans them all, as before 2026-11-30's fourth pass)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pay-at-once", action="store_true",
                        help="the draw brand pays red packets without waiting for fraud checks")
    args = parser.parse_args()

    seeded = prepare(args.codes, args.pay_at_once, args.consumers)
    warm = min(3_000, args.codes // 10)  # each brand's last codes: the warm-up's
    per_round = (args.codes - warm) // args.rounds
    rows: Rows = []
    sent = 0
    with (
        flusher(APP_ENV),
        serve("bench.hello_app:app", env={}, ready_path="/hello") as hello,
        serve("app:create_app()", env=APP_ENV, ready_path="/api/v1/health") as app,
    ):
        _warm_up(app, seeded, warm, args)
        for r in range(args.rounds):
            row: dict[str, dict[str, object]] = {}
            row["hello"] = load(
                hello + "/hello", duration=args.duration, connections=args.connections
            ).as_dict()
            for name, slug in (("no-draw", "nodraw"), ("draw", "draw")):
                chunk = _chunk(seeded[slug]["urls"], r, per_round)  # type: ignore[arg-type]
                if name == "draw":  # the paced load below gets the round's second half
                    chunk = chunk[: len(chunk) // 2]
                row[name] = _measure(app, chunk, seeded[slug]["tokens"], args)
                if name == "draw":
                    sent += int(row[name]["requests"])  # type: ignore[call-overload]
            # Latency of winning scans at half the maximum load just measured (paced), on codes
            # of its own: wrk's connections take their bodies in their own order, so the codes
            # after the first N of a load are not the ones it left unscanned.
            half = float(row["draw"]["rps"]) / 2  # type: ignore[arg-type]
            chunk = _chunk(seeded["draw"]["urls"], r, per_round)  # type: ignore[arg-type]
            rest = chunk[len(chunk) // 2 :]
            row["draw-half"] = _measure(app, rest, seeded["draw"]["tokens"], args, rate=half)
            sent += int(row["draw-half"]["requests"])  # type: ignore[call-overload]
            rows.append(row)
    draws = int(_psql("SELECT count(*) FROM draws"))
    awards = int(_psql("SELECT count(*) FROM awards"))
    report(rows, draws, awards, sent, args)


def _warm_up(app: BaseUrl, seeded: dict[str, dict[str, Any]], warm: int,
             args: argparse.Namespace) -> None:  # fmt: skip
    """Both loads for ``--warmup`` seconds, not measured: the first requests of each pooled
    connection and process (prepared statements, caches, Redis counters) are not the steady
    state, and would fall on round 1's draw load, the first to claim."""
    for slug in ("nodraw", "draw"):
        urls = list(seeded[slug]["urls"])[-warm:]
        auth = _auth(seeded[slug]["tokens"], len(urls))
        load(app + "/api/v1/scans", method="POST", bodies=_bodies(urls), request_headers=auth,
             duration=args.warmup, connections=args.connections)  # fmt: skip
    _drain()


def report(rows: Rows, draws: int, awards: int, sent: int, args: argparse.Namespace) -> None:
    """Per-round table, median ratios, and the checks."""
    heads = ("hello rps", "no-draw rps", "draw rps", "draw/no-draw", "draw/hello", "cpu ms n/d",
             "pg ms n/d", "redis ms n/d", "busiest n/d", "WAL B n/d", "ckpt n/d", "half rps",
             "half p50 ms", "half p99 ms")  # fmt: skip
    print(f"{'round':<7}" + "".join(f"{h:>14}" for h in heads))
    ratios, vs_hello, p99s, balanced = [], [], [], []
    for i, row in enumerate(rows):
        h, n, d, half = (float(row[k]["rps"])  # type: ignore[arg-type]
                         for k in ("hello", "no-draw", "draw", "draw-half"))  # fmt: skip
        p50 = float(row["draw-half"]["latency_p50_ms"])  # type: ignore[arg-type]
        p99 = float(row["draw-half"]["latency_p99_ms"])  # type: ignore[arg-type]
        ratios.append(d / n)
        if max(float(row[k]["busiest_share"]) for k in ("no-draw", "draw")) <= BALANCED:  # type: ignore[arg-type]
            balanced.append(d / n)
        vs_hello.append(d / h)
        p99s.append(p99)
        cpu, pg, rd, busy = (f"{row['no-draw'][k]:.2f}/{row['draw'][k]:.2f}" for k in (
            "server_cpu_ms", "postgres_cpu_ms", "redis_cpu_ms", "busiest_share"))  # fmt: skip
        wal, ckpt = (f"{row['no-draw'][k]}/{row['draw'][k]}" for k in ("wal_bytes", "checkpoints"))
        print(f"{i + 1:<7}{h:>14.0f}{n:>14.0f}{d:>14.0f}{d / n:>14.2f}{d / h:>14.2f}{cpu:>14}"
              f"{pg:>14}{rd:>14}{busy:>14}{wal:>14}{ckpt:>14}{half:>14.0f}{p50:>14.1f}"
              f"{p99:>14.1f}")  # fmt: skip
    print(f"median draw/no-draw {statistics.median(ratios):.2f}, "
          f"draw/hello {statistics.median(vs_hello):.2f}, "
          f"p99 of winning scans at half load {statistics.median(p99s):.1f} ms")  # fmt: skip
    if len(balanced) < len(ratios):  # gunicorn's accepts gave one worker most connections
        shown = f"{statistics.median(balanced):.2f}" if balanced else "none"
        print(f"median draw/no-draw of the {len(balanced)} balanced rounds (busiest process "
              f"<= {BALANCED} of the server's CPU in both loads): {shown}")  # fmt: skip
    ok = all(set(row[k]["status_counts"]) == {"200"} for row in rows for k in row)  # type: ignore[arg-type]
    print(f"all responses 200: {ok}")
    print(f"draws recorded: {draws} for {sent} draw requests counted (all: {draws >= sent}); "
          f"awards: {awards} ({awards / max(draws, 1):.2f} of draws, expected ~0.80)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "draws": draws, "awards": awards}))


if __name__ == "__main__":
    main()
