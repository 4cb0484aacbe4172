"""One lock order for scans, cancels, campaign edits and payouts (issue 9, items 2 and 5).

Run together from 32 threads against the real PostgreSQL and Redis: no deadlock, no 500, and
every money invariant exact afterwards. Before the lock order was one, a winning scan locked
tier then campaign while a cancel locked campaign then tier, and paying locked payout then award
while cancelling locked award then payout: PostgreSQL killed one side of each cycle.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

CLIENTS = 32


class Mix:
    """Scans, cancels, edits and payments, sharing what the scans won."""

    def __init__(self, app: Flask, owner_headers: dict[str, str], campaign_ids: list[str]):
        self.app, self.owner, self.campaign_ids = app, owner_headers, campaign_ids
        self.won: list[str] = []
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.rng = random.Random(11)

    def _note(self, what: str, response: Any) -> None:
        with self.lock:
            self.statuses[(what, response.status_code)] += 1
            if response.status_code >= 500:
                self.failures.append(f"{what}: {response.get_data(as_text=True)[:300]}")

    def _some_award(self) -> str | None:
        with self.lock:
            return self.rng.choice(self.won) if self.won else None

    def scan(self, url: str, token: str) -> None:
        response = self.app.test_client().post(
            "/api/v1/scans", json={"code": url}, headers={"Authorization": f"Bearer {token}"}
        )
        self._note("scan", response)
        if response.status_code == 200:
            with self.lock:
                self.won.extend(r["award_id"] for r in response.get_json()["rewards"])

    def cancel(self) -> None:
        award_id = self._some_award()
        if award_id is not None:
            response = self.app.test_client().post(
                f"/api/v1/awards/{award_id}/cancel", json={"reason": "test"}, headers=self.owner
            )
            self._note("cancel", response)

    def edit(self, n: int) -> None:
        campaign_id = self.campaign_ids[n % len(self.campaign_ids)]
        body: dict[str, Any] = {"budget_fen": 1_000_000 + n}
        if n % 2:
            body["prizes"] = [{"amount_fen": 10 + n % 7, "probability": 0.9, "quantity": 5_000}]
        response = self.app.test_client().patch(
            f"/api/v1/campaigns/{campaign_id}", json=body, headers=self.owner
        )
        self._note("edit", response)

    def pay(self) -> None:
        from campaigns.jobs import pay_award

        award_id = self._some_award()
        if award_id is None:
            return
        try:
            with self.app.app_context():
                pay_award(award_id)  # the payout's id is its award's
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            with self.lock:
                self.failures.append(f"pay: {exc!r}")


def assert_books_balance(campaign_id: Any) -> None:
    """Spent, counts and tier quantities equal the awards that still stand."""
    from campaigns.models import Award, AwardStatus, Campaign, Draw, Payout, PrizeTier
    from core.db import db

    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    awards = list(db.session.scalars(select(Award).where(Award.campaign_id == campaign_id)))
    standing = [a for a in awards if a.status is not AwardStatus.cancelled]
    assert campaign.spent == sum(a.amount for a in standing) <= campaign.budget
    assert campaign.awards_count == len(standing)
    assert max(Counter((a.code_key_id, a.serial) for a in awards).values(), default=0) <= 1
    tier_of = {d: t for d, t in db.session.execute(select(Draw.id, Draw.tier_id))}
    by_tier = Counter(tier_of[a.draw_id] for a in standing)
    tiers = db.session.scalars(select(PrizeTier).where(PrizeTier.campaign_id == campaign_id))
    for tier in tiers:
        assert tier.awarded == by_tier[tier.id]
    for award in awards:
        payout = db.session.scalar(select(Payout).where(Payout.award_id == award.id))
        assert payout is not None
        if award.status is AwardStatus.cancelled:
            assert payout.status == "cancelled"
        assert (payout.status == "paid") == (award.status is AwardStatus.paid)


def _count_claims_alone(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Claims run as transactions of their own, by kind (``short``, ``full``) and outcome."""
    from core import db as core_db

    seen: Counter[str] = Counter()
    real = core_db.Database.alone_row

    def alone(self: Any, sql: str, params: dict[str, Any]) -> Any:
        kind = "full" if "FOR UPDATE" in sql else "short"
        try:
            row = real(self, sql, params)
        except Exception as exc:
            seen[f"{kind} {type(exc).__name__}"] += 1
            raise
        seen[f"{kind} ok"] += "WITH c AS" in sql
        return row

    monkeypatch.setattr(core_db.Database, "alone_row", alone)
    return seen


