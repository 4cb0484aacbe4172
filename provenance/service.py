"""The story of a unit (API.md ``GET /api/v1/story/{code}``) and the lot lookups of queries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from accounts.models import Brand
from anticounterfeit.models import Product, ProductBatch
from core.db import db
from core.queries import parse_id
from provenance import texts
from provenance.errors import UnknownLot
from provenance.models import Event, EventLot, Lot, LotRole
from provenance.story import lot_for_unit, lot_story, parse_time
from provenance.unit import Resolved, lifecycle, resolve

NO_STORY = ("counterfeit", "revoked", "not_activated")


def _unit(resolved: Resolved, produced_at: str | None) -> dict[str, Any]:
    assert resolved.unit is not None
    entries = lifecycle(resolved.unit, resolved.state, parse_time(produced_at))
    return {
        "serial": str(resolved.unit.serial),
        "lifecycle": [
            {"stage": e.stage, "at": e.at.isoformat() if e.at else None, "place": e.place,
             "detail": e.detail}
            for e in entries
        ],
    }  # fmt: skip


def unit_story(raw: str, english: bool) -> dict[str, Any]:
    """The story of the unit a code names; for a code with no story, only its verdict."""
    resolved = resolve(raw)
    body: dict[str, Any] = {
        "verdict": resolved.verdict, "message": texts.verdict_text(resolved.why, english),
        "product": None, "lot": None, "steps": [], "co2e_kg_total": None, "co2e_method": None,
        "unit": None, "lang": "en" if english else "zh-CN",
    }  # fmt: skip
    if resolved.verdict in NO_STORY or resolved.unit is None:
        return body
    batch = resolved.unit.batch
    product = batch.product
    body["product"] = {"id": str(product.id), "name": product.name, "gtin": product.gtin}
    produced_at = None
    if batch.product_batch is not None:
        pb = batch.product_batch
        body["lot"] = {
            "lot": pb.lot, "production_date": pb.production_date.isoformat(),
            "expiry_date": pb.expiry_date.isoformat() if pb.expiry_date else None,
        }  # fmt: skip
        lot = lot_for_unit(batch.brand_id, product.gtin, pb.id, pb.lot)
        if lot is not None:
            story = lot_story(batch.brand_id, lot.id)
            body["lot"].update(story["lot"])
            body["steps"] = story["steps"]
            body["co2e_kg_total"] = story["co2e_kg_total"]
            body["co2e_method"] = story["co2e_method"]
            produced_at = story["produced_at"]
    body["unit"] = _unit(resolved, produced_at)
    return body


def has_story(brand_id: uuid.UUID, gtin: str, product_batch_id: uuid.UUID, lot: str) -> bool:
    """Whether a unit of this production lot has a journey to tell (one indexed query)."""
    found = lot_for_unit(brand_id, gtin, product_batch_id, lot)
    if found is None:
        return False
    named = select(EventLot.id).where(
        EventLot.lot_id == found.id, EventLot.role.in_((LotRole.output, LotRole.observed))
    )
    return db.session.scalar(named.limit(1)) is not None


def find_lot(brand: Brand, lot_id: str) -> Lot:
    """A lot by its provenance id, the id of a production lot, or its EPCIS class-level id."""
    if lot_id.startswith("https://"):
        parts = lot_id.rstrip("/").split("/")
        gtin, lot = (parts[-3], parts[-1]) if len(parts) >= 4 else ("", "")
        plain = gtin.isdigit() and len(gtin) <= 14 and lot.isprintable() and len(lot) <= 20
        if plain and parts[-4] == "01" and parts[-2] == "10":
            row = db.session.scalar(select(Lot).where(
                Lot.brand_id == brand.id, Lot.gtin == gtin, Lot.lot == lot))  # fmt: skip
            if row is not None:
                return row
        raise UnknownLot()
    key = parse_id(lot_id, UnknownLot)
    row = db.session.scalar(select(Lot).where(Lot.brand_id == brand.id, Lot.id == key))
    if row is None:
        row = _from_production_lot(brand, key)
    if row is None:
        raise UnknownLot()
    return row


def _from_production_lot(brand: Brand, key: uuid.UUID) -> Lot | None:
    pb = db.session.scalar(
        select(ProductBatch).where(ProductBatch.brand_id == brand.id, ProductBatch.id == key)
    )
    if pb is None:
        return None
    return lot_for_unit(brand.id, pb.product.gtin, pb.id, pb.lot)


def list_lots(brand: Brand, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the lots the brand's events name, latest event first, with their products."""
    stats = (
        select(EventLot.lot_id, func.count(func.distinct(EventLot.event_id)).label("events"),
               func.min(Event.event_time).label("first_at"),
               func.max(Event.event_time).label("last_at"))
        .join(Event, Event.id == EventLot.event_id)
        .where(EventLot.brand_id == brand.id)
        .group_by(EventLot.lot_id)
        .subquery()
    )  # fmt: skip
    query = (
        select(Lot, stats.c.events, stats.c.first_at, stats.c.last_at, Product.id, Product.name)
        .join(stats, stats.c.lot_id == Lot.id)
        .outerjoin(Product, (Product.gtin == Lot.gtin) & (Product.brand_id == brand.id))
        .where(Lot.brand_id == brand.id)
        .order_by(stats.c.last_at.desc(), Lot.id)
    )  # fmt: skip
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(page_size).offset((page - 1) * page_size)).all()
    return [_lot_row(*row) for row in rows], int(total or 0)


def _lot_row(lot: Lot, events: int, first_at: Any, last_at: Any, product_id: Any,
             product_name: str | None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": str(lot.id), "gtin": lot.gtin, "lot": lot.lot, "uri": lot.uri,
        "production_lot_id": str(lot.product_batch_id) if lot.product_batch_id else None,
        "product": {"id": str(product_id), "name": product_name} if product_id else None,
        "events": events, "first_at": first_at.isoformat(), "last_at": last_at.isoformat(),
    }  # fmt: skip


def lot_journey(brand: Brand, lot_id: str) -> dict[str, Any]:
    """A lot's story as the console shows it: the cached lot story and the lot's product."""
    lot = find_lot(brand, lot_id)
    story = lot_story(brand.id, lot.id)
    product = db.session.scalar(
        select(Product).where(Product.brand_id == brand.id, Product.gtin == lot.gtin)
    )
    return {
        **story,
        "product": {"id": str(product.id), "name": product.name, "gtin": product.gtin}
        if product else None,
    }  # fmt: skip
