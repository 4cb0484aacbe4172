"""Channel reports: the funnel (produced → shipped → received → sold → scanned by a consumer),
a partner's stock, and dealers whose goods reach shoppers without channel scans.

Events are expanded to the units they held at the time through the hierarchy's links (no copy
per unit exists); counts are of distinct units.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import select, tuple_

from accounts.models import Brand
from anticounterfeit.models import CodeBatch, CodeState, Product
from channel import hierarchy
from channel.hierarchy import Unit
from channel.inputs import FunnelQuery
from channel.models import Aggregation, ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.partners import get_partner
from channel.refs import split_ref
from channel.steps import HELD, IN_TRANSIT, fold
from core.db import db

CHINA = timezone(timedelta(hours=8))
DEFAULT_DAYS = 30
METRICS = ("produced", "shipped", "received", "sold", "consumer_scanned")


def _children_at(brand_id: uuid.UUID, refs: Iterable[str]) -> dict[str, list[Aggregation]]:
    rows: dict[str, list[Aggregation]] = defaultdict(list)
    wanted = sorted(set(refs))
    for i in range(0, len(wanted), hierarchy.CHUNK):
        part = wanted[i : i + hierarchy.CHUNK]
        for row in db.session.scalars(
            select(Aggregation).where(
                Aggregation.brand_id == brand_id, Aggregation.parent_ref.in_(part)
            )
        ):
            rows[row.parent_ref].append(row)
    return rows


def _inside(row: Aggregation, at: datetime) -> bool:
    return row.packed_at <= at and (row.unpacked_at is None or at < row.unpacked_at)


def expand(brand_id: uuid.UUID, events: list[ChannelEvent]) -> dict[uuid.UUID, list[Unit]]:
    """The units each event applied to, as the hierarchy stood when it was recorded."""
    containers = [e.code_ref for e in events if e.code_level != "unit"]
    first = _children_at(brand_id, containers)
    second = _children_at(
        brand_id, [r.child_ref for rs in first.values() for r in rs if r.child_level != "unit"]
    )
    out: dict[uuid.UUID, list[Unit]] = {}
    for e in events:
        if e.code_level == "unit":
            key = split_ref(e.code_ref)
            assert key is not None and e.code_batch_id is not None
            out[e.id] = [Unit(e.code_ref, key[0], key[1], e.code_batch_id)]
            continue
        units: list[Unit] = []
        for row in first.get(e.code_ref, ()):
            if not _inside(row, e.created_at):
                continue
            if row.child_level == "unit":
                units.append(hierarchy._unit(row))
            units += [hierarchy._unit(r) for r in second.get(row.child_ref, ())
                      if r.child_level == "unit" and _inside(r, e.created_at)]  # fmt: skip
        out[e.id] = units
    return out


def _window(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = datetime.now(CHINA).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    lo = datetime.combine(start, time.min, CHINA).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, CHINA).astimezone(UTC)
    return lo, hi


def _scanned(units: Iterable[Unit]) -> set[str]:
    """Refs of the units a consumer has scanned (a code state exists once scanned)."""
    pairs = sorted({(u.code_key_id, u.serial) for u in units})
    found: set[str] = set()
    for i in range(0, len(pairs), 1000):
        part = pairs[i : i + 1000]
        rows = db.session.execute(
            select(CodeState.code_key_id, CodeState.serial).where(
                tuple_(CodeState.code_key_id, CodeState.serial).in_(part)
            )
        )
        found |= {f"{k}:{s}" for k, s in rows}
    return found


def _product_batches(brand: Brand, product_id: str | None) -> set[uuid.UUID] | None:
    if not product_id:
        return None
    try:
        pid = uuid.UUID(product_id)
    except ValueError:
        return set()
    return set(db.session.scalars(
        select(CodeBatch.id).where(CodeBatch.brand_id == brand.id, CodeBatch.product_id == pid)
    ))  # fmt: skip


def funnel(brand: Brand, query: FunnelQuery) -> list[dict[str, Any]]:
    """The channel funnel by partner or by the partner's province (distinct units)."""
    group_by, product_id = query.group_by, query.product_id
    lo, hi = _window(query.from_, query.to)
    events = list(db.session.scalars(
        select(ChannelEvent).where(
            ChannelEvent.brand_id == brand.id, ChannelEvent.created_at >= lo,
            ChannelEvent.created_at < hi,
        ).order_by(ChannelEvent.created_at)
    ))  # fmt: skip
    partners = {p.id: p for p in db.session.scalars(
        select(Partner).where(Partner.brand_id == brand.id))}  # fmt: skip
    batches = _product_batches(brand, product_id)
    units = expand(brand.id, events)
    sets: dict[str, dict[str, dict[str, Unit]]] = defaultdict(lambda: defaultdict(dict))
    for e in events:
        actor = partners[e.partner_id]
        key = str(actor.id) if group_by == "partner" else actor.province
        metric = {ChannelAction.ship: "shipped", ChannelAction.receive: "received",
                  ChannelAction.sell: "sold"}.get(e.action)  # fmt: skip
        for unit in units[e.id]:
            if batches is not None and unit.batch_id not in batches:
                continue
            if metric:
                sets[key][metric][unit.ref] = unit
            if e.action is ChannelAction.ship and actor.kind is PartnerKind.warehouse:
                sets[key]["produced"][unit.ref] = unit
    scanned = _scanned(u for g in sets.values() for m in g.values() for u in m.values())
    rows = []
    for key, metrics in sorted(sets.items()):
        reached = {**metrics["received"], **metrics["sold"], **metrics["shipped"]}
        row: dict[str, Any] = {"key": key}
        row.update({m: len(metrics[m]) for m in METRICS[:-1]})
        row["consumer_scanned"] = len(reached.keys() & scanned)
        if group_by == "partner":
            row["name"] = partners[uuid.UUID(key)].name
        rows.append(row)
    return rows


