"""Capture: an EPCISDocument stored whole or not at all.

Order of checks: the EPCIS 2.0 JSON schema; then what the schema cannot say (``parse``); then
what needs the database: parties named by events and claims, lots (known to the brand, one of
its production lots, or created by an event of this document), event ids not captured before,
and no cycle in the lot graph (a lot may not, through transformations, be made from itself).
Every problem found is reported at once, with its JSON pointer; nothing is written unless there
is none. Claims whose party is unknown or whose signature fails are stored all the same (shown
as unverified) and listed in the response's ``warnings``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from accounts.models import Brand
from anticounterfeit.models import Product, ProductBatch
from core import audit
from core.audit import CLI, Actor
from core.db import db, new_id, utcnow
from provenance import claims as claimsig
from provenance.epcis import masterdata
from provenance.epcis.parse import ParsedEvent, Problems, parse_document
from provenance.epcis.validate import schema_problems
from provenance.errors import InvalidEpcis
from provenance.models import Claim, Event, EventLot, Lot, LotRole, Party
from provenance.parties import PartyResolver, is_party_ref, party_row
from provenance.story_cache import provenance_changed


@dataclass
class CaptureResult:
    """What a capture stored."""

    events: list[Event]
    warnings: list[dict[str, Any]] = field(default_factory=list)


class LotResolver:
    """Lots by (gtin, lot): existing rows, the brand's production lots, or new ones."""

    def __init__(self, brand_id: uuid.UUID) -> None:
        self.brand_id = brand_id
        self.known: dict[tuple[str, str], Lot] = {}
        self.new: dict[tuple[str, str], Lot] = {}

    def find(self, gtin: str, lot: str) -> Lot | None:
        """A lot the brand already knows (a provenance lot, or one of its production lots)."""
        key = (gtin, lot)
        if key in self.known or key in self.new:
            return self.known.get(key) or self.new[key]
        row = db.session.scalar(
            select(Lot).where(Lot.brand_id == self.brand_id, Lot.gtin == gtin, Lot.lot == lot)
        )
        if row is None:
            batch_id = self._production_lot(gtin, lot)
            if batch_id is None:
                return None
            row = self.create(gtin, lot, batch_id)
        self.known[key] = row
        return row

    def create(self, gtin: str, lot: str, batch_id: uuid.UUID | None = None) -> Lot:
        """A lot made by this capture (written only if the capture succeeds)."""
        if batch_id is None:
            batch_id = self._production_lot(gtin, lot)
        row = Lot(
            id=new_id(), brand_id=self.brand_id, gtin=gtin, lot=lot, product_batch_id=batch_id
        )
        self.new[(gtin, lot)] = row
        return row

    def _production_lot(self, gtin: str, lot: str) -> uuid.UUID | None:
        return db.session.scalar(
            select(ProductBatch.id)
            .join(Product, Product.id == ProductBatch.product_id)
            .where(
                ProductBatch.brand_id == self.brand_id,
                Product.gtin == gtin,
                ProductBatch.lot == lot,
            )
        )


def _master_data(brand: Brand, document: dict[str, Any], resolver: PartyResolver,
                 problems: Problems) -> list[Party]:  # fmt: skip
    """Parties described by the document that the brand does not know yet."""
    created = []
    for pointer, element in masterdata.described_parties(document):
        if resolver.find(element["id"]) is not None:
            continue
        data = masterdata.party_input(element, pointer, problems)
        if data is None:
            continue
        party = party_row(brand.id, data)
        resolver.add(party)
        created.append(party)
    return created


def _resolve_parties(events: list[ParsedEvent], resolver: PartyResolver, problems: Problems
                     ) -> dict[int, Party]:  # fmt: skip
    actors = {}
    for e in events:
        pointer = e.pointer
        actor = resolver.find(e.actor_ref) if e.actor_ref else None
        if actor is not None:
            actors[e.index] = actor
        elif e.actor_ref:
            problems.add(f"{pointer}/bizLocation/id", "unknown_party", f"no party {e.actor_ref!r}")
        for where, ref in e.party_refs:
            if is_party_ref(ref) and resolver.find(ref) is None:
                problems.add(where, "unknown_party", f"no party {ref!r}")
    return actors


