"""Payouts per second through ONE worker process against the fake WeChat Pay (sandbox and v3).

    flock /tmp/bench.lock .venv/bin/python bench/bench_payouts.py [--payouts 1000] [--rounds 2]
    .venv/bin/python bench/bench_payouts.py --sql --payouts 500   # statements, commits per payout

One ``flask --app app worker payouts`` process (RQ's forking worker, as in the Procfile) drains
pending payouts (``drain_payouts``: batches of ``PAYOUT_BATCH``, provider calls on a thread pool,
each outcome applied in its own transaction). Per round, for each provider in turn, ``--payouts``
pending payouts are seeded (not timed), one drain job is enqueued, and the time until all of
them are ``paid`` is measured, with the worker's CPU (process and children) and, for v3, the
fake's CPU (RSA-verifying our request, signing its answer). The v3 brand pays through
wechatpayv3 over HTTPS (keep-alive pool, our test CA) to the fake WeChat Pay started as a
separate process (``tests/fakewechat/pay.py``, bills confirmed at once). The per-merchant rate
limit is lifted (WeChat's own limit of 30/s is what it models). Goal: >= 100 payouts/s.
Needs PostgreSQL and Redis on 127.0.0.1 (database ``yiwuyima_bench_payouts``, Redis db 12).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, VENV_BIN, process_tree_cpu  # noqa: E402
from tests.fakewechat.pki import make_pki, pki_to_dict  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "yiwuyima_bench_payouts"
APPID = "wxbenchminiprogram"
API_KEY, APIV3_KEY = "k" * 32, "v3" * 16
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "SECRET_KEY": "bench-payouts",
    "PAYOUT_PROVIDER": "sandbox",
    "PUBLIC_BASE_URL": "https://qr.bench.test",
    "PAYOUT_RATE_PER_MERCHANT": "1000000",
    "PAYOUT_BATCH": "50",
    "WECHAT_PAY_TIMEOUT_SECONDS": "10",
}
SEED = """
import json, sys
from datetime import timedelta
from app import create_app
from core.db import db, utcnow, new_id
from accounts.service import BrandUpdate, create_brand, update_brand
from anticounterfeit import service
from campaigns import service as campaigns
from campaigns.schemas import CampaignCreateSchema
from profiles.models import Consumer, WechatIdentity
app = create_app()
creds = json.loads(sys.argv[1])
out = {}
with app.app_context():
    for n, provider in enumerate(("sandbox", "wechat_v3_transfer")):
        brand = create_brand(f"b{n}", provider, f"o@b{n}.test", "password1").brand
        update_brand(brand, BrandUpdate.of(payout_provider=provider, **creds))
        gtin = "06901234567892" if n == 0 else "06901234567908"
        p = service.create_product(brand, service.NewProduct("Bench tea", gtin))
        b = service.create_code_batch(brand, service.NewCodeBatch(str(p.id), 10))
        service.activate_code_batch(b)
        consumer = Consumer(brand_id=brand.id)
        db.session.add(consumer)
        db.session.flush()
        db.session.add(WechatIdentity(brand_id=brand.id, consumer_id=consumer.id,
                                      appid=creds["wechat_appid"], openid=f"obench{n}"))
        now = utcnow()
        c = campaigns.create_campaign(brand, CampaignCreateSchema().load({
            "name": "bench", "kind": "red_packet", "budget_fen": 10**12,
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
            "prizes": [{"amount_fen": 100, "probability": 0.5}]}))
        campaigns.transition(brand, str(c.id), "activate")
        db.commit()
        out[provider] = {"brand": str(brand.id), "campaign": str(c.id),
                         "consumer": str(consumer.id), "key": str(b.code_key_id)}
