"""Channel reports: the funnel (produced → shipped → received → sold → scanned by a consumer),
a partner's stock, and dealers whose goods reach shoppers without channel scans.

All three are SQL aggregates over sets (``channel.unitsets``): each event is expanded to the
units it held at the time through the hierarchy's links, in the database (no copy per unit
exists and none is made in Python); a unit's present state is its last event's; counts are of
distinct units. ``tests/channel/test_reports.py`` runs them on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import CTE, and_, case, distinct, false, func, or_, select

from accounts.models import Brand
from anticounterfeit.models import CodeBatch, CodeState
from channel import unitsets
from channel.inputs import FunnelQuery
from channel.models import ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.partners import get_partner
from core.db import db

CHINA = timezone(timedelta(hours=8))
DEFAULT_DAYS = 30
METRICS = ("produced", "shipped", "received", "sold", "consumer_scanned")
EV = ChannelEvent.__table__
PARTNERS = Partner.__table__
STATES = CodeState.__table__
BATCHES = CodeBatch.__table__
_EVENT_COLUMNS = ("id", "code_ref", "code_level", "code_batch_id", "created_at")


def _window(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = datetime.now(CHINA).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    lo = datetime.combine(start, time.min, CHINA).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, CHINA).astimezone(UTC)
    return lo, hi


def _product(product_id: str | None) -> tuple[bool, uuid.UUID | None]:
    """(filter?, the product): an id that is no UUID matches nothing."""
    if not product_id:
        return False, None
    try:
        return True, uuid.UUID(product_id)
    except ValueError:
        return True, None


def _count(condition: Any, ref: Any) -> Any:
    return func.count(distinct(case((condition, ref))))


def funnel(brand: Brand, query: FunnelQuery) -> list[dict[str, Any]]:
    """The channel funnel by partner or by the partner's province (distinct units), in SQL."""
    lo, hi = _window(query.from_, query.to)
    events = select(*(EV.c[c] for c in _EVENT_COLUMNS)).where(
        EV.c.brand_id == brand.id, EV.c.created_at >= lo, EV.c.created_at < hi,
        EV.c.action.in_([ChannelAction.ship, ChannelAction.receive, ChannelAction.sell]),
    ).subquery("window_events")  # fmt: skip
    units = unitsets.covered(events)
    key = PARTNERS.c.id if query.group_by == "partner" else PARTNERS.c.province
    action, ref = EV.c.action, units.c.ref
    moved = action.in_([ChannelAction.ship, ChannelAction.receive, ChannelAction.sell])
    stmt = (
        select(
            key, func.min(PARTNERS.c.name),
            _count(and_(action == ChannelAction.ship, PARTNERS.c.kind == PartnerKind.warehouse),
                   ref),
            _count(action == ChannelAction.ship, ref),
            _count(action == ChannelAction.receive, ref),
            _count(action == ChannelAction.sell, ref),
            _count(and_(moved, STATES.c.id.is_not(None)), ref),
        )
        .select_from(units)
        .join(EV, EV.c.id == units.c.event_id)
        .join(PARTNERS, PARTNERS.c.id == EV.c.partner_id)
        .outerjoin(STATES, and_(STATES.c.code_key_id == units.c.key_id,
                                STATES.c.serial == units.c.serial))
        .group_by(key)
    )  # fmt: skip
    filtered, product = _product(query.product_id)
    if filtered:
        stmt = stmt.join(BATCHES, BATCHES.c.id == units.c.batch_id).where(
            BATCHES.c.product_id == product if product else false()
        )
    rows = []
    for key_value, name, *counts in db.session.execute(stmt, {"brand_id": brand.id}):
        row: dict[str, Any] = {"key": str(key_value), **dict(zip(METRICS, counts, strict=True))}
        if query.group_by == "partner":
            row["name"] = name
        rows.append(row)
    return sorted(rows, key=lambda r: r["key"])


def _distinct_units(events: Any) -> CTE:
    covered = unitsets.covered(events)
    return (
        select(covered.c.ref, covered.c.batch_id, covered.c.key_id, covered.c.serial)
        .distinct()
        .cte("units")
    )


