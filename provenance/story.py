"""The story of a lot (built once, cached until the brand's events change) and of a unit.

A lot's journey is every event that created or handled it, and, for each transformation among
them, the journeys of its inputs, recursively. The lot story holds the steps in time order with
their party, place, certifications, photos, claims (verified or not) and carbon, and the lot's
carbon per unit with how it was computed. A unit's story adds only the unit's own facts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from anticounterfeit.models import CodeBatch
from core.broker import redis_client
from core.db import db
from provenance import carbon
from provenance import claims as claimsig
from provenance.models import Event, EventLot, Lot, LotRole, Party
from provenance.story_cache import story_cache

COUNTING_UNITS = (None, "", "EA", "H87", "C62")
CBV_PREFIX = "https://ref.gs1.org/cbv/BizStep-"


def journey_events(brand_id: uuid.UUID, lot_id: uuid.UUID) -> list[Event]:
    """Every event of a lot's journey (upstream included), oldest first."""
    seen_lots, frontier, event_ids = {lot_id}, {lot_id}, set[uuid.UUID]()
    while frontier:
        found = set(db.session.scalars(
            select(EventLot.event_id).where(
                EventLot.brand_id == brand_id, EventLot.lot_id.in_(frontier),
                EventLot.role.in_((LotRole.output, LotRole.observed)),
            )
        )) - event_ids  # fmt: skip
        event_ids |= found
        inputs = set(db.session.scalars(
            select(EventLot.lot_id).where(
                EventLot.event_id.in_(found), EventLot.role == LotRole.input
            )
        )) if found else set()  # fmt: skip
        frontier = inputs - seen_lots
        seen_lots |= frontier
    if not event_ids:
        return []
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.id.in_(event_ids))
            .options(selectinload(Event.lots), selectinload(Event.claims))
            .order_by(Event.event_time, Event.id)
        ).unique()
    )


def party_json(party: Party) -> dict[str, Any]:
    """A party as stories show it."""
    return {
        "name": party.name,
        "role": party.role.value,
        "location": {
            "name": party.location_name, "lat": party.lat, "lng": party.lng,
            "country": party.country, "province": party.province, "city": party.city,
        },
    }  # fmt: skip


def biz_step_name(biz_step: str | None) -> str | None:
    """The CBV business step's bare name (``shipping``), or the URI of a custom one."""
    if biz_step and biz_step.startswith(CBV_PREFIX):
        return biz_step[len(CBV_PREFIX) :]
    if biz_step and biz_step.startswith("urn:epcglobal:cbv:bizstep:"):
        return biz_step.rsplit(":", 1)[1]
    return biz_step


def _claims(event: Event) -> list[dict[str, Any]]:
    out = []
    for c in event.claims:
        key = c.party.public_key if c.party else None
        text = claimsig.ClaimText(c.statement, c.party_ref, c.issued_at)
        out.append({
            "statement": c.statement,
            "party": {"name": c.party.name, "role": c.party.role.value} if c.party else None,
            "party_ref": c.party_ref,
            "issued_at": c.issued_at,
            "verified": claimsig.verify(text, c.signature, key),
        })  # fmt: skip
    return out


def _step(event: Event, share: float, per_unit_kg: float | None) -> dict[str, Any]:
    return {
        "event_id": event.event_uri,
        "at": event.event_time.isoformat(),
        "party": party_json(event.party),
        "biz_step": biz_step_name(event.biz_step),
        "kind": event.kind,
        "description": event.description,
        "co2e_kg": event.co2e_kg,
        "co2e_share": round(share, 9),
        "co2e_kg_per_unit": None if per_unit_kg is None else round(per_unit_kg, 6),
        "water_l": event.water_l,
        "certifications": list(event.certifications or []),
        "photos": list(event.photos or []),
        "claims": _claims(event),
        "lots": [
            {
                "lot": el.lot.lot,
                "gtin": el.lot.gtin,
                "role": el.role.value,
                "quantity": el.quantity,
                "uom": el.uom,
            }
            for el in event.lots
        ],  # fmt: skip
    }


