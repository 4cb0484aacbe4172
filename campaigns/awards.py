"""Cancelling an award: the prize goes back to its campaign's budget and tier.

Only prizes that did not reach the shopper can be cancelled: a red packet not yet paid (and not
being paid right now), or points that are all still unspent (they are reversed in the ledger).
Spent budget, the tier's count and the Redis counters give the amount back; the code stays
drawn (a code wins at most once) and the consumer's win counts stay as they are.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from accounts.models import Brand
from campaigns import budget, points
from campaigns.errors import AwardNotCancellable, UnknownAward
from campaigns.models import (
    Award,
    AwardStatus,
    Campaign,
    CampaignKind,
    Draw,
    Payout,
    PayoutStatus,
    PointsEntry,
    PrizeTier,
)
from campaigns.payouts.states import record
from core import audit, txhooks
from core.audit import CLI, Actor
from core.broker import redis_client
from core.db import db
from core.queries import parse_id

CANCELLABLE = (AwardStatus.pending, AwardStatus.held, AwardStatus.awaiting_user, AwardStatus.failed)


def _lock_campaign_and_tier(brand: Brand, award_id: uuid.UUID) -> uuid.UUID | None:
    """Locks 2 and 3 of the lock order (``campaigns.claim``): the award's campaign, its tier.

    Taken before the award itself, as a winning scan takes them before writing its award, so a
    cancel and a scan of the same campaign never wait on each other in a cycle. Returns the tier.
    """
    found = db.session.execute(
        select(Award.campaign_id, Draw.tier_id)
        .join(Draw, Draw.id == Award.draw_id)
        .where(Award.id == award_id, Award.brand_id == brand.id)
    ).first()
    if found is None:
        raise UnknownAward()
    campaign_id, tier_id = found
    db.session.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
    if tier_id is not None:
        db.session.execute(select(PrizeTier.id).where(PrizeTier.id == tier_id).with_for_update())
    return tier_id  # type: ignore[no-any-return]


def _locked(award_id: uuid.UUID) -> Award:
    award = db.session.scalar(
        select(Award)
        .where(Award.id == award_id)
        .with_for_update(of=Award)
        .execution_options(populate_existing=True)
    )
    if award is None:
        raise UnknownAward()
    return award


def _cancel_red_packet(award: Award) -> bool:
    """Cancel the award and its payout; True when its money was still out of the budget."""
    if award.status not in CANCELLABLE:
        raise AwardNotCancellable(f"A {award.status.value} red packet cannot be cancelled.")
    payout = db.session.scalar(
        select(Payout).where(Payout.award_id == award.id).with_for_update(of=Payout)
        .execution_options(populate_existing=True)
    )  # fmt: skip
    if payout is not None:
        if payout.status is PayoutStatus.processing:
            raise AwardNotCancellable("The payment is in progress; query it before cancelling.")
        if payout.status is PayoutStatus.paid:
            raise AwardNotCancellable("The red packet has been paid.")
        record(payout, "transition", from_status=payout.status.value, to_status="cancelled",
               reason="award cancelled")  # fmt: skip
        payout.status = PayoutStatus.cancelled
    held_money = award.status is not AwardStatus.failed  # a failed payout gave it back already
    award.status = AwardStatus.cancelled
    return held_money


def _reverse_points(award: Award, reason: str) -> None:
    if award.status is not AwardStatus.credited:
        raise AwardNotCancellable(f"A {award.status.value} points award cannot be reversed.")
    left = db.session.scalar(select(PointsEntry.remaining).where(PointsEntry.award_id == award.id))
    if left != award.amount:
        raise AwardNotCancellable("Some of these points have been spent or have expired.")
    points.reverse_credit(award.id, reason=reason)
    award.status = AwardStatus.reversed


def _give_back(award: Award, tier_id: uuid.UUID | None) -> None:
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == award.campaign_id)
        .values(spent=Campaign.spent - award.amount, awards_count=Campaign.awards_count - 1)
    )
    if tier_id is not None:
        db.session.execute(
            update(PrizeTier).where(PrizeTier.id == tier_id).values(awarded=PrizeTier.awarded - 1)
        )
    redis, campaign_id, amount = redis_client(), award.campaign_id, award.amount

    def release() -> None:
        redis.incrby(budget.remaining_key(campaign_id), amount)
        if tier_id is not None and redis.exists(budget.stock_key(campaign_id, tier_id)):
            redis.incr(budget.stock_key(campaign_id, tier_id))

    if redis.exists(budget.remaining_key(campaign_id)):
        txhooks.on_commit(db.session(), release)


def cancel(brand: Brand, award_id: str, reason: str, *, actor: Actor = CLI) -> Award:
    """Cancel an award that has not reached the shopper; its amount returns to the budget.

    Locks in the one lock order: campaign, tier, award, payout (``campaigns.claim``).
    """
    parsed = parse_id(award_id, UnknownAward)
    tier_id = _lock_campaign_and_tier(brand, parsed)
    award = _locked(parsed)
    held_money = True
    if award.kind is CampaignKind.red_packet:
        held_money = _cancel_red_packet(award)
    else:
        _reverse_points(award, reason)
    award.cancel_reason = reason[:200]
    audit.record(brand.id, actor, "award.cancel", f"award:{award.id}",
                 {"reason": reason, "kind": award.kind.value, "amount": award.amount})  # fmt: skip
    if held_money:
        _give_back(award, tier_id)
    db.session.flush()
    return award
