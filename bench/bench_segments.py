# ruff: noqa: E501
"""Segment size and breakdowns over 1,000,000 synthetic profiles in PostgreSQL.

    python bench/bench_segments.py [--profiles 1000000] [--repeats 5] [--reuse]

Builds (unless ``--reuse`` finds it ready) database ``yiwuyima_bench_segments`` with one brand,
20 products in 5 categories and ``--profiles`` derived profiles written in bulk by SQL
(``generate_series``): 1-2 cities each from 30 (province, city) pairs, 1-3 products, 0-2 of 20
interests, first/last scan times over 400 days, ``scans_90d`` 0-9, a rating average for 70%,
and a reward ratio; the narrow tables first, then the profile rows with their lists (checked
against ``profiles.derived.lists.sync`` on a sample). Then, ``--repeats`` times, in one process
and one run:

    segment   size + the five breakdowns (province, product, lifecycle, rating, interest) of a
              four-condition rule: province = 浙江省, lifecycle in (new, active),
              rating_avg >= 3.5, scans_90d >= 2 (``profiles.segments.evaluate``: what
              ``GET /api/v1/segments/{id}`` computes, publishing included)
    broad     the same for a one-condition rule matching ~73% of profiles (the worst case)
    count     SELECT count(*) of the brand's profiles: the baseline the ratios are against

Prints median and min seconds per query and the ratios to ``count``; the goal is a segment
under 1 s on this machine. Needs PostgreSQL on 127.0.0.1; run under ``flock /tmp/bench.lock``.
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

DB_NAME = "yiwuyima_bench_segments"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PLACES = [
    ("浙江省", "杭州市"), ("浙江省", "宁波市"), ("浙江省", "温州市"), ("上海市", "上海市"),
    ("北京市", "北京市"), ("广东省", "广州市"), ("广东省", "深圳市"), ("广东省", "佛山市"),
    ("江苏省", "南京市"), ("江苏省", "苏州市"), ("江苏省", "无锡市"), ("四川省", "成都市"),
    ("湖北省", "武汉市"), ("湖南省", "长沙市"), ("福建省", "福州市"), ("福建省", "厦门市"),
    ("山东省", "济南市"), ("山东省", "青岛市"), ("河南省", "郑州市"), ("陕西省", "西安市"),
    ("重庆市", "重庆市"), ("天津市", "天津市"), ("安徽省", "合肥市"), ("江西省", "南昌市"),
    ("云南省", "昆明市"), ("广西壮族自治区", "南宁市"), ("辽宁省", "沈阳市"),
    ("黑龙江省", "哈尔滨市"), ("吉林省", "长春市"), ("河北省", "石家庄市"),
]  # fmt: skip
INTERESTS = ["绿茶", "红茶", "乌龙", "gift", "organic", "低糖", "小包装", "礼盒", "冷泡", "花茶",
             "coffee", "snack", "family", "office", "travel", "fitness", "kids", "tea-art",
             "seasonal", "premium"]  # fmt: skip
SEGMENT = {"all": [
    {"field": "province", "op": "eq", "value": "浙江省"},
    {"field": "lifecycle", "op": "in", "value": ["new", "active"]},
    {"field": "rating_avg", "op": "gte", "value": 3.5},
    {"field": "scans_90d", "op": "gte", "value": 2},
]}  # fmt: skip
BROAD = {"all": [{"field": "lifecycle", "op": "in", "value": ["active", "lapsing"]}]}


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid()", (DB_NAME,),
        )  # fmt: skip
        c.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        c.execute(f'CREATE DATABASE "{DB_NAME}"')


def _values(rows: list[tuple[Any, ...]]) -> str:
    def lit(v: Any) -> str:
        return str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _build(n: int) -> str:
    """Create the schema and the synthetic data; the brand id."""
    from sqlalchemy import text

    from accounts.service import create_brand
    from anticounterfeit import service
    from core.db import db
    from core.dbcli import upgrade

    _fresh_database()
    upgrade()
    brand = create_brand("bench", "Bench", "o@bench.test", "password1").brand
    for i in range(20):
        gtin = f"0690123456{i:03d}"
        gtin += str((10 - sum(int(d) * (3 if k % 2 == 0 else 1)
                             for k, d in enumerate(reversed(gtin)))) % 10)  # fmt: skip
        service.create_product(
            brand, service.NewProduct(f"Product {i}", gtin, None, f"cat-{i % 5}")
        )
    db.commit()
    b = str(brand.id)
    places = _values([(i, p, c) for i, (p, c) in enumerate(PLACES)])
    interests = _values(list(enumerate(INTERESTS)))
    statements = [
        "CREATE TEMP TABLE bench_places (k int, province text, city text)",
        f"INSERT INTO bench_places VALUES {places}",
        "CREATE TEMP TABLE bench_interests (k int, name text)",
        f"INSERT INTO bench_interests VALUES {interests}",
        "CREATE TEMP TABLE bench_products AS SELECT row_number() OVER (ORDER BY name) - 1 AS k, id, "
        f"category FROM products WHERE brand_id = '{b}'",
        f"CREATE TEMP TABLE bench_ids AS SELECT i, md5('c' || i)::uuid AS id FROM generate_series(1, {n}) i",
        f"INSERT INTO consumers (id, brand_id, created_at, last_login_at) SELECT id, '{b}', now(), now() FROM bench_ids",
        "INSERT INTO profile_cities (consumer_id, province, city, brand_id, scans, last_at) "
        f"SELECT DISTINCT ON (ids.id, p.province, p.city) ids.id, p.province, p.city, '{b}', 1, now() "
        "FROM bench_ids ids CROSS JOIN LATERAL (SELECT (abs(hashtext(ids.i || '-' || j)) % 30) AS k "
        "FROM generate_series(1, 1 + ids.i % 2) j) pick JOIN bench_places p ON p.k = pick.k",
        "INSERT INTO profile_products (consumer_id, product_id, brand_id, category, scans, last_at) "
        f"SELECT DISTINCT ON (ids.id, p.id) ids.id, p.id, '{b}', p.category, 1, now() "
        "FROM bench_ids ids CROSS JOIN LATERAL (SELECT (abs(hashtext(ids.i || 'p' || j)) % 20) AS k "
        "FROM generate_series(1, 1 + ids.i % 3) j) pick JOIN bench_products p ON p.k = pick.k",
        "INSERT INTO profile_interests (consumer_id, interest, brand_id, source) "
        f"SELECT DISTINCT ON (ids.id, t.name) ids.id, t.name, '{b}', 'stated' "
        "FROM bench_ids ids CROSS JOIN LATERAL (SELECT (abs(hashtext(ids.i || 'i' || j)) % 20) AS k "
        "FROM generate_series(1, ids.i % 3) j) pick JOIN bench_interests t ON t.k = pick.k",
        # The profile rows last, with their lists: what ``profiles.derived.lists.sync`` computes
        # from the narrow tables (checked on a sample below), built here in one pass.
        "CREATE TEMP TABLE lists_cities AS SELECT consumer_id, "
        "array_agg(DISTINCT province ORDER BY province) AS provinces, "
        "array_agg(DISTINCT city ORDER BY city) AS cities FROM profile_cities GROUP BY 1",
        "CREATE TEMP TABLE lists_products AS SELECT consumer_id, "
        "array_agg(DISTINCT product_id::text ORDER BY product_id::text) AS product_ids, "
        "array_agg(DISTINCT category ORDER BY category) AS categories FROM profile_products GROUP BY 1",
        "CREATE TEMP TABLE lists_interests AS SELECT consumer_id, "
        "array_agg(DISTINCT interest ORDER BY interest) AS interests FROM profile_interests GROUP BY 1",
        "INSERT INTO consumer_profiles (consumer_id, brand_id, first_scan_at, last_scan_at, "
        "scan_count, scans_90d, reward_scans, reward_ratio, rating_count, rating_avg, updated_at, "
        "provinces, cities, product_ids, categories, interests) "
        f"SELECT x.id, '{b}', now() - f * interval '1 day', now() - f * l * interval '1 day', "
        "1 + s, s, 0, r, CASE WHEN g < 0.7 THEN 1 ELSE 0 END, "
        "CASE WHEN g < 0.7 THEN 1 + 4 * random() END, now(), "
        "coalesce(c.provinces, '{}'), coalesce(c.cities, '{}'), coalesce(p.product_ids, '{}'), "
        "coalesce(p.categories, '{}'), coalesce(i.interests, '{}') FROM ("
        "SELECT id, 400 * random() AS f, random() AS l, (random() * 10)::int AS s, "
        "round(random()::numeric, 2)::float AS r, random() AS g FROM bench_ids) x "
        "LEFT JOIN lists_cities c ON c.consumer_id = x.id "
        "LEFT JOIN lists_products p ON p.consumer_id = x.id "
        "LEFT JOIN lists_interests i ON i.consumer_id = x.id",
    ]
    for sql in statements:
        db.session.execute(text(sql))
    db.commit()
    _check_lists()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[union-attr]
        conn.execute(text("VACUUM ANALYZE"))
    return b


def _check_lists() -> None:
    """The bulk-built lists of a sample of profiles are what the profile jobs would compute."""
    from sqlalchemy import select

    from core.db import db
    from profiles.derived import lists
    from profiles.models import ConsumerProfile as P

    columns = (P.consumer_id, P.provinces, P.cities, P.product_ids, P.categories, P.interests)
    sample = select(*columns).order_by(P.consumer_id).limit(2000)
    before = [tuple(r) for r in db.session.execute(sample)]
    lists.sync([r[0] for r in before])
    after = [tuple(r) for r in db.session.execute(sample)]
    db.session.rollback()
    assert before == after, "the bulk-built lists differ from profiles.derived.lists.sync"


def _timed(func: Any, repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    """Build (or reuse) the data, time the queries, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep an existing database")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--build-only", action="store_true",
                        help="build the data and stop (then time it under the lock with --reuse)")
    args = parser.parse_args()
    os.environ.update(DATABASE_URL=DB_URL, SECRET_KEY="bench-segments", REDIS_URL="")
    from sqlalchemy import func, select, text

    from app import create_app
    from core.db import db, utcnow
    from profiles.models import ConsumerProfile
    from profiles.segments import evaluate, rules

    app = create_app({"SQLALCHEMY_DATABASE_URI": DB_URL, "REDIS_URL": None})
    with app.app_context():
        brand_id = None
        if args.reuse:
            try:
                brand_id = db.session.scalar(text("SELECT id FROM brands WHERE slug = 'bench'"))
                have = db.session.scalar(  # (an older schema without the lists: rebuild)
                    select(func.count()).where(func.cardinality(ConsumerProfile.provinces) > 0)
                )
                brand_id = brand_id if have == args.profiles else None
            except Exception:
                db.session.rollback()
                brand_id = None
        db.session.remove()
        started = time.perf_counter()
        if brand_id is None:
            brand_id = _build(args.profiles)
            print(f"built {args.profiles} profiles in {time.perf_counter() - started:.0f} s")
        if args.build_only:
            return
        import uuid

        bid = uuid.UUID(str(brand_id))
        figures: dict[str, Any] = {"profiles": args.profiles}
        for name, rule in (("segment", SEGMENT), ("broad", BROAD)):
            group = rules.parse(rule)

            def run(group: rules.Group = group) -> dict[str, Any]:
                ev = evaluate.evaluate(group, bid, utcnow())
                return {"exact": ev.size, **evaluate.publish(ev, bid, 20)}

            times, result = _timed(run, args.repeats)
            figures[name] = {"median_s": statistics.median(times), "min_s": min(times),
                             "exact_size": result["exact"], "published": result["size"]}  # fmt: skip
        count_q = (
            select(func.count()).select_from(ConsumerProfile).where(ConsumerProfile.brand_id == bid)
        )
        times, _ = _timed(lambda: db.session.scalar(count_q), args.repeats)
        figures["count"] = {"median_s": statistics.median(times), "min_s": min(times)}
        for name in ("segment", "broad"):
            figures[name]["ratio_to_count"] = (
                figures[name]["median_s"] / figures["count"]["median_s"]
            )
    for name in ("segment", "broad", "count"):
        f = figures[name]
        extra = (
            f" members {f['exact_size']} (published {f['published']}), "
            if "exact_size" in f
            else " "
        )
        ratio = f"x{f['ratio_to_count']:.2f} of count" if "ratio_to_count" in f else ""
        print(f"{name:8s} median {f['median_s']:.3f} s, min {f['min_s']:.3f} s;{extra}{ratio}")
    print("goal: segment under 1 s:", "met" if figures["segment"]["median_s"] < 1 else "NOT met")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
