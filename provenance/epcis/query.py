"""Query: events as an EPCIS 2.0 ``EPCISQueryDocument`` that validates against the schema.

Each event comes back as it was captured (its ``eventID`` made explicit, the prefixes it used
carried in its own ``@context``), with the ``recordTime`` this repository gave it. The parties
the events and their claims name are described in the results' ``vocabularyList``
(BusinessLocation master data), so the document imports into another installation, through
``POST /api/v1/epcis/capture``, unchanged in meaning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.models import Brand
from core.db import db, utcnow
from provenance.epcis import masterdata
from provenance.epcis.parse import EPCIS_CONTEXT, NS
from provenance.models import Event, Lot, Party
from provenance.story import journey_events

MAX_EVENTS = 5000


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _events(brand: Brand, lot: Lot | None, since: datetime | None, until: datetime | None
            ) -> list[Event]:  # fmt: skip
    if lot is not None:
        events = journey_events(brand.id, lot.id)
    else:
        query = select(Event).where(Event.brand_id == brand.id)
        if since is not None:
            query = query.where(Event.event_time >= since)
        if until is not None:
            query = query.where(Event.event_time < until)
        events = list(db.session.scalars(
            query.options(selectinload(Event.claims)).order_by(Event.event_time, Event.id)
            .limit(MAX_EVENTS)
        ))  # fmt: skip
    return [
        e
        for e in events
        if (since is None or e.event_time >= since) and (until is None or e.event_time < until)
    ]


def _parties(events: list[Event]) -> list[Party]:
    found: dict[str, Party] = {}
    for e in events:
        found.setdefault(e.party.uri, e.party)
        for c in e.claims:
            if c.party is not None:
                found.setdefault(c.party.uri, c.party)
    return sorted(found.values(), key=lambda p: p.uri)


def query_document(brand: Brand, lot: Lot | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """An EPCISQueryDocument of a lot's journey (or of all the brand's events) in a window."""
    events = _events(brand, lot, since, until)
    results: dict[str, Any] = {
        "eventList": [{**e.document, "recordTime": _iso(e.record_time)} for e in events],
    }
    parties = _parties(events)
    if parties:
        results["vocabularyList"] = [masterdata.vocabulary(parties)]
    return {
        "@context": [EPCIS_CONTEXT, {"yiwuyima": NS}],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": _iso(utcnow()),
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": results},
        },
    }
