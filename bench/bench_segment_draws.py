"""Segment-targeted campaigns on the scan path: what the membership check costs, in one run.

    python bench/bench_segment_draws.py [--duration 5] [--rounds 3] [--connections 32]

The loads of ``bench_draws.py`` (same server settings, write-behind flusher running, every
request the first scan of a distinct genuine code by a logged-in consumer), for four brands:

    no-draw       a brand without campaigns
    draw          a red-packet campaign for everyone (win probability 0.8)
    seg-draw      the same campaign targeted at a segment (``targeting.segment_ids``) the
                  scanning consumer is a member of: every scan checks membership, then draws
    seg-miss      the same targeted campaign, scanned by a consumer who is not a member: every
                  scan checks membership and does not draw

``seg-draw / draw`` is the cost of segment targeting on scans that draw, ``seg-miss / no-draw``
on scans that do not. Needs PostgreSQL and Redis on 127.0.0.1 (database
``yiwuyima_bench_segdraws``, Redis db 12); run under ``flock /tmp/bench.lock``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_draws  # noqa: E402
from bench.bench_scans import flusher  # noqa: E402
from bench.harness import serve  # noqa: E402

DB_NAME = "yiwuyima_bench_segdraws"
APP_ENV = {
    **bench_draws.APP_ENV,
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
}
LOADS = ("no-draw", "draw", "seg-draw", "seg-miss")
SEED = """
import json, sys
from datetime import timedelta
from app import create_app
from core.db import db, utcnow
from accounts.service import create_brand
from anticounterfeit import codes, service
from campaigns import service as campaigns
from campaigns.schemas import CampaignCreateSchema
from profiles.derived import lists
from profiles.models import ConsentRecord, Consumer, ConsumerProfile, ProfileCity, Segment
from profiles.segments import members
from profiles.service import issue_consumer_token

app = create_app()
out = {}
n = int(sys.argv[1])


def consumer(brand, city=None, marketing=False):
    c = Consumer(brand_id=brand.id)
    db.session.add(c)
    db.session.flush()
    if city:
        now = utcnow()
        db.session.add(ConsumerProfile(consumer_id=c.id, brand_id=brand.id, first_scan_at=now,
                                       last_scan_at=now, scan_count=1, scans_90d=1))
        db.session.add(ProfileCity(consumer_id=c.id, province=city[0], city=city[1],
                                   brand_id=brand.id, scans=1, last_at=now))
        db.session.flush()
        lists.sync([c.id])
    if marketing:
        db.session.add(ConsentRecord(brand_id=brand.id, consumer_id=c.id, purpose="marketing",
                                     granted=True, notice_version="bench"))
    return c


def campaign(brand, segment_ids):
    now = utcnow()
    body = {"name": "bench", "kind": "red_packet", "budget_fen": 10**12,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
            "prizes": [{"amount_fen": 88, "probability": 0.5},
                       {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.3}]}
    if segment_ids:
        body["targeting"] = {"segment_ids": segment_ids}
    c = campaigns.create_campaign(brand, CampaignCreateSchema().load(body))
    campaigns.transition(brand, str(c.id), "activate")


def urls(batch):
    job = service.print_job(batch, app.config["PUBLIC_BASE_URL"])
    return [f"{job.base_url}/01/{job.gtin}/21/{code}"
            for _, code, _ in codes.encode_range(job.key, job.start, job.stop)]