def _units_in_lot(lot: Lot, steps: list[carbon.Step], events: list[Event]) -> tuple[float, str]:
    """How many units share the lot's footprint, and where that number comes from."""
    uoms = {
        el.uom for e in events for el in e.lots if el.lot_id == lot.id and el.role != LotRole.input
    }
    produced = carbon.produced_quantity(steps, lot.id)
    if produced > 0 and uoms <= set(COUNTING_UNITS):
        return produced, "lot_quantity"
    if lot.product_batch_id is not None:
        printed = db.session.scalar(
            select(func.sum(CodeBatch.quantity)).where(
                CodeBatch.product_batch_id == lot.product_batch_id
            )
        )
        if printed:
            return float(printed), "printed_codes"
    return 0.0, "unknown"


def _co2e(lot: Lot, events: list[Event]) -> tuple[dict[str, Any], carbon.Allocation, float]:
    steps = [
        carbon.Step(e.id, e.co2e_kg, tuple(carbon.Flow(el.lot_id, el.quantity, el.role.value)
                                           for el in e.lots))
        for e in events
    ]  # fmt: skip
    allocation = carbon.allocate(steps, lot.id)
    units, source = _units_in_lot(lot, steps, events)
    method = {
        "rule": carbon.METHOD,
        "lot_co2e_kg": round(allocation.lot_kg, 6),
        "units_in_lot": units or None,
        "units_from": source,
        "steps_with_data": sum(1 for e in events if e.co2e_kg is not None),
        "steps_without_data": sum(1 for e in events if e.co2e_kg is None),
    }
    return method, allocation, units


def build_lot_story(brand_id: uuid.UUID, lot_id: uuid.UUID) -> dict[str, Any]:
    """A lot's story from the database (see ``lot_story`` for the cached one)."""
    lot = db.session.get(Lot, lot_id)
    assert lot is not None and lot.brand_id == brand_id
    events = journey_events(brand_id, lot_id)
    method, allocation, units = _co2e(lot, events)
    steps = []
    for e in events:
        share = allocation.fractions[e.id]
        per_unit = (
            allocation.contributions[e.id] / units if units and e.co2e_kg is not None else None
        )
        steps.append(_step(e, share, per_unit))
    produced = [
        e.event_time for e in events
        if any(el.lot_id == lot.id and el.role == LotRole.output for el in e.lots)
    ]  # fmt: skip
    return {
        "lot": {"id": str(lot.id), "gtin": lot.gtin, "lot": lot.lot, "uri": lot.uri},
        "steps": steps,
        "co2e_kg_total": round(allocation.lot_kg / units, 6) if units else None,
        "co2e_method": method,
        "produced_at": min(produced).isoformat() if produced else None,
    }


def lot_story(brand_id: uuid.UUID, lot_id: uuid.UUID) -> dict[str, Any]:
    """A lot's story, from this process's cache while the brand's provenance is unchanged."""
    story: dict[str, Any] = story_cache().get(  # type: ignore[assignment]
        redis_client(), brand_id, lot_id, lambda: build_lot_story(brand_id, lot_id)
    )
    return story


def lot_for_unit(
    brand_id: uuid.UUID, gtin: str, product_batch_id: uuid.UUID, lot: str
) -> Lot | None:
    """The provenance lot of a unit's production lot, if events name it."""
    return db.session.scalar(
        select(Lot)
        .where(Lot.brand_id == brand_id,
               (Lot.product_batch_id == product_batch_id) | ((Lot.gtin == gtin) & (Lot.lot == lot)))
        .order_by(Lot.product_batch_id.is_(None))
        .limit(1)
    )  # fmt: skip


def parse_time(text: str | None) -> datetime | None:
    """An ISO timestamp of a story back to a datetime."""
    return datetime.fromisoformat(text) if text else None
