"""The reports behind the console's charts, read from the rollups (never from ``scan_events``).

Consumer counts are published like every count of people a staff endpoint shows
(``profiles.segments.privacy``): below the brand's ``min_segment_size`` k (default 20, never
below 10) ``None``, otherwise rounded down to a multiple of k. So no chart singles out a handful
of people, and two reports (overlapping date ranges, a province and its cities, a report and a
segment) never differ by fewer than k people: differencing them isolates nobody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from accounts.models import Brand
from anticounterfeit.models import Product
from console.models import ConsumerDay, ScanRollup, ScanRollupDay
from console.rollups import CHINA
from core.db import db, utcnow
from profiles.segments.privacy import min_segment_size, published

GROUPS = ("day", "province", "city", "product", "verdict", "hour")
DEFAULT_DAYS = 30
AUTHENTIC = ("authentic", "authentic_repeat")


@dataclass(frozen=True)
class ReportQuery:
    """A report's range (China-time dates, inclusive) and grouping."""

    from_: date | None = None
    to: date | None = None
    group_by: str = "day"
    province: str | None = None  # drill into one province (its cities)
    #: Distinct consumers cost a scan of ``consumer_days`` over the range; charts of scans skip it.
    with_consumers: bool = True


def date_range(query: ReportQuery) -> tuple[date, date]:
    """The range asked for, or the last 30 days (China time)."""
    today = (utcnow() + CHINA).date()
    to = query.to or today
    return query.from_ or to - timedelta(days=DEFAULT_DAYS - 1), to


def _key(model: Any, group_by: str) -> Any:
    return {"day": model.day, "province": model.province, "city": model.city,
            "product": model.product_id, "verdict": getattr(model, "verdict", None),
            "hour": getattr(model, "hour", None)}[group_by]  # fmt: skip


def _scan_counts(brand: Brand, start: date, end: date, query: ReportQuery) -> list[Any]:
    # Hours only from the hourly rows; every other grouping from the daily ones (24x fewer).
    r: Any = ScanRollup if query.group_by == "hour" else ScanRollupDay
    key = _key(r, query.group_by)
    count = func.coalesce(func.sum(r.scans), 0)

    def verdicts(*names: str) -> Any:
        return func.coalesce(func.sum(r.scans).filter(r.verdict.in_(names)), 0)

    stmt = (
        select(key, count, verdicts(*AUTHENTIC), verdicts("suspect_copy"), verdicts("counterfeit"))
        .where(r.brand_id == brand.id, r.day >= start, r.day <= end)
        .group_by(key).order_by(key)
    )  # fmt: skip
    if query.province is not None:
        stmt = stmt.where(r.province == query.province)
    return list(db.session.execute(stmt))


def _consumer_counts(brand: Brand, start: date, end: date, query: ReportQuery) -> dict[Any, int]:
    if query.group_by in ("verdict", "hour") or not query.with_consumers:
        return {}
    key = _key(ConsumerDay, query.group_by)
    stmt = (
        select(key, func.count(func.distinct(ConsumerDay.consumer_id)))
        .where(ConsumerDay.brand_id == brand.id, ConsumerDay.day >= start, ConsumerDay.day <= end)
        .group_by(key)
    )  # fmt: skip
    if query.province is not None:
        stmt = stmt.where(ConsumerDay.province == query.province)
    return {k: int(n) for k, n in db.session.execute(stmt)}


def _label(brand: Brand, group_by: str, keys: list[Any]) -> dict[Any, str]:
    if group_by != "product":
        return {}
    ids = [k for k in keys if isinstance(k, uuid.UUID)]
    rows = db.session.execute(
        select(Product.id, Product.name).where(Product.brand_id == brand.id, Product.id.in_(ids))
    )
    return {product_id: name for product_id, name in rows}


def _key_text(key: Any) -> str:
    if isinstance(key, date):
        return key.isoformat()
    return "" if key is None else str(key)


def scans(brand: Brand, query: ReportQuery) -> list[dict[str, Any]]:
    """Scans by the chosen dimension: totals, consumers (suppressed when few) and verdicts."""
    start, end = date_range(query)
    rows = _scan_counts(brand, start, end, query)
    consumers = _consumer_counts(brand, start, end, query)
    labels = _label(brand, query.group_by, [r[0] for r in rows])
    threshold = min_segment_size(brand)
    report = []
    for key, total, authentic, suspect, counterfeit in rows:
        people = consumers.get(key)
        report.append({
            "key": _key_text(key),
            "label": labels.get(key),
            "scans": int(total), "consumers": published(people or 0, threshold),
            "authentic": int(authentic), "suspect_copy": int(suspect),
            "counterfeit": int(counterfeit),
        })  # fmt: skip
    return report


#: Spend per draw this much above the forecast's, over at least ``PACE_MIN_DRAWS`` draws: warn.
PACE_TOLERANCE = 1.2
PACE_MIN_DRAWS = 20
PACE_DAYS = 7


def _china_day(column: Any) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")


