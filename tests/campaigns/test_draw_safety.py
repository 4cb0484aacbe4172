"""Winning scans never lose a prize to a failure, never award from a stale view of a campaign,
and send after-commit work only for what survives (issue 9, items 1, 4, 5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.campaigns.conftest import scan_as


def _count(model: Any, **where: Any) -> int:
    from core.db import db

    query = select(model).filter_by(**where)
    return len(list(db.session.scalars(query)))


def _fail_reserve_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget reservation's Redis call fails once (a blip), after the scan was recorded."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from campaigns import budget

    real, calls = budget.reserve, []

    def blip(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RedisConnectionError("connection reset by peer")
        return real(*args, **kwargs)

    monkeypatch.setattr(budget, "reserve", blip)


def _fail_after_claim_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request fails after the win was claimed in PostgreSQL (before its commit)."""
    from engagement import service

    real, calls = service.scan_payload, []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the response could not be built")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "scan_payload", broken)


@pytest.mark.parametrize("failure", [_fail_reserve_once, _fail_after_claim_once])
def test_a_scan_that_fails_after_the_redis_call_wins_on_retry(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch, failure: Any,
) -> None:  # fmt: skip
    """Item 1: the scan's Redis call marked the consumer first; the draw must still happen."""
    from campaigns.models import Award, Draw

    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    failure(monkeypatch)
    failed = client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=bearer(shopper))
    assert failed.status_code in (500, 503), failed.get_data(as_text=True)
    assert _count(Draw) == 0 and _count(Award) == 0
    retry = scan_as(client, bearer(shopper), c.urls[0])
    assert retry["verdict"] == "authentic_repeat"
    [reward] = retry["rewards"]
    assert reward["campaign_id"] == str(campaign.id) and reward["amount_fen"] == 88
    assert _count(Draw) == 1 and _count(Award) == 1
    # Once the draw committed the code is settled: its next scans draw nothing more.
    assert scan_as(client, bearer(shopper), c.urls[0])["rewards"] == []
    assert _count(Draw) == 1 and _count(Award) == 1


def test_a_settled_code_stays_settled_without_the_redis_mark(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
) -> None:  # fmt: skip
    """Without the settled bit (Redis lost it), committed draws still decide: no second one.
    The next scan shows the code's award again, the same one (what a retry after a failure that
    followed the claim must see), and settles the code; later scans show nothing."""
    from campaigns.eligibility import settled_key
    from campaigns.models import Draw
    from core import behind
    from core.broker import redis_client

    c = make_codes()
    make_campaign(c.owner, prizes=[{"amount_fen": 88, "probability": 0.5}])
    shopper = make_consumer(c.brand)
    first = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    behind.flush()  # the bit has landed (written behind the request)
    redis_client().delete(settled_key(c.batch.id))
    again = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    assert [r["award_id"] for r in again] == [r["award_id"] for r in first]
    for _ in range(3):
        assert scan_as(client, bearer(shopper), c.urls[0])["rewards"] == []
    assert _count(Draw) == 1


