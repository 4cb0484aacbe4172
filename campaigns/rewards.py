"""Drawing a scan's rewards (step 4 of the scan, DESIGN.md).

For each active campaign of the brand that targets the scan, in a fixed order: draw with a secure
random value, reserve the win in Redis (``campaigns.budget``), then claim it in PostgreSQL with
guarded updates inside a savepoint — campaign budget, tier quantity, the consumer's limits — and
write the draw, the award and its payout (red packets) or ledger credit (points). The database
refusing releases the Redis reservation at once; the request's transaction rolling back releases
it too. Every draw, won or lost, is recorded with the version, tier and random value behind it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from campaigns import budget, draws, payouts, points
from campaigns.cache import CampaignInfo, TierInfo, campaign_cache
from campaigns.models import (
    Award,
    AwardStatus,
    Campaign,
    CampaignKind,
    ConsumerWins,
    Draw,
    DrawOutcome,
    PrizeTier,
)
from campaigns.payouts.schemas import public as public_payout
from core import txhooks
from core.broker import redis_client
from core.db import db, new_id

CHINA = timezone(timedelta(hours=8))
DEFAULT_POINTS_VALID_DAYS = 365


@dataclass(frozen=True)
class ScanFacts:
    """What a draw needs to know about the scan (given by the engagement layer)."""

    brand_id: uuid.UUID
    scan_id: uuid.UUID
    consumer_id: uuid.UUID
    code_key_id: uuid.UUID
    serial: int
    product_id: uuid.UUID
    code_batch_id: uuid.UUID
    province: str | None
    city: str | None
    at: datetime
    scene: int | None = None  # the mini-program's launch scene (camera scans: red packets)
    #: Consumer scans draw from consumer campaigns; channel scans from clerk/store/dealer ones.
    audience: str = "consumer"

    @property
    def code(self) -> str:
        """The code's identity in Redis keys."""
        return f"{self.code_key_id}:{self.serial}"

    @property
    def china_day(self) -> date:
        """The calendar day in China (per-day limits reset at local midnight)."""
        return self.at.astimezone(CHINA).date()