with app.app_context():
    brands = (("nodraw", "06901234567892"), ("draw", "06901234567908"),
              ("seg", "06901234567915"))
    for slug, gtin in brands:
        brand = create_brand(slug, slug, f"o@{slug}.test", "password1").brand
        brand.settings = {**brand.settings, "fraud_hold_payouts": False}
        p = service.create_product(brand, service.NewProduct("Bench tea", gtin))
        size = 2 * n if slug == "seg" else n
        b = service.create_code_batch(brand, service.NewCodeBatch(str(p.id), size))
        service.activate_code_batch(b)
        all_urls = urls(b)
        if slug != "seg":
            if slug == "draw":
                campaign(brand, [])
            c = consumer(brand)
            db.commit()
            name = "no-draw" if slug == "nodraw" else "draw"
            out[name] = {"token": issue_consumer_token(c).access_token, "urls": all_urls}
            continue
        member = consumer(brand, ("浙江省", "杭州市"), marketing=True)
        other = consumer(brand, ("上海市", "上海市"), marketing=True)
        segment = Segment(brand_id=brand.id, name="hz",
                          rule={"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})
        db.session.add(segment)
        db.session.flush()
        assert members.refresh(segment.id) == 1
        campaign(brand, [str(segment.id)])
        db.commit()
        out["seg-draw"] = {"token": issue_consumer_token(member).access_token,
                           "urls": all_urls[:n]}
        out["seg-miss"] = {"token": issue_consumer_token(other).access_token,
                           "urls": all_urls[n:], "consumer": str(other.id)}
print(json.dumps(out))
"""


def prepare(codes: int) -> dict[str, dict[str, object]]:
    """A fresh database with the three brands; each load's consumer token and URLs."""
    return bench_draws.fresh_seed(DB_NAME, APP_ENV, [SEED, str(codes)])


def _psql(sql: str) -> int:
    import psycopg

    with psycopg.connect(f"{bench_draws.PG_SERVER}/{DB_NAME}", autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def main() -> None:
    """Seed, load round after round, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=30_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    seeded = prepare(args.codes)
    per_round = args.codes // args.rounds
    rows: list[dict[str, dict[str, object]]] = []
    with flusher(APP_ENV), serve("app:create_app()", env=APP_ENV,
                                 ready_path="/api/v1/health") as app:  # fmt: skip
        for r in range(args.rounds):
            row = {}
            for name in LOADS:
                urls = list(seeded[name]["urls"])  # type: ignore[call-overload]
                chunk = urls[r * per_round : (r + 1) * per_round]
                row[name] = bench_draws._measure(app, chunk, [str(seeded[name]["token"])], args)
            rows.append(row)
    report(rows, args, str(seeded["seg-miss"]["consumer"]))


def report(rows: list[dict[str, dict[str, object]]], args: argparse.Namespace,
           non_member: str) -> None:  # fmt: skip
    """Per-round requests/s, the two ratios, server CPU per request, and the checks."""
    print(f"{'round':<7}" + "".join(f"{n + ' rps':>14}" for n in LOADS)
          + f"{'seg/draw':>10}{'miss/none':>11}")  # fmt: skip
    ratios: dict[str, list[float]] = {"seg-draw/draw": [], "seg-miss/no-draw": []}
    for i, row in enumerate(rows):
        rps = {n: float(row[n]["rps"]) for n in LOADS}  # type: ignore[arg-type]
        ratios["seg-draw/draw"].append(rps["seg-draw"] / rps["draw"])
        ratios["seg-miss/no-draw"].append(rps["seg-miss"] / rps["no-draw"])
        print(f"{i + 1:<7}" + "".join(f"{rps[n]:>14.0f}" for n in LOADS)
              + f"{rps['seg-draw'] / rps['draw']:>10.2f}"
              + f"{rps['seg-miss'] / rps['no-draw']:>11.2f}")  # fmt: skip
    cpu = {n: statistics.median(float(r[n]["server_cpu_ms"]) for r in rows) for n in LOADS}  # type: ignore[arg-type]
    print("median server CPU ms/request: " + ", ".join(f"{n} {cpu[n]:.2f}" for n in LOADS))
    for name, values in ratios.items():
        print(f"median {name}: {statistics.median(values):.2f}")
    ok = all(set(row[n]["status_counts"]) == {"200"} for row in rows for n in LOADS)  # type: ignore[arg-type]
    seg_draws = _psql("SELECT count(*) FROM draws d JOIN campaigns c ON c.id = d.campaign_id "
                      "WHERE c.segment_ids::text <> '[]'")  # fmt: skip
    missed = _psql(f"SELECT count(*) FROM draws WHERE consumer_id = '{non_member}'")
    sent = sum(int(row["seg-draw"]["requests"]) for row in rows)  # type: ignore[call-overload]
    print(f"all responses 200: {ok}; segment campaign draws {seg_draws} for {sent} member scans; "
          f"draws of the non-member: {missed} (expected 0)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "ratios": ratios}))


if __name__ == "__main__":
    main()
