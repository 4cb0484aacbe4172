"""What a fraud check or decision does to awards: clear, hold, release or reject them.

Lock order, as everywhere (README, "Lock order"): campaign, tier, award, payout. Clearing,
holding and releasing take award then payout; rejecting cancels through ``campaigns.awards``, which
takes all four, so a transaction that both rejects and holds rejects first. A payout in flight
(``processing``) or already with the shopper is never touched here: the state machine finishes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from accounts.models import Brand
from campaigns import awards as campaign_awards
from campaigns.errors import AwardNotCancellable
from campaigns.models import Award, AwardStatus, CampaignKind, Payout, PayoutStatus
from campaigns.payouts import pay_award_job
from core.db import db
from workers.job import enqueue_after_commit

HOLDABLE = (AwardStatus.pending,)
REJECTABLE = (AwardStatus.pending, AwardStatus.held, AwardStatus.credited)


def _locked_awards(award_ids: Iterable[uuid.UUID]) -> list[Award]:
    ids = sorted(set(award_ids))  # one order for every locker: no deadlock between two checks
    if not ids:
        return []
    return list(db.session.scalars(
        select(Award).where(Award.id.in_(ids)).order_by(Award.id)
        .with_for_update(of=Award).execution_options(populate_existing=True)
    ))  # fmt: skip


def _payout(award: Award) -> Payout | None:
    return db.session.scalar(
        select(Payout).where(Payout.award_id == award.id).with_for_update(of=Payout)
        .execution_options(populate_existing=True)
    )  # fmt: skip


def _send(payout: Payout) -> None:
    enqueue_after_commit(pay_award_job(), str(payout.id), queue_name="payouts")


def awards_of_scans(scan_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The awards won by these scans."""
    return list(db.session.scalars(select(Award.id).where(Award.scan_id.in_(scan_ids))))


def clear(award_ids: Iterable[uuid.UUID]) -> int:
    """The scans' check passed: their red packets may be paid now. Returns how many were sent."""
    sent = 0
    for award in _locked_awards(award_ids):
        payout = _payout(award) if award.kind is CampaignKind.red_packet else None
        if payout is not None and not payout.cleared:
            payout.cleared = True
            if payout.status is PayoutStatus.pending and award.status is AwardStatus.pending:
                _send(payout)
                sent += 1
    return sent


def hold(award_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Hold the red packets that have not reached the provider; returns those now held."""
    held = []
    for award in _locked_awards(award_ids):
        if award.kind is not CampaignKind.red_packet:
            continue
        payout = _payout(award)
        if award.status is AwardStatus.held:
            held.append(award.id)
        elif (
            award.status in HOLDABLE
            and payout is not None
            and payout.status is PayoutStatus.pending
        ):
            award.status, payout.status = AwardStatus.held, PayoutStatus.held
            held.append(award.id)
    db.session.flush()
    return held


def release(award_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Let held red packets proceed: each is paid once, by the payout state machine."""
    released = []
    for award in _locked_awards(award_ids):
        payout = _payout(award)
        if award.status is AwardStatus.held and payout is not None:
            award.status, payout.status, payout.cleared = (
                AwardStatus.pending, PayoutStatus.pending, True)  # fmt: skip
            _send(payout)
            released.append(award.id)
    db.session.flush()
    return released


def reject(brand: Brand, award_ids: Iterable[uuid.UUID], reason: str) -> list[uuid.UUID]:
    """Cancel the awards that have not reached the shopper; their money returns to the budget.

    Nothing is locked here: each cancel takes campaign, tier, award and payout in the one lock
    order, campaigns in id order, and decides under those locks whether the award can go.
    """
    candidates = db.session.execute(
        select(Award.id).where(Award.id.in_(set(award_ids)), Award.status.in_(REJECTABLE))
        .order_by(Award.campaign_id, Award.id)
    ).scalars()  # fmt: skip
    rejected = []
    for award_id in list(candidates):
        try:
            campaign_awards.cancel(brand, str(award_id), reason)
        except AwardNotCancellable:
            continue  # paid, in flight, or points already spent: a person follows it up
        rejected.append(award_id)
    return rejected
