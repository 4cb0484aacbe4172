"""Campaigns of a brand: create, read, change (versioned), and move through their lifecycle.

Lifecycle: ``draft`` -> ``active`` <-> ``paused`` -> ``ended`` (``end`` from any status but
``ended``); anything else is 409 ``invalid_transition``. A draft's terms are edited in place;
changing a campaign that has been live creates a new version, and new prizes retire the old
tiers, so every recorded draw still names the terms and tier that decided it.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from accounts.models import Brand, StaffUser
from anticounterfeit.geo import region_names
from anticounterfeit.models import CodeBatch, Product
from campaigns import budget, simulation, terms
from campaigns.cache import campaigns_changed
from campaigns.errors import InvalidTerms, InvalidTransition, UnknownCampaign, UnknownTarget
from campaigns.inputs import CampaignInput
from campaigns.models import (
    Audience,
    Award,
    AwardStatus,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignVersion,
    Draw,
    DrawOutcome,
    PrizeTier,
)
from campaigns.payouts import service as payouts_service
from core import audit, txhooks
from core.audit import CLI, Actor
from core.broker import redis_client
from core.db import db, utcnow
from core.queries import get_for_brand, page
from profiles.segments.members import unknown_segment_ids

TRANSITIONS: dict[str, tuple[set[CampaignStatus], CampaignStatus]] = {
    "activate": ({CampaignStatus.draft, CampaignStatus.paused}, CampaignStatus.active),
    "pause": ({CampaignStatus.active}, CampaignStatus.paused),
    "end": (
        {CampaignStatus.draft, CampaignStatus.active, CampaignStatus.paused},
        CampaignStatus.ended,
    ),
}


def _check_targets(brand: Brand, t: terms.Terms) -> None:
    """Targeting may only name the brand's products and code batches, and real regions (422)."""
    errors: dict[str, list[str]] = {}
    for key, model in (("product_ids", Product), ("code_batch_ids", CodeBatch)):
        ids = getattr(t, key)
        wanted = set()
        for value in ids:
            try:
                wanted.add(uuid.UUID(value))
            except ValueError:
                errors.setdefault(key, []).append(f"{value!r} is not an id")
        if wanted:
            column: Any = model
            found = set(
                db.session.scalars(
                    select(column.id).where(column.id.in_(wanted), column.brand_id == brand.id)
                )
            )
            errors.setdefault(key, []).extend(
                f"unknown id {i}" for i in sorted(map(str, wanted - found))
            )
        if key in errors and not errors[key]:
            errors.pop(key)
    unknown = [r for r in t.regions if r not in region_names()]
    if unknown:
        errors["regions"] = [f"unknown region {r!r} (use full names, e.g. 上海市, 浙江省)"
                             for r in unknown]  # fmt: skip
    unknown_segments = unknown_segment_ids(brand.id, t.segment_ids)
    if unknown_segments:
        errors["segment_ids"] = [f"unknown segment {s!r}" for s in unknown_segments]
    if errors:
        raise UnknownTarget(errors={"targeting": errors})


def _apply(campaign: Campaign, t: terms.Terms) -> None:
    campaign.name, campaign.kind, campaign.budget = t.name, t.kind, t.budget
    campaign.starts_at, campaign.ends_at = t.starts_at, t.ends_at
    campaign.per_consumer_per_day = t.per_consumer_per_day
    campaign.per_consumer_total = t.per_consumer_total
    campaign.product_ids, campaign.code_batch_ids = list(t.product_ids), list(t.code_batch_ids)
    campaign.regions, campaign.new_consumers_only = list(t.regions), t.new_consumers_only
    campaign.points_valid_days = t.points_valid_days
    campaign.segment_ids = list(t.segment_ids)
    campaign.audience = Audience(t.audience)


def _add_tiers(campaign: Campaign, t: terms.Terms) -> None:
    for position, tier in enumerate(t.tiers):
        db.session.add(
            PrizeTier(
                brand_id=campaign.brand_id,
                campaign_id=campaign.id,
                version=campaign.version,
                position=position,
                min_amount=tier.min_amount,
                max_amount=tier.max_amount,
                probability_ppm=tier.probability_ppm,
                quantity=tier.quantity,
                awarded=0,
                retired=False,
            )  # fmt: skip
        )


def _snapshot(campaign: Campaign, t: terms.Terms, staff: StaffUser | None) -> None:
    db.session.add(
        CampaignVersion(
            brand_id=campaign.brand_id,
            campaign_id=campaign.id,
            version=campaign.version,
            terms=t.snapshot(),
            created_by=staff.id if staff else None,
        )  # fmt: skip
    )


