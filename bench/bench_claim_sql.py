"""PostgreSQL's own cost of claiming a win: the app's claim statement under pgbench.

    python bench/bench_claim_sql.py [--seconds 8] [--rounds 2] [--consumers 500]

Runs in the database of ``bench_draws.py`` (``yiwuyima_bench_draws``; seeded here the same way,
with 1,000 codes, if it has no active campaign): its draw brand's campaign, first tier, code key
and consumers. The pgbench script is
generated from ``campaigns.claim_sql`` itself (the short claim the scan path runs alone, and the
full one that decides and records refusals), each transaction with a fresh serial, draw, award
and scan id and one of ``--consumers`` consumers, so it follows the statement as it changes.

Per statement and round: pgbench with one client, then with two (the two gunicorn workers'
claims of one campaign meeting on its hot campaign and tier rows), prepared statements, each
claim its own transaction as ``core.db.Database.alone_row`` runs it. Reports claims/s and
PostgreSQL's CPU per claim (every ``postgres`` process, exited backends included through the
postmaster's reaped children), and the two-client cost over the one-client cost: what the
collision on the hot rows adds to each claim.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_draws import DB_NAME, _psql, prepare  # noqa: E402
from bench.bench_scans import postgres_cpu  # noqa: E402
from campaigns import claim_sql  # noqa: E402

#: What each transaction draws afresh (pgbench variables set by ``\gset`` or ``\set``).
_FRESH = """\\set n random(1, {consumers})
\\set serial random(1000000000, 900000000000000)
SELECT id AS consumer_id, gen_random_uuid() AS draw_id, gen_random_uuid() AS award_id,
       gen_random_uuid() AS scan_id, 'YB' || substr(md5(random()::text), 1, 22) AS trade_no
FROM bench_claim_consumers WHERE n = :n \\gset
"""
_PER_CLAIM = {"consumer_id", "draw_id", "award_id", "scan_id", "serial"}


def _campaign() -> str:
    """The active campaign's id, brand, version, first tier and code key ('' if none)."""
    try:
        return _psql(
            "SELECT c.id || ' ' || c.brand_id || ' ' || c.version || ' ' || t.id || ' ' || k.id "
            "FROM campaigns c JOIN prize_tiers t ON t.campaign_id = c.id AND NOT t.retired "
            "JOIN code_keys k ON k.brand_id = c.brand_id WHERE c.status = 'active' "
            "ORDER BY t.id LIMIT 1"
        )  # fmt: skip
    except psycopg.Error:  # no such database (yet)
        return ""


def _fixture(consumers: int) -> dict[str, str]:
    """The draw brand's campaign, its first tier and code key; a numbered consumer table."""
    row = _campaign()
    if not row:
        prepare(1000, False, consumers)
        row = _campaign()
    campaign_id, brand_id, version, tier_id, code_key_id = row.split()
    _psql("DROP TABLE IF EXISTS bench_claim_consumers")
    _psql(
        "CREATE TABLE bench_claim_consumers AS SELECT row_number() OVER (ORDER BY id) AS n, id "
        f"FROM consumers WHERE brand_id = '{brand_id}' LIMIT {consumers}"
    )  # fmt: skip
    return dict(campaign_id=campaign_id, brand_id=brand_id, version=version, tier_id=tier_id,
                code_key_id=code_key_id)  # fmt: skip


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def script(fixture: dict[str, str], consumers: int, *, short: bool) -> str:
    """The pgbench script of one claim: the app's statement, its constants as literals."""
    from campaigns.payouts import payout_row

    amount = 88
    at = datetime.now(UTC)
    payout = payout_row(uuid.uuid4(), uuid.UUID(fixture["brand_id"]), amount, provider="sandbox",
                        cleared=False, scene=None, at=at)  # fmt: skip
    columns = tuple(payout)
    values = claim_sql.params(
        payout, campaign_id=fixture["campaign_id"], tier_id=fixture["tier_id"],
        version=int(fixture["version"]), amount=amount, total_cap=None, day_cap=None,
        day=at.date().isoformat(), brand_id=fixture["brand_id"],
        code_key_id=fixture["code_key_id"], random_ppm=123456, at=at.isoformat(),
        kind="red_packet", award_status="pending", red_packet=True, strict=True,
    )  # fmt: skip
    values.update(payout_created_at=values["at"], payout_updated_at=values["at"])

    def bind(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _PER_CLAIM:
            return f":{name}"
        if name in ("payout_id", "payout_award_id"):
            return ":award_id"
        if name == "payout_out_trade_no":
            return ":trade_no"
        return _literal(values[name])

    sql = re.sub(r"(?<![:\w]):(\w+)", bind, claim_sql.statement(columns, short=short).text)
    body = " ".join(line.strip() for line in sql.strip().splitlines())  # one pgbench command
    return _FRESH.format(consumers=consumers) + body + ";\n"


def run(path: Path, clients: int, seconds: float) -> tuple[float, float, int]:
    """pgbench on the script: claims/s, PostgreSQL CPU ms per claim, failed transactions."""
    cpu0 = postgres_cpu()
    out = subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-M", "prepared", "-f", str(path),
         "-c", str(clients), "-j", str(clients), "-T", str(int(seconds)), DB_NAME],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    time.sleep(0.3)  # the backends exit and are reaped
    cpu = postgres_cpu() - cpu0
    done = int(re.search(r"actually processed: (\d+)", out).group(1))  # type: ignore[union-attr]
    failed = re.search(r"number of failed transactions: (\d+)", out)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return tps, cpu * 1000 / max(done, 1), int(failed.group(1)) if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--consumers", type=int, default=500)
    args = parser.parse_args()
    fixture = _fixture(args.consumers)
    costs: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, short in (("short", True), ("full", False)):
            scripts[name] = Path(tmp) / f"{name}.sql"
            scripts[name].write_text(script(fixture, args.consumers, short=short))
        print(f"{'round':<7}{'claim':<8}{'clients':>8}{'claims/s':>10}{'pg ms/claim':>13}"
              f"{'failed':>8}")  # fmt: skip
        for r in range(args.rounds):
            for name, path in scripts.items():
                for clients in (1, 2):
                    tps, ms, failed = run(path, clients, args.seconds)
                    costs.setdefault((name, clients), []).append(ms)
                    print(f"{r + 1:<7}{name:<8}{clients:>8}{tps:>10.0f}{ms:>13.3f}{failed:>8}")
    for name in scripts:
        one, two = (statistics.median(costs[(name, c)]) for c in (1, 2))
        print(f"{name}: PostgreSQL ms per claim, one client {one:.3f}, two {two:.3f} "
              f"(x{two / one:.2f}: the collision on the campaign's rows)")
    _psql("DROP TABLE IF EXISTS bench_claim_consumers")


if __name__ == "__main__":
    main()