@pytest.mark.slow
@pytest.mark.realservices
@pytest.mark.parametrize("alone", [False, True], ids=["in-request", "alone"])
def test_scans_cancels_edits_and_payouts_together_never_deadlock(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, make_campaign: Any,
    bearer: Any, monkeypatch: pytest.MonkeyPatch, alone: bool,
) -> None:  # fmt: skip
    """Two campaigns: every claim joins its request's transaction. One red-packet campaign,
    the scanned-code index complete: most claims run alone, first short (``claim_sql.WIN``)."""
    from anticounterfeit.scans.index import ensure_complete
    from campaigns.payouts import jobs
    from core.broker import redis_client
    from core.db import db
    from profiles.service import issue_consumer_token

    # Only the pay tasks pay, one award each: the drain that winning scans kick would pay every
    # award at once (tests run jobs inline), leaving nothing for the cancels to contend for.
    monkeypatch.setattr(jobs, "kick", lambda: None)
    monkeypatch.setattr(jobs, "dispatch_claimed", lambda claimed: None)
    monkeypatch.setitem(app.config, "PAYOUT_BATCH", 1)

    c = make_codes(900)
    c.brand.settings = {**c.brand.settings, "fraud_hold_payouts": False}  # payable at once
    prizes = [{"amount_fen": 10, "probability": 0.5},
              {"amount_fen": 20, "probability": 0.4, "quantity": 5_000}]  # fmt: skip
    campaigns = [
        make_campaign(c.owner, budget_fen=1_000_000, prizes=prizes,
                      limits={"per_consumer_total": 400, "per_consumer_per_day": 400})
        for _ in range(1 if alone else 2)
    ]  # fmt: skip
    tokens = [issue_consumer_token(make_consumer(c.brand)).access_token for _ in range(30)]
    owner = bearer(c.owner)
    db.commit()
    claims = _count_claims_alone(monkeypatch)
    if alone:
        assert ensure_complete(redis_client())
    mix = Mix(app, owner, [str(x.id) for x in campaigns])
    rng = random.Random(5)
    tasks: list[Any] = []
    for i, url in enumerate(c.urls):
        tasks.append(lambda u=url: mix.scan(u, rng.choice(tokens)))
        if i % 3 == 0:
            tasks.append(mix.cancel)
        if i % 2 == 0:
            tasks.append(mix.pay)
        if i % 40 == 0:
            tasks.append(lambda n=i // 40: mix.edit(n))
    app.config["RATELIMIT_ENABLED"] = False
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda task: task(), tasks))
    finally:
        app.config["RATELIMIT_ENABLED"] = True
    assert mix.failures == []
    assert {status for (what, status) in mix.statuses if what in ("scan", "edit")} == {200}
    assert {status for (what, status) in mix.statuses if what == "cancel"} <= {200, 409}
    assert mix.statuses[("cancel", 200)] > 0 and len(mix.won) > 300
    from campaigns.models import Payout

    assert db.session.scalars(select(Payout).where(Payout.status == "paid")).first() is not None
    for campaign in campaigns:
        assert_books_balance(campaign.id)
    if alone:  # short claims won; those an edit had made stale gave way to the full claim
        assert claims["short ok"] > 10 and claims["short NoDataFound"] > 10
        assert set(claims) <= {"short ok", "short NoDataFound", "full ok",
                               "full SerializationFailure"}  # fmt: skip
    else:
        assert not claims


@pytest.mark.realservices
def test_new_consumers_only_holds_under_concurrent_first_scans(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, make_campaign: Any,
) -> None:  # fmt: skip
    """Item 5: a newcomer scanning many codes at once draws from a newcomers' campaign once."""
    from campaigns.models import Award, Draw
    from core.db import db
    from profiles.service import issue_consumer_token

    c = make_codes(24)
    newcomers = make_campaign(c.owner, targeting={"new_consumers_only": True})
    everyone = make_campaign(c.owner)
    token = issue_consumer_token(make_consumer(c.brand)).access_token
    db.commit()

    def scan(url: str) -> int:
        response = app.test_client().post(
            "/api/v1/scans", json={"code": url}, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code

    app.config["RATELIMIT_ENABLED"] = False
    try:
        with ThreadPoolExecutor(len(c.urls)) as pool:
            assert set(pool.map(scan, c.urls)) == {200}
    finally:
        app.config["RATELIMIT_ENABLED"] = True
    db.session.expire_all()

    def count(model: Any, campaign: Any) -> int:
        return len(list(db.session.scalars(select(model).where(model.campaign_id == campaign.id))))

    assert count(Draw, newcomers) == count(Award, newcomers) == 1
    assert count(Award, everyone) == len(c.urls)


def test_a_campaign_cache_load_never_waits_for_another_threads_load(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread reloading the campaign cache may hold row locks (a redraw after a stale claim
    in its request's transaction): it must not wait for another thread's load, which may be
    queued for a pooled connection behind claims that wait on those very locks (seen in the
    test above: the pool ran dry and scans failed after 30 s)."""
    import time
    import uuid
    from types import SimpleNamespace

    from campaigns import cache as cache_module
    from core.broker import redis_client

    redis, cache = redis_client(), cache_module.CampaignCache()
    loading, release = threading.Event(), threading.Event()

    class Rows(list[Any]):
        def unique(self) -> Rows:
            return self

    def scalars(_statement: Any) -> Rows:
        if threading.current_thread().name == "slow-load":
            loading.set()
            release.wait(10)  # a load waiting for a pooled connection
        return Rows()

    session = SimpleNamespace(scalars=scalars, get=lambda *_: None)
    monkeypatch.setattr(cache_module, "db", SimpleNamespace(session=session))
    slow = threading.Thread(
        target=cache.active, args=(redis, uuid.uuid4()), name="slow-load", daemon=True
    )
    slow.start()
    try:
        assert loading.wait(5)
        began = time.monotonic()
        assert cache.active(redis, uuid.uuid4()) == ()  # another brand's load, at once
        assert time.monotonic() - began < 2
    finally:
        release.set()
        slow.join(10)