def create_campaign(
    brand: Brand, body: CampaignInput, staff: StaffUser | None = None, *, actor: Actor = CLI
) -> Campaign:
    """A new draft campaign from the API body (validated terms; targets checked)."""
    t = terms.build(body)
    _check_targets(brand, t)
    campaign = Campaign(brand_id=brand.id, status=CampaignStatus.draft, spent=0, awards_count=0,
                        version=1)  # fmt: skip
    _apply(campaign, t)
    db.session.add(campaign)
    db.session.flush()
    _add_tiers(campaign, t)
    _snapshot(campaign, t, staff)
    audit.record(brand.id, actor, "campaign.create", f"campaign:{campaign.id}", _given(body))
    db.session.flush()
    db.session.refresh(campaign)
    return campaign


def _given(body: CampaignInput) -> dict[str, Any]:
    """What a create or update body set (for the audit log)."""
    values = dataclasses.asdict(body)
    return {k: v for k, v in values.items() if v is not None and k != "given"}


def get_campaign(brand: Brand, campaign_id: str | uuid.UUID) -> Campaign:
    """A campaign of ``brand`` (404 for another brand's)."""
    return get_for_brand(Campaign, campaign_id, brand.id, UnknownCampaign)


def list_campaigns(
    brand: Brand, number: int, size: int, status: CampaignStatus | None = None
) -> tuple[list[Campaign], int]:
    """The brand's campaigns, newest first."""
    query = select(Campaign).where(Campaign.brand_id == brand.id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return page(query.order_by(Campaign.created_at.desc(), Campaign.id.desc()), number, size)


def _lock(campaign: Campaign) -> Campaign:
    locked = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign.id).with_for_update()
        .execution_options(populate_existing=True)
    )  # fmt: skip
    assert locked is not None
    return locked


def update_campaign(
    brand: Brand, campaign_id: str, body: CampaignInput, staff: StaffUser | None = None,
    *, actor: Actor = CLI,
) -> Campaign:
    """Change a campaign's terms: in place for a draft, as a new version once it has been live."""
    campaign = _lock(get_campaign(brand, campaign_id))
    if campaign.status is CampaignStatus.ended:
        raise InvalidTransition("An ended campaign cannot change.")
    live = campaign.status is not CampaignStatus.draft
    if live and body.starts_at is not None:
        raise InvalidTerms("The start of a campaign that has run cannot move.", field="starts_at")
    t = terms.build(body, terms.of(campaign))
    _check_targets(brand, t)
    if t.budget < campaign.spent:
        raise InvalidTerms(
            f"is below what has already been awarded ({campaign.spent})",
            field=terms.budget_name(t.kind),
        )
    if body.prizes is not None:
        _retire_tiers(campaign, delete=not live)
    if live:
        campaign.version += 1
    else:
        db.session.execute(
            delete(CampaignVersion).where(CampaignVersion.campaign_id == campaign.id)
        )
    _apply(campaign, t)
    if body.prizes is not None:
        db.session.flush()
        _add_tiers(campaign, t)
    _snapshot(campaign, t, staff)
    audit.record(brand.id, actor, "campaign.update", f"campaign:{campaign.id}",
                 {**_given(body), "version": campaign.version})  # fmt: skip
    db.session.flush()
    db.session.refresh(campaign)
    if campaign.status is CampaignStatus.active:
        if body.prizes is not None:  # new prizes of a running campaign: as at activation
            payouts_service.check_prizes(brand, campaign)
        _reseed_after_commit(campaign)
    campaigns_changed(brand.id)
    return campaign


def _retire_tiers(campaign: Campaign, *, delete: bool) -> None:
    table: Any = PrizeTier.__table__
    where = (PrizeTier.campaign_id == campaign.id) & PrizeTier.retired.is_(False)
    if delete:
        db.session.execute(table.delete().where(where))
    else:
        db.session.execute(table.update().where(where).values(retired=True))


def _reseed_after_commit(campaign: Campaign) -> None:
    campaign_id, redis = campaign.id, redis_client()

    def reseed() -> None:
        with db.session_factory() as session:
            fresh = session.get(Campaign, campaign_id)
            if fresh is not None:
                budget.seed(redis, fresh, overwrite=True)

    txhooks.on_commit(db.session(), reseed)


def transition(brand: Brand, campaign_id: str, action: str, *, actor: Actor = CLI) -> Campaign:
    """``activate``, ``pause`` or ``end`` a campaign (409 ``invalid_transition`` if not allowed)."""
    campaign = _lock(get_campaign(brand, campaign_id))
    allowed, target = TRANSITIONS[action]
    if campaign.status not in allowed:
        raise InvalidTransition(
            f"Cannot {action} a campaign that is {campaign.status.value}.",
            status=campaign.status.value,
        )
    now = utcnow()
    if target is CampaignStatus.active and campaign.ends_at <= now:
        raise InvalidTransition("The campaign's end time has passed.", status=campaign.status.value)
    if target is CampaignStatus.active:
        payouts_service.check_prizes(brand, campaign)
    audit.record(brand.id, actor, f"campaign.{action}", f"campaign:{campaign.id}",
                 {"status": [campaign.status.value, target.value]})  # fmt: skip
    campaign.status = target
    if target is CampaignStatus.active:
        campaign.activated_at = campaign.activated_at or now
        _reseed_after_commit(campaign)
    if target is CampaignStatus.ended:
        campaign.ended_at = now
        redis = redis_client()
        txhooks.on_commit(db.session(), lambda: budget.forget(redis, campaign))
    campaigns_changed(brand.id)
    db.session.flush()
    return campaign


