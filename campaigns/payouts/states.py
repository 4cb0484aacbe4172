"""The payout state machine: allowed transitions, their history, and the money they move.

    pending -> processing -> awaiting_user -> paid
       |  \\         |  \\             \\-> failed | cancelled   (expired: money back)
       |   held     |   -> paid | failed (definitive: money back)
       \\-> cancelled \\-> processing (unknown outcome: same number, query or re-send)
    failed -> pending (operator retry: new round, new number, budget taken again)

``processing`` is written (and committed) before every provider call. Nothing moves a payout
backwards: a late or repeated answer that the table does not allow is recorded, not applied.
``held`` is set by fraud review and is never paid.
"""

from __future__ import annotations

from sqlalchemy import select, update

from campaigns import budget
from campaigns.models import (
    Award,
    AwardStatus,
    Campaign,
    Draw,
    Payout,
    PayoutEvent,
    PayoutStatus,
    PrizeTier,
)
from core import events, txhooks
from core.broker import redis_client
from core.db import db, utcnow

S = PayoutStatus
ALLOWED: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    S.pending: frozenset({S.processing, S.held, S.cancelled, S.failed}),
    S.held: frozenset({S.pending, S.cancelled}),
    S.processing: frozenset({S.processing, S.awaiting_user, S.paid, S.failed, S.cancelled}),
    S.awaiting_user: frozenset({S.paid, S.failed, S.cancelled}),
    S.failed: frozenset({S.pending}),
    S.paid: frozenset(),
    S.cancelled: frozenset(),
}
#: Statuses whose money is back in the campaign budget.
RELEASED = frozenset({S.failed, S.cancelled})
#: The award status that mirrors each payout status (processing is still "pending" to the shopper).
AWARD_STATUS = {
    S.pending: AwardStatus.pending, S.processing: AwardStatus.pending, S.held: AwardStatus.held,
    S.awaiting_user: AwardStatus.awaiting_user, S.paid: AwardStatus.paid,
    S.failed: AwardStatus.failed, S.cancelled: AwardStatus.cancelled,
}  # fmt: skip


def allowed(current: PayoutStatus, target: PayoutStatus) -> bool:
    """Whether the state machine lets a payout go from ``current`` to ``target``."""
    return target in ALLOWED[current]


def record(payout: Payout, kind: str, **fields: str | None) -> None:
    """Append one line to the payout's history (same transaction)."""
    db.session.add(PayoutEvent(brand_id=payout.brand_id, payout_id=payout.id, at=utcnow(),
                               kind=kind, **fields))  # fmt: skip


def move(
    payout: Payout, award: Award, target: PayoutStatus, reason: str,
    announce: list[events.Event] | None = None,
) -> None:  # fmt: skip
    """Apply an allowed transition, keep the award in step and record it.

    The caller holds the locks: campaign and tier first when ``target`` returns money
    (``lock_for_release``), then award, then payout. ``announce``: collect the webhook event
    there (the caller publishes a batch's at once) instead of publishing it now.
    """
    current = payout.status
    if not allowed(current, target):
        raise ValueError(f"payout {payout.id}: {current.value} -> {target.value} is not allowed")
    payout.status = target
    award.status = AWARD_STATUS[target]
    if target in RELEASED and current not in RELEASED:
        _give_back(award)
    record(payout, "transition", from_status=current.value, to_status=target.value,
           reason=reason[:500])  # fmt: skip
    if target in ANNOUNCED:
        event = _announcement(payout, award, target, reason)
        if announce is None:
            events.publish(*event)
        else:
            announce.append(event)


#: Transitions that owners' webhooks hear about (``award.paid``, ``payout.failed``).
ANNOUNCED = frozenset({S.paid, S.failed})


def _announcement(payout: Payout, award: Award, target: PayoutStatus, reason: str) -> events.Event:
    """The transition's webhook event (one per payout round)."""
    data = {"payout_id": payout.id, "award_id": award.id, "campaign_id": award.campaign_id,
            "consumer_id": award.consumer_id, "amount_fen": payout.amount_fen,
            "provider": payout.provider, "at": utcnow()}  # fmt: skip
    if target is S.paid:
        return payout.brand_id, "award.paid", data, f"award.paid:{payout.id}"
    data.update(reason=reason[:500], round=payout.round)
    return payout.brand_id, "payout.failed", data, f"payout.failed:{payout.id}:{payout.round}"


def lock_for_release(*award_ids: object) -> None:
    """Take the campaign, then the tier row locks of awards first (the one lock order), each
    kind in id order so that two lockers never wait on each other."""
    rows = db.session.execute(
        select(Award.campaign_id, Draw.tier_id).join(Draw, Draw.id == Award.draw_id)
        .where(Award.id.in_(award_ids))
    ).all()  # fmt: skip
    campaigns = sorted({r.campaign_id for r in rows})
    tiers = sorted({r.tier_id for r in rows if r.tier_id is not None})
    if campaigns:
        db.session.execute(
            select(Campaign.id).where(Campaign.id.in_(campaigns)).order_by(Campaign.id)
            .with_for_update()
        ).all()  # fmt: skip
    if tiers:
        db.session.execute(
            select(PrizeTier.id).where(PrizeTier.id.in_(tiers)).order_by(PrizeTier.id)
            .with_for_update()
        ).all()  # fmt: skip


def _tier_of(award: Award) -> object:
    return db.session.scalar(select(Draw.tier_id).where(Draw.id == award.draw_id))


def _give_back(award: Award) -> None:
    """The award's amount returns to its campaign's budget and tier (and Redis, after commit)."""
    db.session.execute(
        update(Campaign).where(Campaign.id == award.campaign_id)
        .values(spent=Campaign.spent - award.amount, awards_count=Campaign.awards_count - 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    tier_id = _tier_of(award)
    if tier_id is not None:
        db.session.execute(
            update(PrizeTier).where(PrizeTier.id == tier_id)
            .values(awarded=PrizeTier.awarded - 1).execution_options(synchronize_session=False)
        )  # fmt: skip
    _after_commit_redis(award, tier_id, +1)


def take_again(award: Award) -> bool:
    """Spend the award's amount again (an operator retry); False when the budget is gone."""
    row = db.session.execute(
        update(Campaign)
        .where(Campaign.id == award.campaign_id, Campaign.spent + award.amount <= Campaign.budget)
        .values(spent=Campaign.spent + award.amount, awards_count=Campaign.awards_count + 1)
        .returning(Campaign.id).execution_options(synchronize_session=False)
    ).first()  # fmt: skip
    if row is None:
        return False
    tier_id = _tier_of(award)
    if tier_id is not None:
        taken = db.session.execute(
            update(PrizeTier)
            .where(PrizeTier.id == tier_id,
                   (PrizeTier.quantity.is_(None)) | (PrizeTier.awarded < PrizeTier.quantity))
            .values(awarded=PrizeTier.awarded + 1).returning(PrizeTier.id)
            .execution_options(synchronize_session=False)
        ).first()  # fmt: skip
        if taken is None:
            return False
    _after_commit_redis(award, tier_id, -1)
    return True


def _after_commit_redis(award: Award, tier_id: object, sign: int) -> None:
    redis, campaign_id, amount = redis_client(), award.campaign_id, award.amount

    def apply() -> None:
        remaining = budget.remaining_key(campaign_id)
        if redis.exists(remaining):
            redis.incrby(remaining, sign * amount)
        if tier_id is not None:
            stock = budget.stock_key(campaign_id, tier_id)  # type: ignore[arg-type]
            if redis.exists(stock):
                redis.incrby(stock, sign)

    txhooks.on_commit(db.session(), apply)
