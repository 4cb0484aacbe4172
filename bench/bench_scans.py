"""Scan throughput on PostgreSQL + Redis against bare Flask, in one run.

    python bench/bench_scans.py [--duration 5] [--rounds 3] [--connections 32] [--codes 40000]

Three loads, round after round, on the same gunicorn settings (Procfile: gthread, 2 x 8):

    hello      bench/hello_app.py GET /hello (the baseline)
    authentic  app:create_app() POST /api/v1/scans, every request the FIRST scan of a distinct
               genuine code (verify, batch lookup, code-state upsert + row lock, scan event, commit)
    forged     the same endpoint with random 20-character codes (must reach no database)

It checks that every response was a 200 and that the database holds a code state for every
authentic request counted (a few more: requests still in flight when a load ends). That forged
codes cost no query is proven by ``tests/engagement/test_scans.py`` (a statement listener), not
here: PostgreSQL's statistics lag too much to count queries per round. Needs PostgreSQL and
Redis on 127.0.0.1 (uses database ``yiwuyima_bench`` and Redis db 13).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, VENV_BIN, load, serve  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN = f"{PG_SERVER}/postgres"
DB_NAME = "yiwuyima_bench"
APP_ENV = {
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench-scans",
    "RATELIMIT_ENABLED": "false",
    "PUBLIC_BASE_URL": "https://qr.bench.test",
    "DB_POOL_SIZE": "10",
}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _psql(sql: str, database: str = "postgres") -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return str(row[0]) if row else ""


def prepare(codes: int) -> list[str]:
    """A fresh database with one active batch of ``codes`` codes; returns their URLs."""
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis.Redis.from_url(APP_ENV["REDIS_URL"]).flushdb()
    env = {**os.environ, **APP_ENV}
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    seed = (
        "import sys\n"
        "from app import create_app, db\n"
        "from accounts.service import create_brand\n"
        "from anticounterfeit import codes, service\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    brand = create_brand('bench', 'Bench', 'o@bench.test', 'password1').brand\n"
        "    p = service.create_product(brand, 'Bench tea', '06901234567892')\n"
        f"    b = service.create_code_batch(brand, str(p.id), {codes})\n"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=40_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    urls = prepare(args.codes)
    per_round = len(urls) // args.rounds
    forged = forged_bodies(20_000)
    rows: list[dict[str, dict[str, object]]] = []
    with (
        serve("bench.hello_app:app", env={}, ready_path="/hello") as hello,
        serve("app:create_app()", env=APP_ENV, ready_path="/api/v1/health") as app,
    ):
        authentic_sent = 0
        for r in range(args.rounds):
            fresh = [body(u) for u in urls[r * per_round : (r + 1) * per_round]]
            row: dict[str, dict[str, object]] = {}
            row["hello"] = load(
                hello + "/hello", duration=args.duration, connections=args.connections
            ).as_dict()
            res = load(
                app + "/api/v1/scans", method="POST", bodies=fresh,
                duration=args.duration, connections=args.connections,
            )  # fmt: skip
            authentic_sent += res.requests
            if res.requests > len(fresh):
                print(f"warning: round {r + 1} ran out of codes; raise --codes", file=sys.stderr)
            row["authentic"] = res.as_dict()
            row["forged"] = load(
                app + "/api/v1/scans", method="POST", bodies=forged,
                duration=args.duration, connections=args.connections,
            ).as_dict()  # fmt: skip
            rows.append(row)
    states = int(_psql("SELECT count(*) FROM code_states", DB_NAME))
    report(rows, states, authentic_sent, args)


Rows = list[dict[str, dict[str, object]]]


def report(rows: Rows, states: int, sent: int, args: argparse.Namespace) -> None:
    """Print the per-round table, the ratios and the checks."""
    heads = ("hello rps", "authentic rps", "forged rps", "auth/hello", "forged/hello")
    print(f"{'round':<7}" + "".join(f"{h:>15}" for h in heads))
    ratios_a, ratios_f = [], []
    for i, row in enumerate(rows):
        h, a, f = (float(row[k]["rps"]) for k in ("hello", "authentic", "forged"))  # type: ignore[arg-type]
        ratios_a.append(a / h)
        ratios_f.append(f / h)
        print(f"{i + 1:<7}{h:>15.0f}{a:>15.0f}{f:>15.0f}{a / h:>15.2f}{f / h:>15.2f}")
    med_a, med_f = statistics.median(ratios_a), statistics.median(ratios_f)
    print(f"median ratio authentic/hello {med_a:.2f}, forged/hello {med_f:.2f}")
    statuses = {k: row[k]["status_counts"] for row in rows for k in row}
    ok = all(set(row[k]["status_counts"]) == {"200"} for row in rows for k in row)  # type: ignore[arg-type]
    print(f"all responses 200: {ok} {statuses if not ok else ''}")
    print(
        f"code states: {states}; authentic requests counted: {sent} (all stored: {states >= sent})"
    )
    if args.json:
        result = {"rounds": rows, "code_states": states, "authentic_sent": sent}
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