class Refused(Exception):
    """The database refused the win (the Redis pre-check was optimistic)."""

    def __init__(self, outcome: DrawOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def active_campaigns(brand_id: uuid.UUID, at: datetime) -> list[CampaignInfo]:
    """The brand's campaigns running at ``at``, in a fixed order (consistent lock order)."""
    return [c for c in campaign_cache().active(redis_client(), brand_id) if c.runs_at(at)]


def _is_new_consumer(facts: ScanFacts) -> bool:
    """True when the consumer has never drawn a prize from this brand before."""
    return not db.session.scalar(
        select(
            exists().where(Draw.brand_id == facts.brand_id, Draw.consumer_id == facts.consumer_id)
        )
    )


def _segments_of(facts: ScanFacts, campaigns: list[CampaignInfo]) -> frozenset[uuid.UUID]:
    """Which of the campaigns' segments the consumer is in (one indexed lookup; none asked,
    no query)."""
    wanted = frozenset().union(*(c.segment_ids for c in campaigns))
    if not wanted:
        return frozenset()
    from profiles.segments.members import memberships

    return memberships(facts.consumer_id, wanted)


def targets(
    campaign: CampaignInfo, facts: ScanFacts, is_new: bool | None,
    segments: frozenset[uuid.UUID] = frozenset(),
) -> bool:  # fmt: skip
    """Whether the campaign's targeting covers this scan (``is_new`` None: not asked;
    ``segments``: those of the campaign's segments the consumer is a member of)."""
    if campaign.segment_ids and not campaign.segment_ids & segments:
        return False
    if campaign.product_ids and str(facts.product_id) not in campaign.product_ids:
        return False
    if campaign.code_batch_ids and str(facts.code_batch_id) not in campaign.code_batch_ids:
        return False
    if campaign.regions and not {facts.province, facts.city} & set(campaign.regions):
        return False
    return not campaign.new_consumers_only or bool(is_new)


def draw_for_scan(facts: ScanFacts) -> list[Award]:
    """Draw from every active campaign that targets the scan; returns the awards won."""
    campaigns = [c for c in active_campaigns(facts.brand_id, facts.at)
                 if c.audience == facts.audience]  # fmt: skip
    if not campaigns:
        return []
    is_new = _is_new_consumer(facts) if any(c.new_consumers_only for c in campaigns) else None
    segments = _segments_of(facts, campaigns)
    awards = []
    for campaign in campaigns:
        if targets(campaign, facts, is_new, segments) and campaign.tiers:
            award = _draw(campaign, facts)
            if award is not None:
                awards.append(award)
    return awards


def _draw_row(campaign: CampaignInfo, facts: ScanFacts, pick: draws.Pick,
              outcome: DrawOutcome, tier: TierInfo | None) -> dict[str, Any]:  # fmt: skip
    return dict(
        id=new_id(), brand_id=facts.brand_id, campaign_id=campaign.id,
        campaign_version=campaign.version, scan_id=facts.scan_id,
        code_key_id=facts.code_key_id, serial=facts.serial, consumer_id=facts.consumer_id,
        random_ppm=pick.random_ppm, tier_id=tier.id if tier else None, amount=pick.amount,
        outcome=outcome, created_at=facts.at,
    )  # fmt: skip


def _record(campaign: CampaignInfo, facts: ScanFacts, pick: draws.Pick, outcome: DrawOutcome,
            tier: TierInfo | None = None) -> None:  # fmt: skip
    """Record a draw that won nothing; a code already drawn for the campaign keeps its draw.

    (A code's first logged-in scan can repeat if Redis lost its state; the draw stays unique.)
    """
    row = _draw_row(campaign, facts, pick, outcome, tier)
    db.session.execute(
        db.insert(Draw).values(**row)
        .on_conflict_do_nothing(index_elements=["campaign_id", "code_key_id", "serial"])
    )  # fmt: skip


def _draw(campaign: CampaignInfo, facts: ScanFacts) -> Award | None:
    pick = draws.choose(campaign.tiers)
    if pick.tier_index is None or pick.amount is None:
        _record(campaign, facts, pick, DrawOutcome.no_prize)
        return None
    tier = campaign.tiers[pick.tier_index]
    redis = redis_client()
    try:
        held = budget.reserve(
            redis, campaign, tier, amount=pick.amount, consumer_id=facts.consumer_id,
            day=facts.china_day, code=facts.code,
        )  # fmt: skip
    except budget.CodeAlreadyClaimed:
        return None  # this code's draw for the campaign is another request's
    if not isinstance(held, budget.Reservation):
        _record(campaign, facts, pick, held, tier)
        return None
    txhooks.on_rollback(db.session(), lambda: held.release(redis))
    try:
        with db.session.begin_nested():
            return _claim(campaign, tier, facts, pick)
    except Refused as refused:
        held.release(redis)
        _record(campaign, facts, pick, refused.outcome, tier)
    except IntegrityError:
        held.release(redis)  # the code already has its draw (unique): nothing to add
    return None


def _claim(campaign: CampaignInfo, tier: TierInfo, facts: ScanFacts, pick: draws.Pick) -> Award:
    """Take the win in the database (guarded updates) and write draw, award and payout/credit.

    The rows go first and the campaign's budget row last: every win of a campaign updates that
    one row, so its lock is taken as late as possible and held only until the commit.
    """
    amount = pick.amount
    assert amount is not None
    draw = Draw(**_draw_row(campaign, facts, pick, DrawOutcome.won, tier))
    award = Award(
        id=new_id(), brand_id=facts.brand_id, campaign_id=campaign.id, draw=draw,
        consumer_id=facts.consumer_id, kind=campaign.kind, amount=amount,
        status=AwardStatus.pending if campaign.kind is CampaignKind.red_packet
        else AwardStatus.credited,
        scan_id=facts.scan_id, code_key_id=facts.code_key_id, serial=facts.serial,
        created_at=facts.at, updated_at=facts.at,
    )  # fmt: skip
    db.session.add_all([draw, award])
    # Draw, award and payout go out in one flush; the payout is attached without a lazy load.
    payout = (
        payouts.create_payout(award, scene=facts.scene)
        if campaign.kind is CampaignKind.red_packet
        else None
    )
    db.session.flush()
    set_committed_value(award, "payout", payout)
    if not _count_win(campaign, facts):
        raise Refused(DrawOutcome.limit_reached)
    if not _take_tier(tier):
        raise Refused(DrawOutcome.tier_exhausted)
    if not _take_budget(campaign.id, amount):
        raise Refused(DrawOutcome.budget_exhausted)
    if payout is None:
        _credit_points(campaign, award, facts)
    return award


def _take_budget(campaign_id: uuid.UUID, amount: int) -> bool:
    row = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.spent + amount <= Campaign.budget)
        .values(spent=Campaign.spent + amount, awards_count=Campaign.awards_count + 1)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def _take_tier(tier: TierInfo) -> bool:
    guard = [PrizeTier.id == tier.id]
    if tier.quantity is not None:
        guard.append(PrizeTier.awarded < PrizeTier.quantity)
    row = db.session.execute(
        update(PrizeTier)
        .where(*guard)
        .values(awarded=PrizeTier.awarded + 1)
        .returning(PrizeTier.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def _count_win(campaign: CampaignInfo, facts: ScanFacts) -> bool:
    """Count the consumer's win; False when a limit is already reached.

    Wins are counted even without limits, so that limits added to a live campaign hold.
    """
    total_cap, day_cap = campaign.per_consumer_total, campaign.per_consumer_per_day
    day, w = facts.china_day, ConsumerWins
    guard: list[Any] = []
    if total_cap is not None:
        guard.append(w.total < total_cap)
    if day_cap is not None:
        guard.append((w.day != day) | (w.day_count < day_cap))
    stmt = db.insert(ConsumerWins).values(
        campaign_id=campaign.id, consumer_id=facts.consumer_id, total=1, day=day, day_count=1
    )
    row = db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["campaign_id", "consumer_id"],
            set_={
                "total": w.total + 1,
                "day_count": _day_count_after(day),
                "day": day,
            },
            where=and_(*guard) if guard else None,
        ).returning(w.total)
    ).first()
    return row is not None


def _day_count_after(day: date) -> Any:
    return case((ConsumerWins.day == day, ConsumerWins.day_count + 1), else_=1)


def _credit_points(campaign: CampaignInfo, award: Award, facts: ScanFacts) -> None:
    days = campaign.points_valid_days or DEFAULT_POINTS_VALID_DAYS
    points.credit(
        facts.brand_id, facts.consumer_id, award.amount, reason="campaign_award",
        expires_at=facts.at + timedelta(days=days),
        ref=points.Reference(campaign_id=campaign.id, award_id=award.id, scan_id=facts.scan_id),
    )  # fmt: skip


def reward_payload(award: Award) -> dict[str, Any]:
    """An award as the scan response and ``/me/awards`` show it (API.md)."""
    body: dict[str, Any] = {
        "award_id": str(award.id),
        "campaign_id": str(award.campaign_id),
        "kind": award.kind.value,
    }
    if award.kind is CampaignKind.red_packet:
        body["amount_fen"] = award.amount
        body["status"] = award.status.value
        payout = award.payout
        body["client_action"] = payout.client_action if payout is not None else None
        body["payout"] = public_payout(payout) if payout is not None else None
    else:
        body["points"] = award.amount
        body["status"] = award.status.value
    return body
