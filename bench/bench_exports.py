"""Exporting scan events through the streaming path: records per second and peak memory.

    python bench/bench_exports.py [--events 500000] [--page 1000000] [--measure-only]

Builds database ``yiwuyima_bench_exports`` on PostgreSQL: one brand and ``--events`` scan
events, loaded with ``INSERT .. SELECT generate_series`` in transactions of 1,000,000 rows (each
its own transaction id, as the write-behind's flushes would be). Then, in a fresh process (so its
peak RSS is the export's own), follows the ``scans`` stream from the start to the end through the
app (``GET /api/v1/exports/scans?limit=--page`` via the test client, the body streamed chunk by
chunk, never held) and reports records/s, MB/s and the process's peak RSS before and after. The
export of the first ``--events / 10`` records is measured the same way in the same run: equal
peaks show the memory does not grow with the export. Goal (issue 17): 10,000,000 scan events at
100,000 records/s or more, in constant memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "yiwuyima_bench_exports"
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "PAYOUT_PROVIDER": "sandbox",
    "SECRET_KEY": "bench-secret",
    "RATELIMIT_ENABLED": "false",
}
CHUNK = 1_000_000
SEED = """
from app import create_app
from core.db import db
from accounts.service import create_brand
from anticounterfeit import service
app = create_app()
with app.app_context():
    brand = create_brand('bench', 'Bench', 'o@bench.test', 'password1').brand
    p = service.create_product(brand, service.NewProduct('Tea', '06901234567892'))
    service.create_code_batch(brand, service.NewCodeBatch(str(p.id), 10000000))
    db.commit()
"""


def build(events: int) -> float:
    """A fresh database with ``events`` scan events; returns the load's rows per second."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = {**os.environ, **APP_ENV}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    started = time.perf_counter()
    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}") as conn:
        for first in range(0, events, CHUNK):
            last = min(first + CHUNK, events)
            conn.execute(f"""
                INSERT INTO scan_events (id, brand_id, code_batch_id, serial, verdict, ip,
                                         province, city, lat, lng, created_at)
                SELECT gen_random_uuid(), b.brand_id, b.id, g,
                       CASE WHEN g % 50 = 0 THEN 'suspect_copy' ELSE 'authentic' END,
                       '203.0.113.' || (g % 250), '上海市', '上海市', 31.23, 121.47,
                       now() - (g % 86400) * interval '1 second'
                FROM code_batches b, generate_series({first}, {last - 1}) AS g
            """)  # fmt: skip
            conn.commit()
        conn.execute("ANALYZE scan_events")
        conn.commit()
    return events / (time.perf_counter() - started)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(page: int, limit: int | None) -> dict[str, float]:
    """Follow the stream from the start (at most ``limit`` records); runs in its own process."""
    os.environ.update(APP_ENV)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from accounts.models import StaffUser
    from accounts.service import issue_staff_token
    from app import create_app
    from core.db import db

    app = create_app()
    with app.app_context():
        owner = db.session.scalar(select(StaffUser))
        headers = {"Authorization": f"Bearer {issue_staff_token(owner).access_token}"}
        db.session.rollback()
    client = app.test_client()
    rss_before = _peak_rss_mb()
    records, size, cursor = 0, 0, None
    started = time.perf_counter()
    while limit is None or records < limit:
        query: dict[str, object] = {"limit": page if limit is None else min(page, limit - records)}
        if cursor:
            query["after"] = cursor
        response = client.get("/api/v1/exports/scans", query_string=query, headers=headers,
                              buffered=False)  # fmt: skip
        assert response.status_code == 200, response.status_code
        tail = b""
        lines = 0
        for chunk in response.response:
            data = chunk if isinstance(chunk, bytes) else chunk.encode()
            lines += data.count(b"\n")
            size += len(data)
            tail = (tail + data)[-4096:]
        response.close()
        cursor = json.loads(tail.rstrip(b"\n").split(b"\n")[-1])["next_cursor"]
        if lines == 1:  # only the next_cursor line: the end
            break
        records += lines - 1
    seconds = time.perf_counter() - started
    return {
        "records": records, "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds),
        "mb_per_second": round(size / seconds / 1e6, 1),
        "peak_rss_mb_before": round(rss_before, 1), "peak_rss_mb_after": round(_peak_rss_mb(), 1),
    }  # fmt: skip


def _measure_in_child(page: int, limit: int | None) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", "--page", str(page)]
    if limit is not None:
        args += ["--limit", str(limit)]
    out = subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True, timeout=3600)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--page", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--measure-only", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.page, args.limit)))
        return
    if not args.measure_only:
        rate = build(args.events)
        print(f"loaded {args.events:,} scan events at {rate:,.0f} rows/s", flush=True)
    small = _measure_in_child(args.page, max(1, args.events // 10))
    print(f"first {small['records']:,}: {json.dumps(small)}", flush=True)
    full = _measure_in_child(args.page, None)
    print(f"all {full['records']:,}: {json.dumps(full)}", flush=True)
    growth = full["peak_rss_mb_after"] - small["peak_rss_mb_after"]
    print(f"peak RSS {small['peak_rss_mb_after']} MB after {small['records']:,} records, "
          f"{full['peak_rss_mb_after']} MB after {full['records']:,} (growth {growth:+.1f} MB)")
    if full["records"] != args.events and not args.measure_only:
        sys.exit(f"exported {full['records']} of {args.events} records")


if __name__ == "__main__":
    main()
