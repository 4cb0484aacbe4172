"""A unit's channel history, for other packages (the story page's lifecycle, verdict facts).

``unit_channel_history(brand_id, code_key_id, serial)`` lists, oldest first, when the unit was
packed into a case or pallet (and unpacked), and every channel step that applied to it, whether
the clerk scanned the unit itself or a case or pallet holding it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from channel import hierarchy
from channel.models import ChannelAction, Partner
from channel.steps import UnitState, fold
from core.db import db

STEP_NAMES = {
    ChannelAction.ship: "shipped", ChannelAction.receive: "received",
    ChannelAction.sell: "sold", ChannelAction.return_: "returned",
    ChannelAction.recycle: "recycled",
}  # fmt: skip


def _partner(p: Partner | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"id": str(p.id), "name": p.name, "kind": p.kind.value, "province": p.province,
            "city": p.city}  # fmt: skip


def _partners(brand_id: uuid.UUID, ids: set[uuid.UUID]) -> dict[uuid.UUID, Partner]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Partner).where(Partner.brand_id == brand_id,
                                                    Partner.id.in_(ids)))  # fmt: skip
    return {p.id: p for p in rows}


def unit_channel_history(
    brand_id: uuid.UUID, code_key_id: uuid.UUID, serial: int
) -> list[dict[str, Any]]:
    """The unit's packing and channel steps, oldest first (JSON-ready dicts).

    Each step: ``{"step": "packed|unpacked|shipped|received|sold|returned|recycled", "at",
    ...}``; channel steps add ``event_id``, ``action``, ``partner``, ``to_partner``, ``via``
    (the level scanned: unit, case or pallet), ``province`` and ``city``.
    """
    scope = hierarchy.unit_scope(brand_id, code_key_id, serial)
    unit = scope.units[0]
    steps: list[dict[str, Any]] = []
    for link in scope.links.get(unit.ref, ()):
        at = link.packed_at.isoformat()
        steps.append({"step": "packed", "at": at, "into": link.parent_level})
        if link.unpacked_at is not None:
            steps.append({"step": "unpacked", "at": link.unpacked_at.isoformat(),
                          "from": link.parent_level})  # fmt: skip
    events = scope.unit_events(unit)
    ids = {e.partner_id for e in events} | {e.to_partner_id for e in events if e.to_partner_id}
    partners = _partners(brand_id, ids)
    for e in events:
        steps.append({
            "step": STEP_NAMES[e.action], "at": e.created_at.isoformat(), "event_id": str(e.id),
            "action": e.action.value, "partner": _partner(partners.get(e.partner_id)),
            "to_partner": _partner(partners.get(e.to_partner_id)) if e.to_partner_id else None,
            "via": e.code_level, "province": e.province, "city": e.city,
        })  # fmt: skip
    steps.sort(key=lambda s: s["at"])
    return steps


def unit_channel_state(brand_id: uuid.UUID, code_key_id: uuid.UUID, serial: int) -> UnitState:
    """Where the unit is in the channel now (status, holder, last shipment to a dealer)."""
    scope = hierarchy.unit_scope(brand_id, code_key_id, serial)
    events = scope.unit_events(scope.units[0])
    ids = {e.partner_id for e in events} | {e.to_partner_id for e in events if e.to_partner_id}
    kinds = {pid: p.kind for pid, p in _partners(brand_id, ids).items()}
    return fold(events, kinds)
