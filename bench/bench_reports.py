"""The console's dashboard over many scan events: report queries on rollups vs the same
aggregates straight from ``scan_events``, in one run, on PostgreSQL.

    python bench/bench_reports.py [--events 2000000] [--days 90] [--repeat 5]

Builds database ``yiwuyima_bench_reports``: one brand, 10 products, 100,000 consumers and
``--events`` scan events spread over ``--days`` days and 30 cities (generated in SQL), then the
rollups from them (``console.rollups.rebuild`` per day, plus ``consumer_days``). Times the five
report requests the dashboard makes (scans by day, province and product, a province's cities,
the overview) through the app's test client, and the same groupings computed from
``scan_events`` directly. Goal: the dashboard's reports together under 1 s at 10,000,000 events.
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

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "yiwuyima_bench_reports"
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/11",
    "PAYOUT_PROVIDER": "sandbox",
    "SECRET_KEY": "bench-secret",
    "RATELIMIT_ENABLED": "false",
}
CITIES = [
    ("上海市", "上海市"), ("北京市", "北京市"), ("广东省", "广州市"), ("广东省", "深圳市"),
    ("浙江省", "杭州市"), ("四川省", "成都市"), ("湖北省", "武汉市"), ("江苏省", "南京市"),
    ("江苏省", "苏州市"), ("福建省", "福州市"), ("陕西省", "西安市"), ("山东省", "济南市"),
    ("山东省", "青岛市"), ("河南省", "郑州市"), ("湖南省", "长沙市"), ("重庆市", "重庆市"),
    ("天津市", "天津市"), ("辽宁省", "沈阳市"), ("安徽省", "合肥市"), ("江西省", "南昌市"),
    ("云南省", "昆明市"), ("广西壮族自治区", "南宁市"), ("河北省", "石家庄市"),
    ("山西省", "太原市"),
    ("吉林省", "长春市"), ("黑龙江省", "哈尔滨市"), ("贵州省", "贵阳市"), ("甘肃省", "兰州市"),
    ("海南省", "海口市"), ("新疆维吾尔自治区", "乌鲁木齐市"),
]  # fmt: skip


def _sql(conn: object, statement: str, *args: object) -> None:
    conn.execute(statement, args or None)  # type: ignore[attr-defined]


def build(events: int, days: int) -> str:
    """A fresh database with the generated events and their rollups; returns the brand slug."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = {**os.environ, **APP_ENV}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, timeout=300, capture_output=True)  # fmt: skip
    seed = (
        "from app import create_app\nfrom core.db import db\n"
        "from accounts.service import create_brand\nfrom anticounterfeit import service\n"
        "app = create_app()\nwith app.app_context():\n"
        "    brand = create_brand('bench', 'Bench', 'o@bench.test', 'password1').brand\n"
        "    for i in range(10):\n"
        "        gtin = '0690123456%03d' % i\n"
        "        gtin = gtin + str((10 - sum(int(d) * (3 if k % 2 == 0 else 1)"
        " for k, d in enumerate(gtin[::-1])) % 10) % 10)\n"
        "        p = service.create_product(brand, service.NewProduct('Tea %d' % i, gtin))\n"
        "        service.create_code_batch(brand, service.NewCodeBatch(str(p.id), 10000000))\n"
        "    db.commit()\n"
    )
    subprocess.run([sys.executable, "-c", seed], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}", autocommit=True) as conn:
        places = json.dumps(CITIES, ensure_ascii=False)
        _sql(conn, "INSERT INTO consumers (id, brand_id, created_at, last_login_at) SELECT "
             "gen_random_uuid(), "
             "(SELECT id FROM brands), now(), now() FROM generate_series(1, 100000)")
        _sql(conn, "CREATE TEMP TABLE c AS SELECT id, row_number() OVER () AS n FROM consumers")
        _sql(conn, "CREATE TEMP TABLE b AS SELECT id, row_number() OVER () - 1 AS n "
             "FROM code_batches")
        _sql(conn, "CREATE TEMP TABLE pl AS SELECT (value->>0) AS province, (value->>1) AS city, "
             "ordinality - 1 AS n FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY", places)
        # Each event's product, place, consumer, day and minute drawn independently (seeded):
        # every (day, hour, product, city, verdict) combination occurs, as with real traffic,
        # so the rollups hold as many rows as such traffic would make.
        _sql(conn, "SELECT setseed(0.15)")
        _sql(conn, f"""
            INSERT INTO scan_events (id, brand_id, code_batch_id, serial, verdict, consumer_id,
                                     province, city, created_at)
            SELECT gen_random_uuid(), (SELECT id FROM brands), b.id, r.g, CASE
                   WHEN r.g % 50 = 0 THEN 'suspect_copy' WHEN r.g % 7 = 0 THEN 'authentic_repeat'
                   ELSE 'authentic' END, c.id, pl.province, pl.city,
                   now() - r.minute * interval '1 minute'
            FROM (SELECT g, floor(random() * 10)::int AS product,
                         floor(random() * {len(CITIES)})::int AS place,
                         1 + floor(random() * 100000)::int AS consumer,
                         floor(random() * {days} * 1440)::int AS minute
                  FROM generate_series(1, {events}) AS g) AS r
            JOIN b ON b.n = r.product JOIN pl ON pl.n = r.place JOIN c ON c.n = r.consumer
        """)  # fmt: skip
        _sql(conn, "ANALYZE scan_events")
    rollup = (
        "import datetime\nfrom app import create_app\nfrom core.db import db\n"
        "from console import rollups\nfrom sqlalchemy import text\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    today = (datetime.datetime.now(datetime.UTC) + rollups.CHINA).date()\n"
        f"    for d in range({days} + 1):\n"
        "        rollups.rebuild(today - datetime.timedelta(days=d))\n"
        "    db.session.execute(text(\"INSERT INTO consumer_days SELECT DISTINCT e.brand_id, "
        "date(timezone('Asia/Shanghai', e.created_at)), b.product_id, coalesce(e.province, ''), "
        "coalesce(e.city, ''), e.consumer_id FROM scan_events e JOIN code_batches b ON "
        "b.id = e.code_batch_id WHERE e.consumer_id IS NOT NULL ON CONFLICT DO NOTHING\"))\n"
        "    db.commit()\n"
    )
    subprocess.run([sys.executable, "-c", rollup], cwd=ROOT, env=env, check=True, timeout=3600,
                   capture_output=True)  # fmt: skip
    return "bench"


