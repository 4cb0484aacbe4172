"""Money invariants under concurrency, against the real PostgreSQL and Redis.

Thousands of scans from 32 concurrent clients against a small budget, a capped tier and
per-consumer limits; then every invariant is checked exactly, from the database's records.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

CHINA = timezone(timedelta(hours=8))
CLIENTS = 32


def _scan_all(
    app: Flask, monkeypatch: pytest.MonkeyPatch, jobs: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """POST every (url, token) from CLIENTS threads; every response must be a 200."""

    def scan(job: tuple[str, str]) -> dict[str, Any]:
        url, token = job
        response = app.test_client().post(
            "/api/v1/scans", json={"code": url}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return dict(response.get_json())

    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(scan, jobs))


def assert_invariants(campaign_id: Any, budget: int) -> dict[str, int]:
    """Every money invariant of API.md, exactly."""
    from campaigns import budget as counters
    from campaigns.models import Award, Campaign, ConsumerWins, Draw, PrizeTier
    from core.broker import redis_client
    from core.db import db

    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    awards = list(db.session.scalars(select(Award).where(Award.campaign_id == campaign_id)))
    awarded = sum(a.amount for a in awards)  # read from the awards, not the campaign's counter
    assert awarded == campaign.spent <= budget
    assert campaign.awards_count == len(awards)
    per_code = Counter((a.code_key_id, a.serial) for a in awards)
    assert max(per_code.values(), default=0) <= 1
    draws = db.session.scalar(
        select(func.count()).select_from(Draw).where(Draw.campaign_id == campaign_id)
    )
    distinct_codes = db.session.scalar(
        select(func.count()).select_from(
            select(Draw.code_key_id, Draw.serial)
            .where(Draw.campaign_id == campaign_id)
            .distinct()
            .subquery()
        )
    )
    assert draws == distinct_codes  # one draw per code
    won = {d.id: d for d in db.session.scalars(select(Draw).where(Draw.outcome == "won"))}
    by_tier = Counter(won[a.draw_id].tier_id for a in awards)
    for tier in db.session.scalars(select(PrizeTier).where(PrizeTier.campaign_id == campaign_id)):
        assert tier.awarded == by_tier[tier.id]
        assert tier.quantity is None or tier.awarded <= tier.quantity
    totals = Counter(a.consumer_id for a in awards)
    daily = Counter((a.consumer_id, a.created_at.astimezone(CHINA).date()) for a in awards)
    if campaign.per_consumer_total is not None:
        assert max(totals.values(), default=0) <= campaign.per_consumer_total
    if campaign.per_consumer_per_day is not None:
        assert max(daily.values(), default=0) <= campaign.per_consumer_per_day
    for wins in db.session.scalars(select(ConsumerWins)):
        assert wins.total == totals[wins.consumer_id]
    # Every reservation that did not become an award was released: Redis agrees with the record.
    redis_remaining = redis_client().get(counters.remaining_key(campaign_id))
    assert redis_remaining is not None and int(redis_remaining) == budget - awarded
    return {"awards": len(awards), "spent": campaign.spent, "draws": int(draws or 0),
            "max_total": max(totals.values(), default=0)}  # fmt: skip


def _setup(make_codes: Any, make_consumer: Any, make_campaign: Any, *, codes: int,
           consumers: int, **campaign: Any) -> tuple[Any, Any, list[str]]:  # fmt: skip
    from core.db import db
    from profiles.service import issue_consumer_token

    c = make_codes(codes)
    created = make_campaign(c.owner, **campaign)
    tokens = [issue_consumer_token(make_consumer(c.brand)).access_token for _ in range(consumers)]
    db.commit()
    return c, created, tokens


PRIZES = [
    {"amount_fen": 88, "probability": 0.3},
    {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.4, "quantity": 15},
]


@pytest.mark.slow
@pytest.mark.realservices
def test_thousands_of_scans_never_overspend(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, make_campaign: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    budget = 5_000
    c, campaign, tokens = _setup(
        make_codes, make_consumer, make_campaign, codes=2_000, consumers=60, budget_fen=budget,
        prizes=PRIZES, limits={"per_consumer_per_day": 2, "per_consumer_total": 3},
    )  # fmt: skip
    rng = random.Random(7)
    jobs = [(url, rng.choice(tokens)) for url in c.urls]
    jobs += [(rng.choice(c.urls[:200]), rng.choice(tokens)) for _ in range(400)]  # re-scans
    rng.shuffle(jobs)
    responses = _scan_all(app, monkeypatch, jobs)
    facts = assert_invariants(campaign.id, budget)
    rewards = sum(len(r["rewards"]) for r in responses)
    assert rewards == facts["awards"] > 0
    # 60 shoppers may win 180 prizes (~88 fen each): the budget runs out first, to within the
    # largest prize (100 fen).
    assert budget - facts["spent"] < 100
    assert facts["draws"] == len(set(c.urls))  # every code's first (logged-in) scan drew once


@pytest.mark.slow  # 800 scans: about 25 s
@pytest.mark.realservices
def test_lost_redis_counters_cannot_overspend(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, make_campaign: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Redis wrongly says there is plenty (lost writes): PostgreSQL's guards still hold."""
    from campaigns import budget as counters
    from core.broker import redis_client

    budget = 2_000
    c, campaign, tokens = _setup(
        make_codes, make_consumer, make_campaign, codes=800, consumers=400, budget_fen=budget,
        prizes=[{"amount_fen": 100, "probability": 1.0}],
    )  # fmt: skip
    redis_client().set(counters.remaining_key(campaign.id), 10**9)
    responses = _scan_all(app, monkeypatch, list(zip(c.urls, tokens + tokens, strict=True)))
    assert sum(len(r["rewards"]) for r in responses) == 20
    redis_client().set(counters.remaining_key(campaign.id), 0)  # what reconciliation would do
    facts = assert_invariants(campaign.id, budget)
    assert facts["spent"] == budget and facts["awards"] == 20


@pytest.mark.realservices
def test_same_redemption_twice_at_once(
    app: Flask, committed: None, make_brand: Any, make_consumer: Any
) -> None:
    from campaigns import catalogue
    from campaigns import points as ledger
    from campaigns.inputs import NewCatalogueItem
    from core.db import db
    from profiles.service import issue_consumer_token
    from tests.campaigns.test_points import assert_ledger_consistent

    owner = make_brand()
    shopper = make_consumer(owner.brand)
    ledger.credit(owner.brand.id, shopper.id, 100, reason="test", expires_at=None,
                  ref=ledger.Reference())  # fmt: skip
    item = catalogue.create_item(owner.brand, NewCatalogueItem(name="Mug", points_cost=30))
    token = issue_consumer_token(shopper).access_token
    db.commit()

    def redeem(request_id: str) -> int:
        response = app.test_client().post(
            "/api/v1/me/redemptions", json={"item_id": str(item.id), "request_id": request_id},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        return response.status_code

    with ThreadPoolExecutor(16) as pool:
        same = list(pool.map(redeem, ["same"] * 16))
        different = list(pool.map(redeem, [f"r{i}" for i in range(16)]))
    assert sorted(same) == [201] + [409] * 15
    assert different.count(201) == 2 and different.count(409) == 14  # 100 = 30 * 3 + 10
    db.session.expire_all()
    assert ledger.balance(shopper.id) == 10
    assert_ledger_consistent(shopper)
