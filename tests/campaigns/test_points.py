"""The points ledger, expiry oldest-first, the catalogue and redemptions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.test_app import assert_envelope


def credit(brand: Any, consumer: Any, points: int, expires_in_days: int | None = 365) -> Any:
    from campaigns import points as ledger
    from core.db import utcnow

    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    return ledger.credit(brand.id, consumer.id, points, reason="test", expires_at=expires,
                         ref=ledger.Reference())  # fmt: skip


def assert_ledger_consistent(consumer: Any) -> None:
    """Balance = sum of entries = sum of what is left of the credits, and never negative."""
    from campaigns import points as ledger
    from campaigns.models import PointsEntry
    from core.db import db

    def total(column: Any) -> int:
        where = PointsEntry.consumer_id == consumer.id
        return int(db.session.scalar(select(func.coalesce(func.sum(column), 0)).where(where)))

    balance = ledger.balance(consumer.id)
    assert balance == total(PointsEntry.delta) == total(PointsEntry.remaining)


def test_redeem_spends_oldest_credits_first(
    client: FlaskClient, make_brand: Any, make_consumer: Any, bearer: Any
) -> None:
    from core.db import db

    owner = make_brand()
    shopper = make_consumer(owner.brand)
    late, soon = credit(owner.brand, shopper, 100, 300), credit(owner.brand, shopper, 50, 10)
    cup = {"name": "Tea cup", "points_cost": 30, "stock": 5}
    item = client.post("/api/v1/catalogue-items", json=cup, headers=bearer(owner))
    assert item.status_code == 201
    item_id = item.get_json()["id"]
    [listed] = client.get("/api/v1/me/catalogue-items", headers=bearer(shopper)).get_json()
    assert listed["id"] == item_id and listed["available"] == 5
    body = {"item_id": item_id, "quantity": 2, "request_id": "r-1"}
    response = client.post("/api/v1/me/redemptions", json=body, headers=bearer(shopper))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["points"] == 60 and data["points_balance"] == 90 and data["item_name"] == "Tea cup"
    db.session.refresh(soon)
    db.session.refresh(late)
    assert (soon.remaining, late.remaining) == (0, 90)
    assert_ledger_consistent(shopper)
    kinds = [e["kind"] for e in client.get("/api/v1/me/points", headers=bearer(shopper)).get_json()]
    assert kinds == ["redemption", "credit", "credit"]
    [mine] = client.get("/api/v1/me/redemptions", headers=bearer(shopper)).get_json()
    assert mine["id"] == data["id"]


def test_refused_redemptions_write_nothing(
    client: FlaskClient, make_brand: Any, make_consumer: Any, bearer: Any
) -> None:
    from uuid import UUID

    from campaigns.models import CatalogueItem, PointsEntry, Redemption
    from core.db import db

    owner, other = make_brand(), make_brand()
    shopper = make_consumer(owner.brand)
    credit(owner.brand, shopper, 100)
    make = {"name": "Mug", "points_cost": 40, "stock": 1}
    mug = client.post("/api/v1/catalogue-items", json=make, headers=bearer(owner)).get_json()["id"]
    theirs = client.post("/api/v1/catalogue-items", json=make, headers=bearer(other)).get_json()[
        "id"
    ]
    post = lambda **b: client.post("/api/v1/me/redemptions", json={"request_id": "x", **b},  # noqa: E731
                                   headers=bearer(shopper))  # fmt: skip
    assert_envelope(post(item_id=mug, quantity=3), 409, "out_of_stock")
    assert_envelope(post(item_id=theirs), 404, "unknown_item")
    assert_envelope(post(item_id="nope"), 404, "unknown_item")
    assert_envelope(post(item_id=mug, quantity=0), 422, "validation_error")
    big = client.post("/api/v1/catalogue-items", json={**make, "points_cost": 101, "stock": None},
                      headers=bearer(owner)).get_json()["id"]  # fmt: skip
    assert_envelope(post(item_id=big), 409, "insufficient_points")
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 1
    item = db.session.get(CatalogueItem, UUID(mug))
    db.session.refresh(item)
    assert item is not None and item.redeemed == 0
    assert post(item_id=mug).status_code == 201
    assert_envelope(post(item_id=mug), 409, "duplicate_redemption")
    assert_ledger_consistent(shopper)


def test_expiry_removes_what_is_left_of_old_credits(make_brand: Any, make_consumer: Any) -> None:
    from campaigns import points as ledger
    from campaigns.jobs import expire_points
    from core.db import utcnow

    owner = make_brand()
    shopper = make_consumer(owner.brand)
    old, new = credit(owner.brand, shopper, 70, 1), credit(owner.brand, shopper, 30, 100)
    never = credit(owner.brand, shopper, 5, None)
    ledger.spend(shopper.id, 50, reason="test", ref=ledger.Reference())
    assert (old.remaining, new.remaining, never.remaining) == (20, 30, 5)
    assert ledger.expire_due(shopper.id, utcnow() + timedelta(days=2)) == 20
    assert ledger.balance(shopper.id) == 35
    assert_ledger_consistent(shopper)
    assert expire_points() == 0  # nothing is due today


def test_spending_skips_expired_credits(make_brand: Any, make_consumer: Any) -> None:
    import pytest

    from campaigns import points as ledger
    from campaigns.errors import InsufficientPoints

    owner = make_brand()
    shopper = make_consumer(owner.brand)
    credit(owner.brand, shopper, 80, -1)  # expired yesterday, not yet swept
    credit(owner.brand, shopper, 10, 30)
    with pytest.raises(InsufficientPoints):
        ledger.spend(shopper.id, 50, reason="test", ref=ledger.Reference())


def test_reversal_takes_back_what_is_left(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from uuid import UUID

    from campaigns import points as ledger
    from tests.campaigns.conftest import scan_as

    c = make_codes()
    make_campaign(c.owner, "points")
    shopper = make_consumer(c.brand)
    [reward] = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    ledger.spend(shopper.id, 8, reason="test", ref=ledger.Reference())
    assert ledger.reverse_credit(UUID(reward["award_id"]), reason="fraud") == 80
    assert ledger.reverse_credit(UUID(reward["award_id"]), reason="fraud") == 0
    assert ledger.balance(shopper.id) == 0
    assert_ledger_consistent(shopper)


def test_the_expiry_sweep_covers_every_consumer(make_brand: Any, make_consumer: Any) -> None:
    from campaigns import points as ledger
    from campaigns.jobs import expire_points

    owner = make_brand()
    shoppers = [make_consumer(owner.brand) for _ in range(3)]
    for shopper in shoppers:
        credit(owner.brand, shopper, 10, -1)
        credit(owner.brand, shopper, 5, 30)
    assert expire_points() == 30
    assert expire_points() == 0
    for shopper in shoppers:
        assert ledger.balance(shopper.id) == 5
        assert_ledger_consistent(shopper)


def test_the_expiry_sweep_locks_a_batch_of_accounts_per_transaction(
    make_brand: Any, make_consumer: Any, monkeypatch: Any
) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from campaigns import points as ledger
    from campaigns.jobs import expire_points

    owner = make_brand()
    shoppers = [make_consumer(owner.brand) for _ in range(5)]
    for shopper in shoppers:
        credit(owner.brand, shopper, 10, -1)
    locked: list[Any] = []
    per_transaction: list[int] = []
    real_lock = ledger._lock_account

    def lock(consumer_id: Any) -> Any:
        locked.append(consumer_id)
        return real_lock(consumer_id)

    def committed(session: Session) -> None:
        if not session.in_nested_transaction() and locked:
            per_transaction.append(len(locked))
            locked.clear()

    monkeypatch.setattr(ledger, "_lock_account", lock)
    event.listen(Session, "after_commit", committed, insert=True)  # before the next job runs
    try:
        expire_points(batch=2)  # the next batches follow it, each a job (inline here)
    finally:
        event.remove(Session, "after_commit", committed)
    from core.broker import current_broker

    if not current_broker().embedded:  # real workers would run the rest: run them now
        from tests.workers import run_workers

        monkeypatch.setattr(ledger, "_lock_account", real_lock)
        run_workers()
    for shopper in shoppers:
        assert ledger.balance(shopper.id) == 0
        assert_ledger_consistent(shopper)
    assert per_transaction[0] == 2 and max(per_transaction) <= 2