def _resolve_lots(events: list[ParsedEvent], lots: LotResolver, problems: Problems) -> None:
    created = {(r.gtin, r.lot) for e in events for r in e.lots if r.role == "output"}
    for gtin, lot in sorted(created):
        if lots.find(gtin, lot) is None:
            lots.create(gtin, lot)
    for e in events:
        for r in e.lots:
            if r.role != "output" and lots.find(r.gtin, r.lot) is None:
                problems.add(r.pointer, "unknown_lot", f"lot {r.lot} of GTIN {r.gtin} is unknown")


def _check_event_ids(brand: Brand, events: list[ParsedEvent], problems: Problems) -> None:
    seen: dict[str, int] = {}
    by_uri = {e.uri: e for e in events}
    for e in events:
        if e.uri in seen:
            problems.add(f"{e.pointer}/eventID", "duplicate_event",
                         f"the same eventID as event {seen[e.uri]}")  # fmt: skip
        seen[e.uri] = e.index
    uris = [e.uri for e in events if not e.generated_id]
    for start in range(0, len(uris), 500):
        taken = db.session.scalars(
            select(Event.event_uri).where(
                Event.brand_id == brand.id, Event.event_uri.in_(uris[start : start + 500])
            )
        )
        for uri in taken:
            problems.add(f"{by_uri[uri].pointer}/eventID", "duplicate_event",
                         "this event was captured before")  # fmt: skip


def _stored_successors(brand_id: uuid.UUID, lot_id: uuid.UUID) -> list[uuid.UUID]:
    """Lots made (by stored transformations) from ``lot_id``."""
    source, made = aliased(EventLot), aliased(EventLot)
    return list(
        db.session.scalars(
            select(made.lot_id)
            .join(source, source.event_id == made.event_id)
            .where(source.brand_id == brand_id, source.lot_id == lot_id,
                   source.role == LotRole.input, made.role == LotRole.output)
        )
    )  # fmt: skip


def _check_cycles(brand_id: uuid.UUID, events: list[ParsedEvent], lots: LotResolver,
                  problems: Problems) -> None:  # fmt: skip
    """Refuse an edge input → output when the output already leads back to the input."""
    edges: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    new_edges = []
    for e in events:
        ins = [lots.find(r.gtin, r.lot) for r in e.lots if r.role == "input"]
        outs = [lots.find(r.gtin, r.lot) for r in e.lots if r.role == "output"]
        for i in ins:
            for o in outs:
                if i is not None and o is not None:
                    edges[i.id].add(o.id)
                    new_edges.append((e.pointer, i.id, o.id))
    stored: dict[uuid.UUID, list[uuid.UUID]] = {}
    for pointer, source, made in new_edges:
        if _reaches(made, source, edges, stored, brand_id):
            why = "this transformation makes a lot from itself (a cycle in the lot graph)"
            problems.add(pointer, "cycle", why)
            return


def _reaches(start: uuid.UUID, goal: uuid.UUID, edges: dict[uuid.UUID, set[uuid.UUID]],
             stored: dict[uuid.UUID, list[uuid.UUID]], brand_id: uuid.UUID) -> bool:  # fmt: skip
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        if node not in stored:
            stored[node] = _stored_successors(brand_id, node)
        for nxt in [*edges.get(node, ()), *stored[node]]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _claim_warnings(events: list[ParsedEvent], resolver: PartyResolver) -> list[dict[str, Any]]:
    warnings = []
    for e in events:
        for c, claim in enumerate(e.claims):
            party = resolver.find_claimant(claim.party_ref)
            text = claimsig.ClaimText(claim.statement, claim.party_ref, claim.issued_at)
            key = party.public_key if party else None
            if not claimsig.verify(text, claim.signature, key):
                why = (
                    "unknown party"
                    if party is None
                    else ("party has no public key" if key is None else "missing or bad signature")
                )
                warnings.append({"path": f"{e.pointer}/claims/{c}",
                                 "problem": "claim_unverified", "message": why})  # fmt: skip
    return warnings


