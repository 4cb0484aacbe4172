"""A campaign's money, side by side: the budget, what our payouts say and what WeChat confirmed.

``budget = awarded + remaining`` (the campaign row) and ``awarded = paid + pending + held +
awaiting_user`` (the payouts): a difference between the two sides, a payout WeChat confirmed
that we do not count as paid (or the reverse), or a confirmed amount that differs, is listed in
``mismatches``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from accounts.models import Brand
from campaigns.errors import UnknownCampaign
from campaigns.models import Award, Campaign, CampaignKind, CampaignStatus, Payout, PayoutStatus
from campaigns.payouts.config import SANDBOX
from core.db import db
from core.queries import get_for_brand

S = PayoutStatus
CONFIRMED_PAID = frozenset({"SUCCESS", "RECEIVED"})
_BUCKET = {
    S.paid: "paid_fen", S.pending: "pending_fen", S.processing: "pending_fen",
    S.held: "held_fen", S.awaiting_user: "awaiting_user_fen", S.failed: "failed_fen",
    S.cancelled: "cancelled_fen",
}  # fmt: skip


def for_campaign(brand: Brand, campaign_id: str) -> dict[str, Any]:
    """The reconciliation of one of the brand's campaigns (API.md, Payouts)."""
    campaign = get_for_brand(Campaign, campaign_id, brand.id, UnknownCampaign)
    return reconcile(campaign)


def active_campaigns() -> Iterator[dict[str, Any]]:
    """The reconciliation of every active red packet campaign."""
    rows = db.session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.active, Campaign.kind == CampaignKind.red_packet
    ).order_by(Campaign.id))  # fmt: skip
    for campaign in list(rows):
        yield reconcile(campaign)


def reconcile(campaign: Campaign) -> dict[str, Any]:
    """Sums by payout status, what the provider confirmed, and every disagreement."""
    out: dict[str, Any] = {"campaign_id": str(campaign.id), "budget_fen": campaign.budget,
                           "remaining_fen": campaign.budget - campaign.spent,
                           "awarded_fen": campaign.spent}  # fmt: skip
    for bucket in dict.fromkeys(_BUCKET.values()):
        out[bucket] = 0
    sums = db.session.execute(
        select(Payout.status, func.coalesce(func.sum(Payout.amount_fen), 0))
        .join(Award, Award.id == Payout.award_id)
        .where(Award.campaign_id == campaign.id).group_by(Payout.status)
    )  # fmt: skip
    for status, total in sums:
        out[_BUCKET[S(status)]] += int(total)
    out["provider_paid_fen"] = int(db.session.scalar(
        select(func.coalesce(func.sum(Payout.provider_paid_fen), 0))
        .join(Award, Award.id == Payout.award_id).where(Award.campaign_id == campaign.id)
    ) or 0)  # fmt: skip
    mismatches = _payout_mismatches(campaign)
    counted = sum(out[k] for k in ("paid_fen", "pending_fen", "held_fen", "awaiting_user_fen"))
    if counted != campaign.spent:
        mismatches.insert(0, {"kind": "awarded_differs", "awarded_fen": campaign.spent,
                              "payouts_fen": counted})  # fmt: skip
    out["mismatches"] = mismatches
    return out


def _payout_mismatches(campaign: Campaign) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Payout).join(Award, Award.id == Payout.award_id)
        .where(Award.campaign_id == campaign.id, Payout.provider != SANDBOX,
               (Payout.status == S.paid) | Payout.provider_paid_fen.is_not(None)
               | Payout.provider_status.in_(CONFIRMED_PAID))
        .order_by(Payout.created_at)
    )  # fmt: skip
    out = []
    for p in rows:
        confirmed = p.provider_status in CONFIRMED_PAID
        why = None
        if p.status is S.paid and not confirmed:
            why = "paid here, not confirmed by the provider"
        elif confirmed and p.status is not S.paid:
            why = f"provider says paid, payout is {p.status.value}"
        elif p.provider_paid_fen is not None and p.provider_paid_fen != p.amount_fen:
            why = f"provider paid {p.provider_paid_fen} fen, payout is {p.amount_fen} fen"
        if why:
            out.append({"kind": "payout", "payout_id": str(p.id), "out_trade_no": p.out_trade_no,
                        "status": p.status.value, "provider_status": p.provider_status,
                        "reason": why})  # fmt: skip
    return out
