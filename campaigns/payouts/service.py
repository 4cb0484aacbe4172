"""What the API asks of payouts: lists, one payout with its history, retries, the shopper's
own award, and the provider-limit check at campaign activation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from accounts.models import Brand
from campaigns.errors import UnknownAward
from campaigns.models import (
    Award,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Payout,
    PayoutEvent,
    PayoutStatus,
)
from campaigns.payouts import config, out_trade_no, pay_award_job, states
from campaigns.payouts.errors import (
    BudgetExhausted,
    PayoutNotConfigured,
    PayoutNotRetryable,
    PrizeOutsideProviderLimits,
    UnknownPayout,
)
from core import audit
from core.audit import CLI, Actor
from core.db import db
from core.queries import get_for_brand, page, parse_id
from workers.job import enqueue_after_commit

S = PayoutStatus


def list_payouts(
    brand: Brand, number: int, size: int, *, status: str | None = None,
    campaign_id: str | None = None,
) -> tuple[list[Payout], int]:  # fmt: skip
    """The brand's payouts, newest first, optionally of one status and/or campaign."""
    query = select(Payout).where(Payout.brand_id == brand.id)
    if status:
        statuses = [S.pending, S.processing] if status == S.pending.value else [S(status)]
        query = query.where(Payout.status.in_(statuses))
    if campaign_id:
        key = parse_id(campaign_id, UnknownPayout)
        query = query.join(Award, Award.id == Payout.award_id).where(Award.campaign_id == key)
    return page(query.order_by(Payout.created_at.desc(), Payout.id.desc()), number, size)


def get_payout(brand: Brand, payout_id: str) -> Payout:
    """One of the brand's payouts (another brand's id: 404)."""
    return get_for_brand(Payout, payout_id, brand.id, UnknownPayout)


def events(payout: Payout) -> list[dict[str, Any]]:
    """The payout's history, oldest first: transitions and provider calls (API.md)."""
    rows = db.session.scalars(
        select(PayoutEvent).where(PayoutEvent.payout_id == payout.id)
        .order_by(PayoutEvent.at, PayoutEvent.id)
    )  # fmt: skip
    out = []
    for e in rows:
        item: dict[str, Any] = {"at": e.at.isoformat(), "kind": e.kind}
        if e.kind == "transition":
            item.update({"from": e.from_status, "to": e.to_status, "reason": e.reason})
        else:
            item.update({"call": e.call, "outcome": e.outcome, "error_code": e.error_code,
                         "reason": e.reason})  # fmt: skip
        out.append(item)
    return out


def retry(brand: Brand, payout_id: str, *, actor: Actor = CLI) -> Payout:
    """A failed payout goes back to pending under a new round (a new trade number)."""
    key = get_payout(brand, payout_id).id
    states.lock_for_release(key)  # campaign, tier, then award and payout: the one lock order
    payout = db.session.scalar(
        select(Payout).join(Award, Award.id == Payout.award_id).where(Payout.id == key)
        .with_for_update(of=(Award, Payout)).execution_options(populate_existing=True)
    )  # fmt: skip
    assert payout is not None
    if payout.status is not S.failed:
        raise PayoutNotRetryable(
            f"A {_shown(payout.status)} payout cannot be retried.", status=_shown(payout.status)
        )
    if not states.take_again(payout.award):
        raise BudgetExhausted()
    payout.round += 1
    payout.round_attempts = 0
    payout.out_trade_no = out_trade_no(payout.award_id, payout.round)
    payout.last_error = None
    payout.provider_status = None
    payout.expires_at = None
    payout.client_action = None
    states.move(payout, payout.award, S.pending, f"operator retry: round {payout.round}")
    audit.record(brand.id, actor, "payout.retry", f"payout:{payout.id}",
                 {"round": payout.round, "amount_fen": payout.amount_fen})  # fmt: skip
    enqueue_after_commit(pay_award_job(), str(payout.id), queue_name="payouts")
    db.session.flush()
    return payout


def _shown(status: PayoutStatus) -> str:
    return S.pending.value if status is S.processing else status.value


def my_award(consumer_id: uuid.UUID, award_id: str) -> Award:
    """One of the shopper's own awards (anyone else's: 404)."""
    award = db.session.scalar(select(Award).where(
        Award.id == parse_id(award_id, UnknownAward), Award.consumer_id == consumer_id
    ))  # fmt: skip
    if award is None:
        raise UnknownAward()
    return award


def _check_configured(brand: Brand, provider: str, running: str | None) -> None:
    unset = [config.BRAND_FIELDS[name] for name in config.merchant_for(brand).unset(provider)]
    if unset:
        what = f"the running campaign '{running}'" if running else "a red packet campaign"
        raise PayoutNotConfigured(
            f"{provider} needs {', '.join(unset)} (brand settings, or the deployment's WECHAT_* "
            f"defaults) to pay {what}.", errors={name: [f"{provider} needs it."] for name in unset},
        )  # fmt: skip


def check_running_prizes(brand_id: uuid.UUID) -> None:
    """After a brand update (``accounts.service.on_brand_updated``): refuse it (422, the
    update's transaction rolls back) when the brand's provider, perhaps just changed, cannot pay
    the prizes of one of its running red packet campaigns, or is left without a setting it
    needs (``check_prizes``); activation checks the others."""
    brand = db.session.get(Brand, brand_id)
    assert brand is not None
    running = db.session.scalars(select(Campaign).where(
        Campaign.brand_id == brand_id, Campaign.status == CampaignStatus.active,
        Campaign.kind == CampaignKind.red_packet,
    ).order_by(Campaign.created_at)).all()  # fmt: skip
    for campaign in running:
        check_prizes(brand, campaign, running=True)


def check_prizes(brand: Brand, campaign: Campaign, *, running: bool = False) -> None:
    """Refuse (422) a red packet campaign whose prizes the brand's provider cannot pay: outside
    its limits, or the provider not configured (its settings unset, the brand's and the
    ``WECHAT_*`` defaults alike): every win's payout would fail."""
    if campaign.kind is not CampaignKind.red_packet:
        return
    provider = config.provider_for(brand)
    ranges = [(t.min_amount, t.max_amount) for t in campaign.tiers if not t.retired]
    bad = config.outside_limits(provider, ranges)
    if bad:
        low, high = config.LIMITS[provider]
        where = f"running campaign '{campaign.name}' has prizes of " if running else "prizes of "
        raise PrizeOutsideProviderLimits(
            f"{provider} pays {low} to {high} fen per red packet; {where}"
            + ", ".join(f"{a}-{b}" for a, b in bad) + " fen, outside that.",
            provider=provider, min_fen=low, max_fen=high,
        )  # fmt: skip
    _check_configured(brand, provider, campaign.name if running else None)