print(json.dumps(out))
"""
ADD = """
import json, sys, uuid
from app import create_app
from core.db import db, new_id, utcnow
from campaigns.models import Award, Draw, Payout
from campaigns.payouts import out_trade_no
app = create_app()
info, count, offset = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with app.app_context():
    now, draws, awards, payouts = utcnow(), [], [], []
    for i in range(count):
        did, aid = new_id(), new_id()
        common = dict(brand_id=uuid.UUID(info["brand"]), campaign_id=uuid.UUID(info["campaign"]),
                      consumer_id=uuid.UUID(info["consumer"]), code_key_id=uuid.UUID(info["key"]),
                      serial=10**9 + offset + i, created_at=now)
        draws.append(dict(id=did, campaign_version=1, scan_id=new_id(), random_ppm=0,
                          amount=100, outcome="won", **common))
        awards.append(dict(id=aid, draw_id=did, kind="red_packet", amount=100, status="pending",
                           scan_id=new_id(), updated_at=now, **common))
        payouts.append(dict(id=aid, brand_id=common["brand_id"], award_id=aid,
                            provider=info["provider"], out_trade_no=out_trade_no(aid),
                            amount_fen=100, status="pending", attempts=0, round=0,
                            round_attempts=0, created_at=now, updated_at=now))
    for model, rows in ((Draw, draws), (Award, awards), (Payout, payouts)):
        db.session.execute(db.insert(model), rows)
    db.commit()
"""


def _run(code: str, *args: str, timeout: int = 600) -> str:
    env = {**os.environ, **APP_ENV}
    out = subprocess.run([str(VENV_BIN / "python"), "-c", code, *args], cwd=ROOT, env=env,
                         check=True, timeout=timeout, capture_output=True, text=True)  # fmt: skip
    return out.stdout


def _count(brand: str, status: str) -> int:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{DB_NAME}", autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM payouts WHERE brand_id = %s AND status = %s",
                           (brand.replace("-", ""), status)).fetchone()  # fmt: skip
        return int(row[0]) if row else 0


def _fake(pki_json: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([str(VENV_BIN / "python"), "-m", "tests.fakewechat.pay", str(pki_json)],
                            cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().split()
    assert line and line[0] == "PORT", line
    return proc, f"https://127.0.0.1:{line[1]}/"


def _control(base: str, ca: str, op: str, **kwargs: object) -> object:
    answer = requests.post(f"{base}_fake/{op}", json=kwargs, verify=ca, timeout=10)
    answer.raise_for_status()
    return answer.json()["result"]


def prepare(tmp: Path) -> tuple[dict[str, dict[str, str]], subprocess.Popen[bytes], str, str]:
    """A fresh database and Redis db, the fake WeChat Pay process, two seeded brands."""
    import psycopg
    import redis

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis.Redis.from_url(APP_ENV["REDIS_URL"]).flushdb()
    pki = make_pki(tmp / "pki")
    (tmp / "pki.json").write_text(json.dumps(pki_to_dict(pki)))
    fake, base = _fake(tmp / "pki.json")
    _control(base, str(pki.ca), "add_merchant", mch_id=pki.mch_id, api_key=API_KEY,
             apiv3_key=APIV3_KEY, appids=[APPID])  # fmt: skip
    _control(base, str(pki.ca), "set_confirm_mode", mode="auto")
    APP_ENV.update(WECHAT_PAY_API_BASE_URL=base, WECHAT_PAY_CA_BUNDLE=str(pki.ca))
    env = {**os.environ, **APP_ENV}
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, timeout=120, capture_output=True)  # fmt: skip
    creds = {"wechat_appid": APPID, "pay_mch_id": pki.mch_id, "pay_apiv3_key": APIV3_KEY,
             "pay_private_key_path": str(pki.merchant_private_key),
             "pay_cert_serial": pki.merchant_serial,
             "pay_public_key_path": str(pki.platform_public_key),
             "pay_public_key_id": pki.platform_public_key_id}  # fmt: skip
    seeded = json.loads(_run(SEED, json.dumps(creds)).strip().splitlines()[-1])
    for provider, info in seeded.items():
        info["provider"] = provider
    return seeded, fake, base, str(pki.ca)


def _cpu(root: int) -> float:
    """CPU seconds of a process, its live descendants (RQ's work-horse leaves the worker's
    process group) and the children it reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{root}/stat").read_text().rsplit(")", 1)[1].split()
        reaped = (int(fields[13]) + int(fields[14])) / tick  # cutime + cstime
    except OSError:
        reaped = 0.0
    return reaped + process_tree_cpu(root)


