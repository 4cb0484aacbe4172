"""Diversion (串货): goods shipped to a dealer surfacing outside the dealer's territory.

A store receiving a unit, or a consumer scanning it, in a city that the territory of the dealer
it was last shipped to does not cover, opens a fraud case of kind ``diversion`` naming the
dealer, the shipment and the place. The case's subject is the shipment
(``dealer:{id}:shipment:{id}``): a diverted pallet is one case whose signals list each place and
unit it surfaced at. Store receipts are checked in the scan's request; consumer scans by a job
fed by the write-behind flusher (``channel.jobs``), never on the consumer's scan path.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from channel import unitsets
from channel.hierarchy import Unit
from channel.models import ChannelEvent, Partner, PartnerKind
from channel.steps import UnitState
from core.db import db
from fraud.cases import open_case_for, open_external

RULE = "diversion"
SCORE = 100.0
KIND = "diversion"
MAX_SIGNALS = 200  # the evidence of a flood, not all of it


def outside(dealer: Partner, province: str | None, city: str | None) -> bool:
    """Whether a place is outside the dealer's territory (no territory: anywhere goes)."""
    if not dealer.territory or (province is None and city is None):
        return False
    return not {province, city} & set(dealer.territory)


def _open(
    brand_id: uuid.UUID, dealer: Partner, shipment: ChannelEvent, province: str | None,
    city: str | None, seen: list[dict[str, Any]],
) -> None:  # fmt: skip
    evidence_base = {
        "dealer_id": str(dealer.id), "dealer_name": dealer.name,
        "territory": list(dealer.territory), "shipment_event_id": str(shipment.id),
        "shipped_at": shipment.created_at.isoformat(), "province": province, "city": city,
    }  # fmt: skip
    subject = f"dealer:{dealer.id}:shipment:{shipment.id}"
    case = open_case_for(brand_id, KIND, subject)
    if case is not None:
        known = {s.get("evidence", {}).get("scan_id") for s in case.signals} - {None}
        seen = [s for s in seen if s.get("scan_id") not in known]  # a job run twice
        if not seen or len(case.signals) >= MAX_SIGNALS:
            return
    signals = [{"rule": RULE, "score": SCORE, "evidence": {**evidence_base, **s}} for s in seen]
    open_external(brand_id, KIND, subject, signals, SCORE)


def check_receive(brand_id: uuid.UUID, event: ChannelEvent, units: unitsets.Units) -> int:
    """Open cases for units a store received outside their dealer's territory; how many units.

    Costs one query of the brand's dealers when none of them excludes the place (the usual
    case), and one grouped query of the units' last shipments to a dealer otherwise.
    """
    dealers = {p.id: p for p in db.session.scalars(select(Partner).where(
        Partner.brand_id == brand_id, Partner.kind == PartnerKind.dealer))}  # fmt: skip
    if not any(outside(d, event.province, event.city) for d in dealers.values()):
        return 0
    groups: dict[uuid.UUID, list[int]] = defaultdict(list)
    for ship_id, dealer_id, serial in unitsets.dealer_shipments(units, list(dealers)):
        if outside(dealers[dealer_id], event.province, event.city):
            groups[ship_id].append(serial)
    shipments = {e.id: e for e in db.session.scalars(
        select(ChannelEvent).where(ChannelEvent.id.in_(groups)))} if groups else {}  # fmt: skip
    for ship_id, serials in groups.items():
        ship = shipments[ship_id]
        assert ship.to_partner_id is not None
        seen = {
            "surfaced": "store_receive", "receive_event_id": str(event.id),
            "store_id": str(event.partner_id), "units": len(serials),
            "serials": [str(s) for s in serials[:50]],
        }  # fmt: skip
        _open(brand_id, dealers[ship.to_partner_id], ship, event.province, event.city, [seen])
    return sum(len(s) for s in groups.values())


def check_consumer_scan(
    brand_id: uuid.UUID,
    unit: Unit,
    state: UnitState,
    partners: dict[uuid.UUID, Partner],
    scan: dict[str, Any],
) -> bool:
    """Open (or add to) a case when a consumer scanned a unit outside its dealer's territory."""
    ship = state.dealer_ship
    dealer = partners.get(ship.to_partner_id) if ship and ship.to_partner_id else None
    if ship is None or dealer is None or not outside(dealer, scan["province"], scan["city"]):
        return False
    seen = {"surfaced": "consumer_scan", "scan_id": scan["scan_id"], "serial": str(unit.serial),
            "scanned_at": scan["at"]}  # fmt: skip
    _open(brand_id, dealer, ship, scan["province"], scan["city"], [seen])
    return True