def _current(brand_id: uuid.UUID, units: list[Unit]) -> list[tuple[Unit, Any]]:
    """Each unit's present state (folded from every event that applied to it)."""
    refs = {u.ref for u in units}
    links = hierarchy.links_of(brand_id, refs)
    every = refs | {link.parent for ls in links.values() for link in ls}
    scope = hierarchy.Scope(hierarchy.Node("", "unit"), units, [], links,
                            hierarchy.events_on(brand_id, every))  # fmt: skip
    kinds = {p.id: p.kind for p in db.session.scalars(
        select(Partner).where(Partner.brand_id == brand_id))}  # fmt: skip
    return [(u, fold(scope.unit_events(u), kinds)) for u in units]


def _units_of(brand_id: uuid.UUID, events: list[ChannelEvent]) -> list[Unit]:
    found: dict[str, Unit] = {}
    for units in expand(brand_id, events).values():
        found.update({u.ref: u for u in units})
    return list(found.values())


def stock(brand: Brand, partner_id: str) -> dict[str, Any]:
    """Units the partner has received (or taken back) and not yet sold or shipped on."""
    partner = get_partner(brand, partner_id)
    events = list(db.session.scalars(select(ChannelEvent).where(
        ChannelEvent.brand_id == brand.id, ChannelEvent.partner_id == partner.id,
        ChannelEvent.action.in_([ChannelAction.receive, ChannelAction.return_]),
    )))  # fmt: skip
    held = [u for u, s in _current(brand.id, _units_of(brand.id, events))
            if s.status == HELD and s.partner_id == partner.id]  # fmt: skip
    by_batch: dict[uuid.UUID, int] = defaultdict(int)
    for unit in held:
        by_batch[unit.batch_id] += 1
    names = dict(db.session.execute(
        select(CodeBatch.id, Product.id).join(Product, CodeBatch.product_id == Product.id)
        .where(CodeBatch.id.in_(by_batch))
    ).all()) if by_batch else {}  # fmt: skip
    by_product: dict[uuid.UUID, int] = defaultdict(int)
    for batch_id, n in by_batch.items():
        by_product[names[batch_id]] += n
    return {
        "partner_id": str(partner.id), "units": len(held),
        "by_product": [{"product_id": str(p), "units": n} for p, n in sorted(by_product.items())],
    }  # fmt: skip


def channel_gaps(brand: Brand) -> list[dict[str, Any]]:
    """Dealers whose goods reached shoppers with no channel scan after the dealer's."""
    dealers = {p.id: p for p in db.session.scalars(select(Partner).where(
        Partner.brand_id == brand.id, Partner.kind == PartnerKind.dealer))}  # fmt: skip
    events = list(db.session.scalars(select(ChannelEvent).where(
        ChannelEvent.brand_id == brand.id, ChannelEvent.action == ChannelAction.ship,
        ChannelEvent.to_partner_id.in_(dealers),
    ))) if dealers else []  # fmt: skip
    shipped: dict[uuid.UUID, dict[str, Unit]] = defaultdict(dict)
    expanded = expand(brand.id, events)
    for e in events:
        assert e.to_partner_id is not None
        shipped[e.to_partner_id].update({u.ref: u for u in expanded[e.id]})
    everything = [u for us in shipped.values() for u in us.values()]
    states = {u.ref: s for u, s in _current(brand.id, everything)}
    scanned = _scanned(everything)
    rows = []
    for dealer_id, units in shipped.items():
        stuck = [r for r in units if r in scanned and states[r].partner_id == dealer_id
                 and states[r].status in (IN_TRANSIT, HELD)]  # fmt: skip
        if stuck:
            d = dealers[dealer_id]
            rows.append({"partner_id": str(d.id), "name": d.name, "province": d.province,
                         "city": d.city, "units_shipped": len(units),
                         "consumer_scanned_unscanned_in_channel": len(stuck)})  # fmt: skip
    return sorted(rows, key=lambda r: -r["consumer_scanned_unscanned_in_channel"])
