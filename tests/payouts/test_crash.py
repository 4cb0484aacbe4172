"""kill -9 a real RQ worker (the work-horse, the worker, both) around the WeChat call.

Real PostgreSQL, Redis and ``flask --app app worker`` subprocesses; the fake WeChat Pay (TLS)
holds the transfer request at the chosen point: before WeChat processed it (the request then
never reaches its books), after the money moved but before we heard (the answer is held), or
after our database recorded the outcome. Then the sweep runs and a fresh worker drains the
queue. Every award must end paid, with exactly one successful payment at WeChat per award.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.payouts.conftest import scan_as
from tests.payouts.workers import WorkerProcess, alive
from tests.workers import run_workers

pytestmark = [pytest.mark.slow, pytest.mark.realservices]
V3 = "wechat_v3_transfer"
AWARDS = 2


def _statuses(ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from campaigns.models import Payout
    from core.db import db

    db.session.expire_all()
    rows = db.session.execute(select(Payout.id, Payout.status).where(
        Payout.id.in_([__import__("uuid").UUID(i) for i in ids])))  # fmt: skip
    out = {str(i): s.value for i, s in rows}
    db.session.commit()
    return out


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker_env(app: Any, fake: Any, pki: Any) -> dict[str, str]:
    from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET

    return {
        "DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL), "SECRET_KEY": TEST_SECRET,
        "PAYOUT_PROVIDER": V3, "WECHAT_PAY_API_BASE_URL": fake.base_url,
        "WECHAT_PAY_CA_BUNDLE": str(pki.ca), "WECHAT_PAY_TIMEOUT_SECONDS": "15",
        "PUBLIC_BASE_URL": "https://qr.example.test", "PAYOUT_LEASE_SECONDS": "2",
        "PAYOUT_RETRY_SECONDS": "1", "PAYOUT_RATE_PER_MERCHANT": "1000",
        "RATELIMIT_ENABLED": "false",
    }  # fmt: skip


@pytest.mark.parametrize("target", ["horse", "worker", "both"])
@pytest.mark.parametrize("point", ["before_call", "after_call", "after_update"])
def test_kill_9_around_the_wechat_call_pays_every_award_exactly_once(
    point: str, target: str, committed: None, app: Any, client: FlaskClient, make_shop: Any,
    make_shopper: Any, fake_pay: Any, pay_pki: Any, bearer: Any, tmp_path: Path,
) -> None:  # fmt: skip
    from campaigns.payouts.jobs import sweep_payouts
    from core.broker import redis_client
    from core.db import db

    app.config.update(PAYOUT_LEASE_SECONDS=2, PAYOUT_STUCK_SECONDS=1, PAYOUT_RETRY_SECONDS=0)
    fake_pay.set_confirm_mode("auto")
    shop = make_shop(V3)
    shoppers = [make_shopper(shop.brand) for _ in range(AWARDS)]
    db.commit()
    worker = WorkerProcess(_worker_env(app, fake_pay, pay_pki), tmp_path / "worker.log")
    try:
        worker.ready(redis_client())
        if point != "after_update":
            fake_pay.inject("transfer", "hold" if point == "before_call" else "hold_after", AWARDS)
        ids = [scan_as(client, bearer(s), shop.urls[n])["rewards"][0]["award_id"]
               for n, s in enumerate(shoppers)]  # fmt: skip
        if point == "after_update":
            _wait(lambda: set(_statuses(ids).values()) == {"paid"}, 30, "payouts paid")
        else:
            _wait(lambda: fake_pay.holding_count() == AWARDS, 30, "requests held at WeChat")
            assert set(_statuses(ids).values()) == {"processing"}  # committed before the call
        horse = worker.horse() if point != "after_update" else None
        if target in ("horse", "both") and horse is not None:
            worker.kill(horse)
        if target in ("worker", "both"):
            worker.kill(worker.pid)
        if horse is not None and target != "worker":
            _wait(lambda: not alive(horse), 10, "the work-horse to die")
        fake_pay.release()
        time.sleep(2.5)  # the lease of the interrupted calls runs out
        deadline = time.monotonic() + 60
        while set(_statuses(ids).values()) != {"paid"} and time.monotonic() < deadline:
            sweep_payouts()  # the scheduler's sweep: query the same numbers, re-send if absent
            run_workers()  # a fresh worker drains the queue
            time.sleep(0.5)
    finally:
        fake_pay.release()
        worker.stop()
    statuses = _statuses(ids)
    assert set(statuses.values()) == {"paid"}, (statuses, (tmp_path / "worker.log").read_text())
    numbers = [p.out_trade_no for p in _payouts(ids)]
    assert len(set(numbers)) == AWARDS
    stats = fake_pay.stats()
    assert stats["moved"] == {n: 1 for n in numbers}  # one payment per award, no other
    assert {stats["states"][n] for n in numbers} == {"SUCCESS"}


def _payouts(ids: list[str]) -> list[Any]:
    import uuid

    from campaigns.models import Payout
    from core.db import db

    return [db.session.get(Payout, uuid.UUID(i)) for i in ids]


BATCH = 3


@pytest.mark.parametrize(("point", "target"), [("first_batch", "horse"),
                                               ("second_batch", "both")])  # fmt: skip
def test_kill_9_mid_batch_loses_nothing_and_pays_nothing_twice(
    point: str, target: str, committed: None, app: Any, client: FlaskClient, make_shop: Any,
    make_shopper: Any, fake_pay: Any, pay_pki: Any, bearer: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A drain of two batches of three, killed while a batch's calls are held at WeChat: one
    request never reached WeChat, two moved the money unanswered. ``second_batch``: the first
    batch's answers were committed with the claim of the second (one transaction)."""
    from campaigns.payouts import jobs as payout_jobs
    from campaigns.payouts.jobs import sweep_payouts
    from core.broker import queue, redis_client
    from core.db import db

    app.config.update(PAYOUT_LEASE_SECONDS=2, PAYOUT_STUCK_SECONDS=1, PAYOUT_RETRY_SECONDS=0)
    fake_pay.set_confirm_mode("auto")
    shop = make_shop(V3)
    shoppers = [make_shopper(shop.brand) for _ in range(2 * BATCH)]
    db.commit()
    with monkeypatch.context() as patch:  # the payouts wait, committed, for one drain below
        patch.setattr(payout_jobs, "kick", lambda: None)
        patch.setattr(payout_jobs, "dispatch_claimed", lambda claimed: None)
        ids = [scan_as(client, bearer(s), shop.urls[n])["rewards"][0]["award_id"]
               for n, s in enumerate(shoppers)]  # fmt: skip
    assert set(_statuses(ids).values()) == {"pending"}
    worker = WorkerProcess({**_worker_env(app, fake_pay, pay_pki), "PAYOUT_BATCH": str(BATCH)},
                           tmp_path / "worker.log")  # fmt: skip
    try:
        worker.ready(redis_client())
        if point == "second_batch":
            fake_pay.inject("transfer", "none", BATCH)
        for fault in ("hold", "hold_after", "hold_after"):
            fake_pay.inject("transfer", fault)
        queue("payouts").enqueue(payout_jobs.drain_payouts)
        _wait(lambda: fake_pay.holding_count() == BATCH, 30, "a batch held at WeChat")
        seen = _statuses(ids)
        assert sorted(seen.values()).count("processing") == BATCH  # committed before the calls
        expected = {"paid": BATCH, "processing": BATCH} if point == "second_batch" else {
            "pending": BATCH, "processing": BATCH}  # fmt: skip
        assert {s: list(seen.values()).count(s) for s in set(seen.values())} == expected
        horse = worker.horse()
        worker.kill(horse)
        if target == "both":
            worker.kill(worker.pid)
        _wait(lambda: not alive(horse), 10, "the work-horse to die")
        fake_pay.release()
        time.sleep(2.5)  # the lease of the interrupted calls runs out
        deadline = time.monotonic() + 60
        while set(_statuses(ids).values()) != {"paid"} and time.monotonic() < deadline:
            sweep_payouts()
            run_workers()
            time.sleep(0.5)
    finally:
        fake_pay.release()
        worker.stop()
    statuses = _statuses(ids)
    assert set(statuses.values()) == {"paid"}, (statuses, (tmp_path / "worker.log").read_text())
    numbers = [p.out_trade_no for p in _payouts(ids)]
    stats = fake_pay.stats()
    assert stats["moved"] == {n: 1 for n in numbers}  # one payment per award, no other
    assert {stats["states"][n] for n in numbers} == {"SUCCESS"}
