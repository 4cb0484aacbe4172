"""A 960-unit pallet shipped in one channel scan: server time on PostgreSQL + Redis.

    flock /tmp/bench.lock .venv/bin/python bench/bench_pallet.py [--pallets 12] [--rounds 3]

Seeds a fresh database (``yiwuyima_bench_pallet``, Redis db 12): pallets of 40 cases x 24 units
(unit codes ``on_ship``, so every ship also activates 960 units), a warehouse, a dealer and a
clerk of each. Then, round after round, in this process (the real app, no network, so the time
measured is the server's own: parse, one request, one commit):

    health      GET /api/v1/health (the baseline, side by side)
    ship        POST /api/v1/channel/scans {"action": "ship"} of a fresh pallet: one event; 960
                units resolved through the hierarchy and checked; their activation recorded
    receive     the dealer receives that pallet (the fold now reads the ship event)

Reports per load the median and p95 milliseconds and pallets per second, and the ratio to the
health check; checks every ship answered 201 with ``units == 960`` and that a unit of the last
pallet scans ``authentic`` afterwards (activated by the ship). Goal: ship median < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DB_NAME = "yiwuyima_bench_pallet"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/12"
CASES, UNITS = 40, 24


def _fresh_database() -> None:
    import psycopg
    import redis

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis.Redis.from_url(REDIS_URL).flushdb()


def _app() -> Any:
    os.environ.update({
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-pallet", "RATELIMIT_ENABLED": "false",
        "PUBLIC_BASE_URL": "https://qr.bench.test", "PAYOUT_PROVIDER": "sandbox",
    })  # fmt: skip
    from app import create_app

    return create_app()


def _urls(batch: Any) -> list[str]:
    from anticounterfeit import codes, service

    job = service.print_job(batch, "https://qr.bench.test")
    return [f"{job.base_url}/01/{job.gtin}/21/{c}"
            for _, c, _ in codes.encode_range(job.key, job.start, job.stop)]  # fmt: skip


def seed(app: Any, pallets: int) -> dict[str, Any]:
    """Brand, codes packed into pallets, partners and clerks; tokens and pallet URLs."""
    from sqlalchemy import text

    from accounts.service import create_brand
    from anticounterfeit import service
    from channel import aggregation, partners
    from channel.inputs import NewPartner
    from core.db import db
    from core.dbcli import upgrade
    from profiles.models import Consumer
    from profiles.service import issue_consumer_token

    with app.app_context():
        upgrade()
        brand = create_brand("pallet", "Pallet", "o@pallet.test", "password1").brand
        p = service.create_product(brand, service.NewProduct("Bench tea", "06901234567892"))
        new = service.NewCodeBatch
        units = _urls(service.create_code_batch(
            brand, new(str(p.id), pallets * CASES * UNITS, activation="on_ship")))  # fmt: skip
        cases = _urls(
            service.create_code_batch(brand, new(str(p.id), pallets * CASES, level="case"))
        )
        tops = _urls(service.create_code_batch(brand, new(str(p.id), pallets, level="pallet")))
        db.commit()
        for i, case in enumerate(cases):  # one transaction per pack, as at the line
            aggregation.pack(brand, case, units[i * UNITS : (i + 1) * UNITS])
            db.commit()
        for i, pallet in enumerate(tops):
            aggregation.pack(brand, pallet, cases[i * CASES : (i + 1) * CASES])
            db.commit()
        tokens, ids = {}, {}
        for kind, name in (("warehouse", "上海仓"), ("dealer", "经销商")):
            partner = partners.create_partner(brand, NewPartner(kind, name, "上海市", "上海市"))
            clerk = Consumer(brand_id=brand.id)
            db.session.add(clerk)
            db.session.flush()
            partners.join(brand.id, clerk.id, partners.create_invite(brand, str(partner.id)).code)
            tokens[kind], ids[kind] = issue_consumer_token(clerk).access_token, str(partner.id)
        db.commit()
        with db.engine.connect() as conn:  # production has autovacuum's statistics
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        return {"pallets": tops, "tokens": tokens, "ids": ids, "last_unit": units[-1]}


def _timed(client: Any, method: str, path: str, **kw: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    response = client.open(path, method=method, **kw)
    return (time.perf_counter() - began) * 1000, response


def _summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "per_second": round(1000 / statistics.median(ms), 1)}  # fmt: skip


def run_round(app: Any, seeded: dict[str, Any], pallets: list[str]) -> dict[str, Any]:
    """Health, ship and receive loads interleaved, one pallet at a time."""
    client = app.test_client()
    wh = {"Authorization": f"Bearer {seeded['tokens']['warehouse']}"}
    dealer = {"Authorization": f"Bearer {seeded['tokens']['dealer']}"}
    times: dict[str, list[float]] = {"health": [], "ship": [], "receive": []}
    for pallet in pallets:
        for _ in range(5):
            ms, r = _timed(client, "GET", "/api/v1/health")
            times["health"].append(ms)
        ms, r = _timed(client, "POST", "/api/v1/channel/scans", headers=wh, json={
            "code": pallet, "action": "ship", "to_partner_id": seeded["ids"]["dealer"]})
        assert r.status_code == 201 and r.get_json()["units"] == CASES * UNITS, r.get_json()
        times["ship"].append(ms)
        ms, r = _timed(client, "POST", "/api/v1/channel/scans", headers=dealer,
                       json={"code": pallet, "action": "receive"})  # fmt: skip
        assert r.status_code == 201, r.get_json()
        times["receive"].append(ms)
    out = {name: _summary(ms) for name, ms in times.items()}
    base = out["health"]["median_ms"]
    for name in ("ship", "receive"):
        out[name]["x_health"] = round(out[name]["median_ms"] / base, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pallets", type=int, default=12, help="pallets per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    _fresh_database()
    app = _app()
    began = time.monotonic()
    seeded = seed(app, args.pallets * args.rounds + 1)
    print(f"seeded {len(seeded['pallets'])} pallets of {CASES}x{UNITS} in "
          f"{time.monotonic() - began:.0f} s", flush=True)  # fmt: skip
    pallets = seeded["pallets"]
    _timed(app.test_client(), "GET", "/api/v1/health")  # warm up (imports, pools)
    warm = pallets.pop()  # holds the last unit: shipped here, so it must scan authentic
    run_round(app, seeded, [warm])
    rounds = []
    for i in range(args.rounds):
        chunk = pallets[i * args.pallets : (i + 1) * args.pallets]
        rounds.append(run_round(app, seeded, chunk))
        print(f"round {i + 1}: " + json.dumps(rounds[-1]), flush=True)
    verdict = app.test_client().post("/api/v1/scans", json={"code": seeded["last_unit"]})
    assert verdict.get_json()["verdict"] == "authentic", verdict.get_json()  # shipped: active
    medians = {name: statistics.median(r[name]["median_ms"] for r in rounds)
               for name in ("health", "ship", "receive")}  # fmt: skip
    print("median of rounds (ms): " + json.dumps(medians))
    print(f"ship / health: {medians['ship'] / medians['health']:.1f}x; "
          f"goal ship < 100 ms: {'met' if medians['ship'] < 100 else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "medians": medians}, indent=2))


if __name__ == "__main__":
    main()
