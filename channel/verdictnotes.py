"""The channel's notes on a shopper's verdict: where the unit was shipped and sold.

Registered with ``anticounterfeit.scans.notes`` by ``create_app``. For a genuine unit whose batch
has entered the channel (packed, or scanned by a clerk), the unit's channel events are read in
one statement (the same sets as a channel scan: ``channel.unitsets``) and give, for the
explanation (the verdict is unchanged, as API.md says of diversion):

- ``channel_unshipped``: the batch moves through the channel but this unit never left a
  warehouse (it reached the shopper some other way);
- ``channel_outside``: it was last shipped to a dealer whose territory does not cover the place
  of the scan (the fraud case is opened off the scan path, ``channel.jobs``);
- ``channel_sold_far``: a store sold it in another province less than ``SOLD_FAR_HOURS`` ago.

Whether a batch is in the channel is cached per process (``ChannelBatches``): once it is, it
stays so; a "no" is asked again after ``NEGATIVE_TTL`` seconds. A scan of a batch outside the
channel (the plain scan) costs no round trip beyond that one per batch and process.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Select, exists, or_, select

from anticounterfeit.scans.notes import Note
from anticounterfeit.scans.record import ScanResult
from channel import unitsets
from channel.models import Aggregation, ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.refs import signed_ref
from core import txhooks
from core.db import db, utcnow

NEGATIVE_TTL = 60.0
MAX_BATCHES = 50_000
SOLD_FAR_HOURS = 48
EXTENSION = "channel_batches"


class ChannelBatches:
    """Batch id -> whether any of its units entered the channel (a process-wide cache)."""

    def __init__(self) -> None:
        self.known: dict[uuid.UUID, float] = {}  # batch -> time to ask again (inf: in channel)

    def mark(self, batch_ids: set[uuid.UUID]) -> None:
        """This process saw these batches enter the channel."""
        for batch_id in batch_ids:
            self.known[batch_id] = float("inf")

    def in_channel(self, brand_id: uuid.UUID, batch_id: uuid.UUID) -> bool:
        """Whether the batch is in the channel (asks the database at most once a minute)."""
        now = time.monotonic()
        until = self.known.get(batch_id)
        if until is not None and until > now:
            return until == float("inf")
        found = bool(db.session.scalar(select(or_(
            exists().where(Aggregation.brand_id == brand_id,
                           Aggregation.child_batch_id == batch_id),
            exists().where(ChannelEvent.brand_id == brand_id,
                           ChannelEvent.code_batch_id == batch_id),
        ))))  # fmt: skip
        if len(self.known) >= MAX_BATCHES:
            self.known.clear()
        self.known[batch_id] = float("inf") if found else now + NEGATIVE_TTL
        return found


def entered_channel(batch_ids: set[uuid.UUID]) -> None:
    """Once the transaction commits, this process knows these batches are in the channel."""
    batches = channel_batches()
    txhooks.on_commit(db.session(), lambda: batches.mark(batch_ids))


def init_app(app: Flask) -> None:
    """A fresh cache for the process (tests call it again for each test)."""
    app.extensions[EXTENSION] = ChannelBatches()


def channel_batches() -> ChannelBatches:
    """The process's cache."""
    batches: ChannelBatches = current_app.extensions[EXTENSION]
    return batches


@cache
def _events_statement() -> Select[Any]:
    units = unitsets._unit_cte()
    ev = unitsets.applied(units)
    to = Partner.__table__.alias("addressee")
    return (
        select(ev.c.action, ev.c.created_at, unitsets.EVENTS.c.province,
               unitsets.EVENTS.c.city, to.c.name, to.c.kind, to.c.territory)
        .join(unitsets.EVENTS, unitsets.EVENTS.c.id == ev.c.id)
        .outerjoin(to, to.c.id == ev.c.to_partner_id)
        .order_by(ev.c.created_at, ev.c.id)
    )  # fmt: skip


def _events(result: ScanResult) -> list[Any]:
    batch, serial = result.batch, result.serial
    assert batch is not None and serial is not None
    params = {"brand_id": batch.brand_id, "unit_ref": signed_ref(batch.code_key_id, serial),
              "unit_batch": batch.id, "unit_key": batch.code_key_id, "unit_serial": serial}
    return list(db.session.execute(_events_statement(), params))  # fmt: skip


def _outside(events: list[Any], province: str, city: str | None) -> Note | None:
    ships = [e for e in events if e.action == ChannelAction.ship and e.kind is not None
             and PartnerKind(e.kind) is PartnerKind.dealer]  # fmt: skip
    if not ships or not ships[-1].territory:
        return None
    last = ships[-1]
    if {province, city} & set(last.territory):
        return None
    return "channel_outside", {"dealer": last.name, "territory": "、".join(last.territory),
                               "place": city or province}  # fmt: skip


def _sold_far(events: list[Any], province: str, city: str | None) -> Note | None:
    sales = [e for e in events if e.action == ChannelAction.sell]
    if not sales or sales[-1].province in (None, province):
        return None
    hours = (utcnow() - sales[-1].created_at) / timedelta(hours=1)
    if hours > SOLD_FAR_HOURS:
        return None
    return "channel_sold_far", {"hours": max(hours, 1), "place": city or province,
                                "sold_place": sales[-1].city or sales[-1].province}  # fmt: skip


def notes(result: ScanResult) -> list[Note]:
    """The channel's notes for a genuine unit's scan (nothing for a batch outside it)."""
    batch = result.batch
    if batch is None or result.serial is None or batch.level != "unit":
        return []
    if not channel_batches().in_channel(batch.brand_id, batch.id):
        return []
    events = _events(result)
    if not any(e.action == ChannelAction.ship for e in events):
        return [("channel_unshipped", {})]
    region = result.region
    if region is None:
        return []
    found = [_outside(events, region.province, region.city),
             _sold_far(events, region.province, region.city)]  # fmt: skip
    return [n for n in found if n is not None]