def _write(
    brand: Brand, events: list[ParsedEvent], actors: dict[int, Party], parties: list[Party],
    lots: LotResolver, resolver: PartyResolver,
) -> list[Event]:  # fmt: skip
    db.session.add_all(parties)
    db.session.add_all(lots.new.values())
    now = utcnow()
    rows = []
    for e in events:
        row = Event(
            id=new_id(), brand_id=brand.id, event_uri=e.uri, kind=e.kind, action=e.action,
            biz_step=e.biz_step, event_time=e.event_time, record_time=now,
            party_id=actors[e.index].id, description=e.description, co2e_kg=e.co2e_kg,
            water_l=e.water_l, certifications=e.certifications, photos=e.photos,
            document=e.document,
        )  # fmt: skip
        for position, r in enumerate(e.lots):
            lot = lots.find(r.gtin, r.lot)
            assert lot is not None
            row.lots.append(EventLot(
                brand_id=brand.id, lot_id=lot.id, role=LotRole(r.role), quantity=r.quantity,
                uom=r.uom, position=position,
            ))  # fmt: skip
        for position, c in enumerate(e.claims):
            party = resolver.find_claimant(c.party_ref)
            row.claims.append(Claim(
                brand_id=brand.id, statement=c.statement, party_ref=c.party_ref,
                party_id=party.id if party else None, issued_at=c.issued_at,
                signature=c.signature, position=position,
            ))  # fmt: skip
        rows.append(row)
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _merge_lot_refs(events: list[ParsedEvent], problems: Problems) -> None:
    """One row per (lot, role) per event: repeated lots in one list are added up."""
    for e in events:
        merged: dict[tuple[str, str, str], Any] = {}
        for r in e.lots:
            key = (r.gtin, r.lot, r.role)
            if key in merged:
                if merged[key].uom != r.uom:
                    problems.add(r.pointer, "mixed_units", "the same lot twice in different units")
                merged[key].quantity += r.quantity
            else:
                merged[key] = r
        e.lots = list(merged.values())
        if {(g, lot) for g, lot, role in merged if role == "input"} & {
            (g, lot) for g, lot, role in merged if role == "output"
        }:
            problems.add(e.pointer, "cycle", "a lot is input and output")


LOCK_NAMESPACE = 0x70726F76  # "prov": this package's advisory locks


def _one_capture_at_a_time(brand_id: uuid.UUID) -> None:
    """Serialise a brand's captures until commit (PostgreSQL advisory lock), so the checks for
    cycles, duplicate event ids and new lots see every capture committed before this one.
    SQLite serialises writing transactions by itself."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        key = int.from_bytes(brand_id.bytes[:4], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                           {"ns": LOCK_NAMESPACE, "key": key})  # fmt: skip


#: The event ids an audit entry of a capture lists (the count is always there).
AUDITED_EVENT_IDS = 50


def capture(
    brand: Brand, document: Any, base_url: str, now: datetime | None = None, *,
    actor: Actor = CLI,
) -> CaptureResult:  # fmt: skip
    """Validate and store an EPCISDocument, or raise ``InvalidEpcis`` having stored nothing.
    What is stored is the story shoppers read: the capture is audited (``epcis.capture``)."""
    schema = schema_problems(document)
    if schema:
        raise InvalidEpcis(schema, "The document does not match the EPCIS 2.0 JSON schema.")
    events, problems = parse_document(document, base_url, now or utcnow())
    _one_capture_at_a_time(brand.id)
    _merge_lot_refs(events, problems)
    resolver, lots = PartyResolver(brand.id), LotResolver(brand.id)
    parties = _master_data(brand, document, resolver, problems)
    actors = _resolve_parties(events, resolver, problems)
    _resolve_lots(events, lots, problems)
    _check_event_ids(brand, events, problems)
    if not problems.items:
        _check_cycles(brand.id, events, lots, problems)
    if problems.items:
        raise InvalidEpcis(problems.items)
    warnings = _claim_warnings(events, resolver)
    rows = _write(brand, events, actors, parties, lots, resolver)
    provenance_changed(brand.id)
    first = rows[0].event_uri if rows else "none"
    audit.record(brand.id, actor, "epcis.capture", f"epcis_event:{first}", {
        "events": len(rows), "warnings": len(warnings),
        "event_ids": [row.event_uri for row in rows[:AUDITED_EVENT_IDS]],
    })  # fmt: skip
    return CaptureResult(rows, warnings)
