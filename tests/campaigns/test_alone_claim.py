"""A scan whose only write is its red-packet claim commits it in one statement of its own
(``campaigns.claim``, ``core.db.Database.alone_row``), against the real PostgreSQL and Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from tests.campaigns.conftest import scan_as
from tests.campaigns.test_draw_safety import _fail_after_claim_once
from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.realservices
DSN = make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(False)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """What the request sent: statements run alone, transactions begun by the session, and
    sessions made (``db.session`` in a scope that had none)."""
    from core import db as core_db

    seen: dict[str, list[str]] = {"alone": [], "begun": [], "sessions": []}
    real_alone = core_db.Database.alone_row
    registry = core_db.db.session.registry
    real_create = registry.createfunc

    def alone(self: Any, sql: str, params: dict[str, Any]) -> Any:
        seen["alone"].append(sql)
        return real_alone(self, sql, params)

    def begun(conn: Any) -> None:
        seen["begun"].append("BEGIN")

    def create(*args: Any, **kwargs: Any) -> Any:
        seen["sessions"].append("session")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(core_db.Database, "alone_row", alone)
    monkeypatch.setattr(registry, "createfunc", create)
    engine = core_db.db.engine
    event.listen(engine, "begin", begun)
    yield seen
    event.remove(engine, "begin", begun)


def _setup(make_codes: Any, make_consumer: Any, make_campaign: Any, **campaign: Any) -> Any:
    from core.db import db

    c = make_codes(4)
    created = make_campaign(c.owner, prizes=[{"amount_fen": 88, "probability": 1.0}], **campaign)
    shopper = make_consumer(c.brand)
    db.commit()
    return c, created, shopper


def _warm(client: Any, bearer: Any, make_consumer: Any, c: Any, shopper: Any) -> None:
    """What a busy process has cached: a first scan loads the campaign's snapshot and seeds its
    Redis counters, the shopper's first request their consumer flags (reads in the request's
    transaction: a claim in such a request joins it), and the index of scanned codes is
    complete (a code's first scan asks no database whether it was scanned)."""
    from anticounterfeit.scans.index import ensure_complete
    from core.broker import redis_client
    from core.db import db

    assert ensure_complete(redis_client())

    someone = make_consumer(c.brand)
    db.commit()
    scan_as(client, bearer(someone), c.urls[-1])
    assert client.get("/api/v1/me", headers=bearer(shopper)).status_code == 200


def test_a_winning_scan_commits_its_claim_in_one_statement(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any, statements: dict[str, list[str]],
) -> None:  # fmt: skip
    from campaigns.eligibility import settled_key
    from campaigns.models import Award, Draw, Payout
    from core import behind
    from core.broker import redis_client
    from core.db import db

    c, campaign, shopper = _setup(make_codes, make_consumer, make_campaign)
    _warm(client, bearer, make_consumer, c, shopper)
    for seen in statements.values():
        seen.clear()
    [reward] = scan_as(client, bearer(shopper), c.urls[1])["rewards"]
    assert reward["amount_fen"] == 88
    [claimed] = statements["alone"]  # the short claim: the win as drawn, no row locked first
    assert "WITH c AS" in claimed and "FOR UPDATE" not in claimed
    assert statements["begun"] == []  # no BEGIN, no COMMIT: the statement was the transaction
    # Nor a session: the settled bit waited for the request's commit without one.
    assert statements["sessions"] == []
    award = db.session.get(Award, reward["award_id"])
    assert award is not None and db.session.get(Payout, award.id) is not None
    assert db.session.get(Draw, award.draw_id).outcome == "won"  # type: ignore[union-attr]
    # The request's commit (with nothing to write) still ran its after-commit work: the code is
    # settled (written behind the request), so the winner's next scan shows nothing more and
    # asks no database about it.
    behind.flush()
    serial = c.rows[1][0]
    assert redis_client().getbit(settled_key(c.batch.id), serial - c.batch.serial_start) == 1
    assert scan_as(client, bearer(shopper), c.urls[1])["rewards"] == []
    db.session.rollback()
    statements["begun"].clear()
    # Broken on purpose (no ``alone``): BEGIN, the claim, COMMIT.
    from campaigns import rewards

    real_draw = rewards._draw
    monkey = pytest.MonkeyPatch()
    monkey.setattr(rewards, "_draw", lambda c_, f, **kw: real_draw(c_, f, **{**kw, "alone": False}))
    try:
        scan_as(client, bearer(shopper), c.urls[2])
    finally:
        monkey.undo()
    assert len(statements["alone"]) == 1 and statements["begun"]  # the claim joined a BEGIN


def test_a_claim_racing_a_concurrent_first_win_keeps_nothing_and_runs_again(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, make_campaign: Any,
    bearer: Any, statements: dict[str, list[str]],
) -> None:  # fmt: skip
    """Two first wins of one consumer at once, a limit of one: the second claim finds no
    counters row to lock, is refused by the limit only at its upsert, and must not leave a draw
    written as won. Alone, the statement fails (``claim_raced()``), keeps nothing, and runs
    again: the draw then says ``limit_reached``, all in statements of their own."""
    from campaigns.models import Award, Campaign, Draw
    from core.db import db

    c, campaign, shopper = _setup(
        make_codes, make_consumer, make_campaign, limits={"per_consumer_total": 1}
    )
    _warm(app.test_client(), bearer, make_consumer, c, shopper)
    headers = bearer(shopper)
    other = psycopg.connect(DSN)  # the concurrent first win, holding the campaign row
    other.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (campaign.id,))
    other.execute(
        "INSERT INTO campaign_consumer_wins (campaign_id, consumer_id, total, day, day_count) "
        "VALUES (%s, %s, 1, current_date, 1)", (campaign.id, shopper.id),
    )  # fmt: skip
    statements["alone"].clear()
    statements["begun"].clear()
    responses: list[Any] = []
    scan = threading.Thread(target=lambda: responses.append(
        app.test_client().post("/api/v1/scans", json={"code": c.urls[0]}, headers=headers)
    ))  # fmt: skip
    scan.start()
    with psycopg.connect(DSN, autocommit=True) as watch:  # until the claim waits for the lock
        for _ in range(200):
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%%WITH c AS%%'"
            ).fetchone()
            if waiting and waiting[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the claim never waited for the campaign row")
    other.commit()
    other.close()
    scan.join(timeout=30)
    [response] = responses
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rewards"] == []
    assert len(statements["alone"]) == 2  # the failed run, then the one that counted
    assert statements["begun"] == []  # no correction in a transaction of the request's
    db.session.expire_all()
    mine = select(Draw).where(Draw.consumer_id == shopper.id)
    assert [d.outcome for d in db.session.scalars(mine)] == ["limit_reached"]
    assert list(db.session.scalars(select(Award).where(Award.consumer_id == shopper.id))) == []
    assert db.session.get(Campaign, campaign.id).spent == 88  # type: ignore[union-attr]  # _warm


def test_a_retry_after_a_failure_that_followed_the_claim_shows_the_win_once(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any, statements: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The claim committed on its own, then the request failed (its response could not be
    built): the prize is kept, and the shopper's retry shows it (the same award, once), since no
    response did; the code is then settled and its next scans show nothing more."""
    from campaigns.models import Award, Draw
    from core.db import db

    c, campaign, shopper = _setup(make_codes, make_consumer, make_campaign)
    _warm(client, bearer, make_consumer, c, shopper)
    statements["alone"].clear()
    _fail_after_claim_once(monkeypatch)
    failed = client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=bearer(shopper))
    assert failed.status_code == 500
    assert len(statements["alone"]) == 1  # the claim committed alone before the failure
    retry = scan_as(client, bearer(shopper), c.urls[0])
    assert retry["verdict"] == "authentic_repeat"
    [reward] = retry["rewards"]
    [award] = db.session.scalars(select(Award).where(Award.consumer_id == shopper.id))
    assert reward["award_id"] == str(award.id) and reward["amount_fen"] == 88
    assert reward["payout"]["out_trade_no"] == award.payout.out_trade_no  # type: ignore[union-attr]
    db.session.rollback()
    assert scan_as(client, bearer(shopper), c.urls[0])["rewards"] == []  # settled now
    mine = select(Draw).where(Draw.consumer_id == shopper.id)
    assert len(list(db.session.scalars(mine))) == 1 and len(statements["alone"]) == 1


def test_a_process_sends_one_claim_per_campaign_at_a_time(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Threads of one process winning in one campaign do not queue on its rows inside
    PostgreSQL: their claims go one at a time (``campaigns.claim._gate``)."""
    from concurrent.futures import ThreadPoolExecutor

    from core import db as core_db
    from core.db import db

    c = make_codes(33)
    make_campaign(c.owner, prizes=[{"amount_fen": 88, "probability": 1.0}])
    shoppers = [make_consumer(c.brand) for _ in range(8)]
    db.commit()
    _warm(client, bearer, make_consumer, c, shoppers[0])
    headers = [bearer(s) for s in shoppers]
    for h in headers[1:]:  # their flags cached too
        assert client.get("/api/v1/me", headers=h).status_code == 200
    real, lock = core_db.Database.alone_row, threading.Lock()
    state = {"in": 0, "most": 0, "claims": 0}

    def counted(self: Any, sql: str, params: dict[str, Any]) -> Any:
        claim = "WITH c AS" in sql
        with lock:
            state["in"] += claim
            state["most"] = max(state["most"], state["in"])
            state["claims"] += claim
        try:
            time.sleep(0.01)  # a slow round trip: room for another thread to overlap
            return real(self, sql, params)
        finally:
            with lock:
                state["in"] -= claim

    monkeypatch.setattr(core_db.Database, "alone_row", counted)

    def scan(i: int) -> int:
        answer = app.test_client().post(
            "/api/v1/scans", json={"code": c.urls[i]}, headers=headers[i % 8]
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return len(answer.get_json()["rewards"])

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(scan, range(32))) == 32
    assert state["claims"] == 32 and state["most"] == 1


def test_a_short_claim_a_guard_refuses_keeps_nothing_and_the_full_claim_records_why(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any, statements: dict[str, list[str]],
) -> None:  # fmt: skip
    """The short claim has already spent budget and tier stock when the consumer's limit
    refuses it (Redis lost the consumer's count, so its pre-check let the draw through): the
    statement fails (``claim_not_won()``) and keeps none of that; the full claim then records
    ``limit_reached``, and nothing was spent."""
    from campaigns import budget
    from campaigns.models import Award, Campaign, ConsumerWins, Draw, PrizeTier
    from core.broker import redis_client
    from core.db import db

    c, campaign, shopper = _setup(
        make_codes, make_consumer, make_campaign, limits={"per_consumer_total": 1}
    )
    _warm(client, bearer, make_consumer, c, shopper)
    assert scan_as(client, bearer(shopper), c.urls[0])["rewards"]  # the shopper's one win
    redis_client().delete(f"{budget._prefix(campaign.id)}:total:{shopper.id}")  # Redis forgets
    db.session.expire_all()
    before = db.session.get(Campaign, campaign.id)
    assert before is not None
    spent, count = before.spent, before.awards_count
    [tier] = before.tiers
    awarded = tier.awarded
    statements["alone"].clear()
    statements["begun"].clear()
    assert scan_as(client, bearer(shopper), c.urls[1])["rewards"] == []
    short, full = statements["alone"]
    assert "FOR UPDATE" not in short and "FOR UPDATE" in full  # the short claim, then the full
    assert statements["begun"] == []
    db.session.expire_all()
    mine = select(Draw.outcome).where(Draw.consumer_id == shopper.id).order_by(Draw.created_at)
    assert list(db.session.scalars(mine)) == ["won", "limit_reached"]
    after = db.session.get(Campaign, campaign.id)
    assert after is not None and (after.spent, after.awards_count) == (spent, count)
    assert db.session.get(PrizeTier, tier.id).awarded == awarded  # type: ignore[union-attr]
    wins = db.session.get(ConsumerWins, (campaign.id, shopper.id))
    assert wins is not None and wins.total == 1
    assert len(list(db.session.scalars(select(Award).where(Award.consumer_id == shopper.id)))) == 1


def test_a_win_paid_at_once_kicks_the_drain_without_beginning_a_session(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any, statements: dict[str, list[str]],
) -> None:  # fmt: skip
    """A brand that pays red packets at once (no fraud hold): the drain is asked for after the
    request commits, and the claim alone still begins no session for it."""
    from campaigns.payouts import jobs
    from core.broker import queue, redis_client
    from core.db import db

    c, campaign, shopper = _setup(make_codes, make_consumer, make_campaign)
    c.brand.settings = {**c.brand.settings, "fraud_hold_payouts": False}
    db.session.merge(c.brand)
    db.commit()
    _warm(client, bearer, make_consumer, c, shopper)
    redis_client().delete(jobs.DISPATCH_FLAG)
    payouts = queue("payouts")
    payouts.empty()
    for seen in statements.values():
        seen.clear()
    [reward] = scan_as(client, bearer(shopper), c.urls[1])["rewards"]
    assert reward["amount_fen"] == 88 and len(statements["alone"]) == 1
    assert statements["sessions"] == [] and statements["begun"] == []
    assert redis_client().get(jobs.DISPATCH_FLAG) is not None  # taken after the commit
    assert [j.func_name for j in payouts.get_jobs()] == ["campaigns.payouts.jobs.drain_payouts"]