def list_awards(
    brand: Brand, number: int, size: int, *, campaign_id: str | None = None,
    status: AwardStatus | None = None,
) -> tuple[list[Award], int]:  # fmt: skip
    """The brand's awards, newest first, optionally of one campaign and/or status."""
    query = select(Award).where(Award.brand_id == brand.id)
    if campaign_id is not None:
        query = query.where(Award.campaign_id == get_campaign(brand, campaign_id).id)
    if status is not None:
        query = query.where(Award.status == status)
    return page(query.order_by(Award.created_at.desc(), Award.id.desc()), number, size)


def list_draws(
    brand: Brand, campaign_id: str, number: int, size: int, outcome: DrawOutcome | None = None
) -> tuple[list[Draw], int]:
    """A campaign's recorded draws, newest first (the audit trail of wins and losses)."""
    campaign = get_campaign(brand, campaign_id)
    query = select(Draw).where(Draw.campaign_id == campaign.id)
    if outcome is not None:
        query = query.where(Draw.outcome == outcome)
    return page(query.order_by(Draw.created_at.desc(), Draw.id.desc()), number, size)


def versions(brand: Brand, campaign_id: str) -> list[CampaignVersion]:
    """Every version of a campaign's terms, oldest first."""
    campaign = get_campaign(brand, campaign_id)
    rows = db.session.scalars(
        select(CampaignVersion)
        .where(CampaignVersion.campaign_id == campaign.id)
        .order_by(CampaignVersion.version)
    )
    return list(rows)


def simulate(
    brand: Brand, campaign_id: str, scans_per_day: int, start_date: date | None = None
) -> dict[str, Any]:
    """Forecast a campaign (draft or live) for ``scans_per_day`` eligible scans a day."""
    campaign = get_campaign(brand, campaign_id)
    start = max(start_date or utcnow().date(), campaign.starts_at.date())
    plan = simulation.Plan(
        tiers=terms.of(campaign).tiers, remaining_budget=campaign.remaining,
        tier_awarded=[t.awarded for t in campaign.tiers], start=start,
        end=campaign.ends_at.date(), draws_per_day=scans_per_day,
    )  # fmt: skip
    forecast = simulation.expect(plan)
    held, rejected = fraud_rates(brand, campaign.kind)
    adjusted = simulation.expect(simulation.without_share(plan, rejected))
    return {
        "scans_per_day": scans_per_day, "start_date": start, "end_date": plan.end,
        "unit": terms.UNIT[campaign.kind],
        **{k: getattr(forecast, k) for k in (
            "expected_spend_per_draw", "expected_winners_per_day", "expected_spend_per_day",
            "expected_total_spend", "expected_total_winners", "budget_exhausted_on", "days")},
        "tiers": [
            {"id": str(tier.id), "expected_winners": winners, "exhausted_on": exhausted}
            for tier, winners, exhausted in zip(
                campaign.tiers, forecast.tier_winners, forecast.tier_exhausted_on, strict=True)
        ],
        "fraud": {
            "held_rate": held, "rejected_rate": rejected,
            "expected_total_spend": adjusted.expected_total_spend,
            "expected_spend_per_day": adjusted.expected_spend_per_day,
            "budget_exhausted_on": adjusted.budget_exhausted_on,
        },
    }  # fmt: skip


FRAUD_WINDOW_DAYS = 30


def fraud_rates(brand: Brand, kind: CampaignKind) -> tuple[float, float]:
    """The shares of the brand's recent awards of this kind held for review and rejected by it."""
    since = utcnow() - timedelta(days=FRAUD_WINDOW_DAYS)
    total, held, rejected = db.session.execute(
        select(
            func.count(),
            func.count().filter(Award.status == AwardStatus.held),
            func.count().filter(Award.cancel_reason.like("fraud:%")),
        ).where(Award.brand_id == brand.id, Award.kind == kind, Award.created_at >= since)
    ).one()
    if not total:
        return 0.0, 0.0
    return round(held / total, 4), round(rejected / total, 4)


def cash_windows(brand_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[tuple[datetime, datetime]]]:
    """When each brand offered cash: the windows of its red packet campaigns ever activated."""
    rows = db.session.execute(
        select(Campaign.brand_id, Campaign.starts_at, Campaign.ends_at).where(
            Campaign.brand_id.in_(brand_ids),
            Campaign.kind == CampaignKind.red_packet,
            Campaign.status != CampaignStatus.draft,
        )
    )
    out: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for brand_id, start, end in rows:
        out.setdefault(brand_id, []).append((start, end))
    return out