def test_one_win_one_payout_job(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Item 4: draws that PostgreSQL refuses send no payout job; each win sends exactly one."""
    import campaigns.payouts as payouts
    from campaigns import budget
    from campaigns.models import Draw, Payout
    from core.broker import redis_client

    kicks: list[int] = []  # drains asked for after commit (each pays the pending payout rows)
    real_kick = payouts.kick_after_commit

    def spy() -> None:
        kicks.append(1)
        real_kick()

    monkeypatch.setattr(payouts, "kick_after_commit", spy)
    c = make_codes()
    c.brand.settings = {**c.brand.settings, "fraud_hold_payouts": False}  # paid at once
    campaigns = [make_campaign(c.owner, budget_fen=88) for _ in range(3)]
    shopper = make_consumer(c.brand)
    assert len(scan_as(client, bearer(shopper), c.urls[0])["rewards"]) == 3
    assert kicks == [1] and _count(Payout) == 3  # one payout row per win, one drain for them
    kicks.clear()
    for campaign in campaigns:  # Redis wrongly says there is budget left: PostgreSQL refuses
        redis_client().set(budget.remaining_key(campaign.id), 10**6)
    assert scan_as(client, bearer(shopper), c.urls[1])["rewards"] == []
    assert _count(Draw, outcome="budget_exhausted") == 3
    assert kicks == [] and _count(Payout) == 3


def _update(model: Any, row_id: Any, **values: Any) -> None:
    """Change a row behind the app's back (as another process would)."""
    from sqlalchemy import update

    from core.db import db

    db.session.execute(
        update(model).where(model.id == row_id).values(**values)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def _hold_stale_copy(brand_id: Any) -> Any:
    """Keep this process's copy of the brand's campaigns as it is now, whatever changes."""
    from campaigns.cache import campaign_cache
    from core.broker import redis_client

    cache = campaign_cache()
    entry = cache._brands[brand_id]

    def restore() -> None:
        token = redis_client().get(f"cmp:ver:{brand_id}")
        cache._brands[brand_id] = type(entry)(token, 1e18, entry.campaigns)

    return restore


def test_a_stale_campaign_cache_cannot_award_after_a_pause_or_the_end(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
) -> None:  # fmt: skip
    """Item 5: PostgreSQL's guards check status and window, not only the budget."""
    from campaigns import budget
    from campaigns.models import Award, Campaign
    from core.broker import redis_client
    from core.db import db, utcnow

    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    assert len(scan_as(client, bearer(shopper), c.urls[0])["rewards"]) == 1  # cache warm
    stale = _hold_stale_copy(c.brand.id)
    # Another process paused it; this process has not seen the change (its cache is stale).
    _update(Campaign, campaign.id, status="paused")
    stale()
    assert scan_as(client, bearer(shopper), c.urls[1])["rewards"] == []
    # Ended by the clock (the cache's copy still says it runs), its counters lost meanwhile.
    _update(Campaign, campaign.id, status="active", ends_at=utcnow() - timedelta(minutes=1))
    redis_client().delete(budget.remaining_key(campaign.id))
    stale()
    assert scan_as(client, bearer(shopper), c.urls[2])["rewards"] == []
    assert redis_client().get(budget.remaining_key(campaign.id)) is None  # not re-seeded
    db.session.expire_all()
    record = db.session.get(Campaign, campaign.id)
    assert record is not None and record.spent == 88 and _count(Award) == 1


def test_a_stale_version_draws_from_the_current_terms(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
) -> None:  # fmt: skip
    """A win drawn from an out-of-date copy of the prizes is drawn again from the current ones."""
    from campaigns.models import Draw

    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    assert scan_as(client, bearer(shopper), c.urls[0])["rewards"][0]["amount_fen"] == 88
    stale = _hold_stale_copy(c.brand.id)
    path = f"/api/v1/campaigns/{campaign.id}"
    patch = {"prizes": [{"amount_fen": 66, "probability": 1.0}]}
    assert client.patch(path, json=patch, headers=bearer(c.owner)).status_code == 200
    stale()  # this process still holds version 1, and believes it current
    [reward] = scan_as(client, bearer(shopper), c.urls[1])["rewards"]
    assert reward["amount_fen"] == 66
    assert sorted(d.campaign_version for d in _rows(Draw)) == [1, 2]


def _rows(model: Any) -> list[Any]:
    from core.db import db

    return list(db.session.scalars(select(model)))


def test_per_day_limits_count_days_by_one_clock(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Item 5: a node whose clock is a day ahead cannot open a new day for the per-day limit."""
    from campaigns.models import ConsumerWins
    from core.db import utcnow
    from engagement import service

    c = make_codes()
    make_campaign(c.owner, limits={"per_consumer_per_day": 1})
    shopper = make_consumer(c.brand)
    assert len(scan_as(client, bearer(shopper), c.urls[0])["rewards"]) == 1
    monkeypatch.setattr(service, "utcnow", lambda: utcnow() + timedelta(days=1))
    assert scan_as(client, bearer(shopper), c.urls[1])["rewards"] == []
    [wins] = _rows(ConsumerWins)
    assert wins.total == 1 and wins.day_count == 1


def test_a_winning_scan_kicks_payouts_after_commit_and_settles_the_code_behind(
    client: Any, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Paid at once (no fraud hold): after the commit the request takes the dispatch flag (the
    drain job follows because the flag was free) and does not wait for the code's settled bit:
    that is written behind the request (``core.behind``), and lands."""
    from campaigns.eligibility import settled_key
    from campaigns.payouts import jobs
    from core import behind
    from core.broker import current_broker, redis_client

    if current_broker().embedded:
        pytest.skip("embedded mode runs the drain inline: no dispatch flag")
    redis = redis_client()
    c = make_codes()
    c.brand.settings = {**c.brand.settings, "fraud_hold_payouts": False}
    make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    sent: list[str] = []  # what the request sent to Redis, lone commands and pipelines
    real_command, real_pipeline = redis.execute_command, redis.pipeline

    def command(*args: Any, **kwargs: Any) -> Any:
        sent.append(str(args[0]))
        return real_command(*args, **kwargs)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = real_pipeline(*args, **kwargs)
        real_execute = pipe.execute

        def execute(*a: Any, **k: Any) -> Any:
            sent.extend(str(cmd[0][0]) for cmd in pipe.command_stack)
            return real_execute(*a, **k)

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe

    drains: list[int] = []
    behind.flush()
    monkeypatch.setattr(redis, "execute_command", command)
    monkeypatch.setattr(redis, "pipeline", pipeline)
    monkeypatch.setattr(jobs, "dispatch_claimed", lambda claimed: drains.append(bool(claimed)))
    monkeypatch.setattr(behind, "DELAY", 60.0)  # the thread's next batch waits: nothing lands
    [reward] = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    assert reward["kind"] == "red_packet"
    assert "SET" in sent and "SETBIT" not in sent and drains == [True]
    offset = c.rows[0][0] - c.batch.serial_start
    behind.flush()
    assert "SETBIT" in sent and redis.getbit(settled_key(c.batch.id), offset) == 1