def stock(brand: Brand, partner_id: str) -> dict[str, Any]:
    """Units the partner has received (or taken back) and not yet sold or shipped on: those
    whose last event is the partner's receipt or return, counted by product in SQL."""
    partner = get_partner(brand, partner_id)
    events = select(*(EV.c[c] for c in _EVENT_COLUMNS)).where(
        EV.c.brand_id == brand.id, EV.c.partner_id == partner.id,
        EV.c.action.in_([ChannelAction.receive, ChannelAction.return_]),
    ).subquery("partner_events")  # fmt: skip
    units = _distinct_units(events)
    last = unitsets.last_events(units)
    rows = db.session.execute(
        select(BATCHES.c.product_id, func.count())
        .select_from(units)
        .join(last, last.c.unit_ref == units.c.ref)
        .join(BATCHES, BATCHES.c.id == units.c.batch_id)
        .where(last.c.action.in_([ChannelAction.receive, ChannelAction.return_]),
               last.c.partner_id == partner.id)
        .group_by(BATCHES.c.product_id),
        {"brand_id": brand.id},
    ).all()  # fmt: skip
    by_product = sorted((str(p), n) for p, n in rows)
    return {
        "partner_id": str(partner.id), "units": sum(n for _, n in by_product),
        "by_product": [{"product_id": p, "units": n} for p, n in by_product],
    }  # fmt: skip


def channel_gaps(brand: Brand) -> list[dict[str, Any]]:
    """Dealers whose goods reached shoppers with no channel scan after the dealer's: units
    shipped to the dealer, still in transit to it or held by it, that a consumer scanned."""
    dealers = select(PARTNERS.c.id).where(
        PARTNERS.c.brand_id == brand.id, PARTNERS.c.kind == PartnerKind.dealer
    )
    ships = select(*(EV.c[c] for c in _EVENT_COLUMNS), EV.c.to_partner_id).where(
        EV.c.brand_id == brand.id, EV.c.action == ChannelAction.ship,
        EV.c.to_partner_id.in_(dealers),
    ).subquery("dealer_ships")  # fmt: skip
    covered = unitsets.covered(ships)
    shipped = (
        select(ships.c.to_partner_id.label("dealer_id"), covered.c.ref, covered.c.batch_id,
               covered.c.key_id, covered.c.serial)
        .join(ships, ships.c.id == covered.c.event_id)
        .distinct()
        .cte("shipped")
    )  # fmt: skip
    units = select(shipped.c.ref, shipped.c.batch_id, shipped.c.key_id,
                   shipped.c.serial).distinct().cte("units")  # fmt: skip
    last = unitsets.last_events(units)
    with_dealer = or_(
        and_(last.c.action == ChannelAction.ship, last.c.to_partner_id == shipped.c.dealer_id),
        and_(last.c.action.in_([ChannelAction.receive, ChannelAction.return_]),
             last.c.partner_id == shipped.c.dealer_id),
    )  # fmt: skip
    stuck = and_(with_dealer, STATES.c.id.is_not(None))
    rows = db.session.execute(
        select(PARTNERS.c.id, PARTNERS.c.name, PARTNERS.c.province, PARTNERS.c.city,
               func.count(distinct(shipped.c.ref)), _count(stuck, shipped.c.ref))
        .select_from(shipped)
        .join(PARTNERS, PARTNERS.c.id == shipped.c.dealer_id)
        .outerjoin(last, last.c.unit_ref == shipped.c.ref)
        .outerjoin(STATES, and_(STATES.c.code_key_id == shipped.c.key_id,
                                STATES.c.serial == shipped.c.serial))
        .group_by(PARTNERS.c.id, PARTNERS.c.name, PARTNERS.c.province, PARTNERS.c.city),
        {"brand_id": brand.id},
    )  # fmt: skip
    out = [
        {"partner_id": str(pid), "name": name, "province": province, "city": city,
         "units_shipped": n, "consumer_scanned_unscanned_in_channel": gap}
        for pid, name, province, city, n, gap in rows if gap
    ]  # fmt: skip
    return sorted(out, key=lambda r: (-r["consumer_scanned_unscanned_in_channel"], r["name"]))