def measure(repeat: int) -> dict[str, object]:
    """Time the dashboard's report requests and the same aggregates from scan_events."""
    os.environ.update(APP_ENV)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from accounts.models import StaffUser
    from accounts.service import issue_staff_token
    from app import create_app
    from core.db import db

    app = create_app()
    client = app.test_client()
    with app.app_context():
        owner = db.session.query(StaffUser).one()
        headers = {"Authorization": f"Bearer {issue_staff_token(owner).access_token}"}
        counts = db.session.execute(text("SELECT count(*) FROM scan_events")).scalar_one()
        rollup_rows = db.session.execute(text("SELECT count(*) FROM scan_rollups")).scalar_one()
    charts = "with_consumers=false"
    paths = [  # what the console's dashboard asks for, and one report with distinct consumers
        f"/api/v1/reports/scans?group_by=day&{charts}",
        f"/api/v1/reports/scans?group_by=province&{charts}",
        f"/api/v1/reports/scans?group_by=product&{charts}", "/api/v1/reports/overview",
        f"/api/v1/reports/scans?group_by=city&{charts}&province=%E5%B9%BF%E4%B8%9C%E7%9C%81",
    ]  # fmt: skip
    with_consumers = "/api/v1/reports/scans?group_by=day"
    per_path_extra = {with_consumers: [], "/api/v1/health": []}
    dashboard, per_path = [], {path: [] for path in paths}
    for _ in range(repeat):
        start = time.perf_counter()
        for path in paths:
            began = time.perf_counter()
            response = client.get(path, headers=headers)
            per_path[path].append(time.perf_counter() - began)
            assert response.status_code == 200, response.get_data(as_text=True)
        dashboard.append(time.perf_counter() - start)
        for path in per_path_extra:
            began = time.perf_counter()
            assert client.get(path, headers=headers).status_code == 200
            per_path_extra[path].append(time.perf_counter() - began)
    direct_sql = (
        "SELECT date(timezone('Asia/Shanghai', created_at)) d, count(*), count(DISTINCT "
        "consumer_id) FROM scan_events WHERE created_at > now() - interval '30 days' GROUP BY d"
    )
    direct = []
    with app.app_context():
        for _ in range(max(1, repeat // 2)):
            start = time.perf_counter()
            db.session.execute(text(direct_sql)).all()
            direct.append(time.perf_counter() - start)
    return {
        "scan_events": counts, "rollup_rows": rollup_rows,
        "dashboard_s_median": round(statistics.median(dashboard), 3),
        "dashboard_s_max": round(max(dashboard), 3),
        "per_report_s_median": {p: round(statistics.median(v), 3)
                                for p, v in {**per_path, **per_path_extra}.items()},
        "one_report_from_scan_events_s_median": round(statistics.median(direct), 3),
        "ratio_dashboard_vs_one_direct_query": round(
            statistics.median(dashboard) / statistics.median(direct), 4),
    }  # fmt: skip


def main() -> None:
    """Build (unless --reuse) and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the existing database")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.reuse:
        build(args.events, args.days)
    built = time.perf_counter() - started
    result = measure(args.repeat)
    print(json.dumps({"build_s": round(built, 1), **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