def _pace_forecast(brand: Brand, found: Any) -> tuple[int, int, dict[str, Any]]:
    """The campaign's draws and spend over the last ``PACE_DAYS`` days, and its forecast to the
    end date at that many draws a day."""
    from campaigns import service as campaigns
    from campaigns.models import Award, Draw
    from campaigns.models.award import RELEASED

    since = utcnow() - timedelta(days=PACE_DAYS)
    draws, spent = db.session.execute(
        select(func.count(Draw.id), func.coalesce(func.sum(Award.amount), 0))
        .select_from(Draw)
        .outerjoin(Award, (Award.draw_id == Draw.id) & Award.status.not_in(RELEASED))
        .where(Draw.campaign_id == found.id, Draw.created_at >= since)
    ).one()  # fmt: skip
    draws, spent = int(draws), int(spent)  # PostgreSQL sums are Decimal
    per_day = max(1, round(draws / PACE_DAYS))
    return draws, spent, campaigns.simulate(brand, str(found.id), per_day)


def campaign(brand: Brand, campaign_id: str) -> dict[str, Any]:
    """Spend by day, awards by tier and status, the forecast to the end date, and a warning when
    spend runs faster than the forecast said it would."""
    from campaigns import service as campaigns
    from campaigns.models import Award, Draw
    from campaigns.models.award import RELEASED

    found = campaigns.get_campaign(brand, campaign_id)
    day = _china_day(Award.created_at).label("day")
    spend = db.session.execute(
        select(day, func.sum(Award.amount), func.count())
        .where(Award.campaign_id == found.id, Award.status.not_in(RELEASED))
        .group_by(day).order_by(day)
    ).all()  # fmt: skip
    by_tier = db.session.execute(
        select(Draw.tier_id, Award.status, func.count(), func.sum(Award.amount))
        .join(Draw, Draw.id == Award.draw_id).where(Award.campaign_id == found.id)
        .group_by(Draw.tier_id, Award.status)
    ).all()  # fmt: skip
    draws, spent, forecast = _pace_forecast(brand, found)
    expected = forecast["expected_spend_per_draw"]
    actual = spent / draws if draws else 0.0
    warnings = []
    if draws >= PACE_MIN_DRAWS and expected and actual > PACE_TOLERANCE * expected:
        warnings.append({
            "reason": "spend_faster_than_forecast",
            "message": f"Spend per draw over the last {PACE_DAYS} days is {actual:.1f}, "
                       f"{actual / expected:.1f}x the forecast's {expected:.1f}.",
        })  # fmt: skip
    return {
        "campaign_id": str(found.id), "status": found.status.value, "budget": found.budget,
        "spent": found.spent, "unit": forecast["unit"],
        "spend_by_day": [
            {"day": str(d), "amount": int(a or 0), "awards": int(n)} for d, a, n in spend
        ],
        "awards": [{"tier_id": str(t) if t else None, "status": s.value, "count": int(n),
                    "amount": int(a or 0)} for t, s, n, a in by_tier],
        "pace": {"days": PACE_DAYS, "draws": int(draws), "spend_per_draw": round(actual, 2),
                 "forecast_spend_per_draw": expected},
        "forecast": {k: forecast[k] for k in (
            "scans_per_day", "end_date", "expected_total_spend", "expected_spend_per_day",
            "budget_exhausted_on", "fraud")},
        "warnings": warnings,
    }  # fmt: skip


def _live_campaign(brand: Brand, c: Any) -> dict[str, Any]:
    """A live campaign's spend, and what it will have spent by its end date at the last week's
    pace (never more than its budget)."""
    _, _, forecast = _pace_forecast(brand, c)
    at_end = min(c.budget, c.spent + round(forecast["expected_total_spend"]))
    exhausted = forecast["budget_exhausted_on"]
    return {
        "id": str(c.id), "name": c.name, "kind": c.kind.value, "status": c.status.value,
        "budget": c.budget, "spent": c.spent, "ends_at": c.ends_at.isoformat(),
        "forecast_at_end": at_end,
        "budget_exhausted_on": exhausted.isoformat() if exhausted else None,
    }  # fmt: skip


def overview(brand: Brand) -> dict[str, Any]:
    """The dashboard's tiles: payouts by status, open fraud cases, live campaigns' spend."""
    from campaigns.models import Campaign, CampaignStatus, Payout
    from fraud.models import CaseStatus, FraudCase

    payouts = db.session.execute(
        select(Payout.status, func.count(), func.sum(Payout.amount_fen))
        .where(Payout.brand_id == brand.id).group_by(Payout.status)
    ).all()  # fmt: skip
    open_cases = db.session.scalar(select(func.count()).select_from(FraudCase).where(
        FraudCase.brand_id == brand.id, FraudCase.status == CaseStatus.open))  # fmt: skip
    live = db.session.scalars(select(Campaign).where(
        Campaign.brand_id == brand.id,
        Campaign.status.in_([CampaignStatus.active, CampaignStatus.paused]),
    ).order_by(Campaign.created_at.desc()).limit(20)).all()  # fmt: skip
    return {
        "payouts": [{"status": s.value, "count": int(n), "amount_fen": int(a or 0)}
                    for s, n, a in payouts],
        "open_fraud_cases": int(open_cases or 0),
        "campaigns": [_live_campaign(brand, c) for c in live],
    }  # fmt: skip