def measure(
    info: dict[str, str], count: int, offset: int, worker: int, fake: int
) -> dict[str, float]:
    """Seed ``count`` pending payouts, enqueue one drain, time until every one is paid."""
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    _run(ADD, json.dumps(info), str(count), str(offset))
    before = _count(info["brand"], "paid")
    q = Queue("payouts", connection=redis.Redis.from_url(APP_ENV["REDIS_URL"]),
              serializer=JSONSerializer)  # fmt: skip
    cpu0, fake0, began = _cpu(worker), _cpu(fake), time.monotonic()
    q.enqueue("campaigns.payouts.jobs.drain_payouts", kwargs={"max_seconds": 600})
    while _count(info["brand"], "paid") - before < count:
        if time.monotonic() - began > 300:
            raise SystemExit(f"{info['provider']}: not all paid after 300 s")
        time.sleep(0.05)
    seconds = time.monotonic() - began
    return {"per_second": count / seconds, "seconds": seconds,
            "worker_cpu_ms": 1000 * (_cpu(worker) - cpu0) / count,
            "fake_cpu_ms": 1000 * (_cpu(fake) - fake0) / count}  # fmt: skip


def count_sql(seeded: dict[str, dict[str, str]], count: int, fake: int) -> None:
    """Drain ``count`` payouts per provider in this process, as the worker's drain does, and
    print the SQL statements (by verb) and commits per payout, and CPU per payout."""
    from collections import Counter

    from sqlalchemy import event

    os.environ.update(APP_ENV)
    from app import create_app
    from campaigns.payouts import engine
    from core.db import db

    app, seen = create_app(), Counter[str]()
    size = int(APP_ENV["PAYOUT_BATCH"])
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: seen.update([a[2].split()[0].upper(), "statements"]))
        event.listen(db.engine, "commit", lambda *_: seen.update(["commits"]))
    for offset, (provider, info) in enumerate(seeded.items()):
        _run(ADD, json.dumps(info), str(count), str(10**6 + offset * count))
        seen.clear()
        cpu0, fake0, began = time.process_time(), _cpu(fake), time.monotonic()
        with app.app_context():
            work, done = engine.claim([], size), 0
            while work:
                statuses, work = engine.pay_and_claim(work, size)
                done += len(statuses)
        per = {k: round(v / done, 3) for k, v in sorted(seen.items())}
        print(f"{provider:20s} {done} payouts, {done / (time.monotonic() - began):.1f}/s in "
              f"process, per payout: {per}, CPU {1000 * (time.process_time() - cpu0) / done:.2f} "
              f"ms here, {1000 * (_cpu(fake) - fake0) / done:.2f} ms at the fake")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sql", action="store_true",
                        help="count SQL statements and commits per payout (in process), no worker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seeded, fake, _, _ = prepare(Path(tmp))
        if args.sql:
            try:
                return count_sql(seeded, args.payouts, fake.pid)
            finally:
                os.killpg(fake.pid, 9)
        log = (Path(tmp) / "worker.log").open("wb")
        worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "app", "worker", "payouts"],
                                  cwd=ROOT, env={**os.environ, **APP_ENV}, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        rows: dict[str, list[dict[str, float]]] = {p: [] for p in seeded}
        try:
            time.sleep(3)
            offset = 0
            for r in range(args.rounds):
                for provider, info in seeded.items():
                    row = measure(info, args.payouts, offset, worker.pid, fake.pid)
                    offset += args.payouts
                    rows[provider].append(row)
                    print(f"round {r + 1} {provider:20s} {row['per_second']:7.1f} payouts/s  "
                          f"worker CPU {row['worker_cpu_ms']:.2f} ms/payout  "
                          f"fake CPU {row['fake_cpu_ms']:.2f} ms/payout", flush=True)  # fmt: skip
        finally:
            for proc in (worker, fake):
                os.killpg(proc.pid, 9)
    report(rows, args)


def report(rows: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """Medians per provider, the v3/sandbox ratio, and the goal."""
    med = {p: statistics.median(r["per_second"] for r in rs) for p, rs in rows.items()}
    v3, sandbox = med["wechat_v3_transfer"], med["sandbox"]
    met = "met" if min(v3, sandbox) >= 100 else "NOT met"
    print(f"median: sandbox {sandbox:.1f}/s, v3 {v3:.1f}/s (v3/sandbox {v3 / sandbox:.2f}); "
          f"goal >= 100/s per worker process: {met}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "median": med}, indent=2))


if __name__ == "__main__":
    main()
