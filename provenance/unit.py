"""A unit's own facts: which code it is, whether it is genuine, and its lifecycle.

Opening a story records no scan (like the landing page's GET): the code is checked with the
key ring and the batch cache, as a scan would, and the verdict comes from what is already known
of the code (its batch status; its state once scanned).

Lifecycle: ``produced`` and ``first_verified`` come from here; other packages add their stages
(``packed``, ``shipped``, ``received``, ``sold``, ``recycled``) by registering a source with
``register_lifecycle_source(fn)``, where ``fn(unit: UnitRef) -> list[LifecycleEntry]``; the
channel package is meant to do so from its ``init``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from time import monotonic

from sqlalchemy import select

from anticounterfeit import codes, gs1
from anticounterfeit.activation import unit_active
from anticounterfeit.keys import keyring
from anticounterfeit.models import BatchStatus, CodeState
from anticounterfeit.scans.batchcache import BatchInfo, batch_cache
from anticounterfeit.scans.state import version_key
from core.broker import redis_client
from core.db import db

STAGES = ("produced", "packed", "shipped", "received", "sold", "first_verified", "recycled")


@dataclass(frozen=True)
class UnitRef:
    """A genuine unit: its code, serial and batch (with product and lot)."""

    code: str
    serial: int
    code_key_id: uuid.UUID
    batch: BatchInfo

    @property
    def brand_id(self) -> uuid.UUID:
        """The brand that issued the code."""
        return self.batch.brand_id


@dataclass(frozen=True)
class LifecycleEntry:
    """One stage of a unit's life, as far as it is known."""

    stage: str
    at: datetime | None
    place: str | None = None
    detail: str | None = None


LifecycleSource = Callable[[UnitRef], list[LifecycleEntry]]
_sources: list[LifecycleSource] = []


def register_lifecycle_source(source: LifecycleSource) -> None:
    """Add a provider of lifecycle stages (channel events, recycling scans), once."""
    if source not in _sources:
        _sources.append(source)


@dataclass(frozen=True)
class Resolved:
    """What a story request learns about a code: a verdict, and the unit when genuine."""

    verdict: str
    why: str
    unit: UnitRef | None
    state: CodeState | None = None


def _current_batch(code_key_id: uuid.UUID, serial: int) -> BatchInfo | None:
    """The serial's batch as of now: the cached copy, reloaded when the key's batch token
    moved (a scan learns that from its Redis call; a story asks for the token itself)."""
    redis, cache = redis_client(), batch_cache()
    batch, token = cache.lookup(redis, code_key_id, serial)
    if redis.get(version_key(code_key_id)) != token.encode():
        batch = cache.load(redis, code_key_id, unless_read_after=monotonic()).find(serial)
    return batch


def resolve(raw: str) -> Resolved:
    """Check a code as a scan would, without recording anything."""
    try:
        scanned = gs1.parse_scanned(raw)
        loaded = keyring().lookup(codes.parse_key_id(scanned.code))
    except codes.MalformedCode:
        return Resolved("counterfeit", "counterfeit", None)
    decoded = codes.verify(scanned.code, loaded.key) if loaded and not loaded.revoked else None
    if loaded is None or decoded is None:
        return Resolved("counterfeit", "counterfeit", None)
    batch = _current_batch(loaded.record_id, decoded.serial)
    if batch is None:
        return Resolved("counterfeit", "counterfeit", None)
    if scanned.gtin is not None and scanned.gtin != batch.product.gtin:
        return Resolved("counterfeit", "gtin_mismatch", None)
    unit = UnitRef(scanned.code, decoded.serial, loaded.record_id, batch)
    if batch.status is BatchStatus.revoked:
        return Resolved("revoked", "revoked", unit)
    if batch.status is not BatchStatus.active and not unit_active(batch, unit.serial):
        return Resolved("not_activated", "not_activated", unit)
    state = db.session.scalar(
        select(CodeState).where(
            CodeState.code_key_id == loaded.record_id, CodeState.serial == decoded.serial
        )
    )
    if state is not None and state.is_suspect:
        return Resolved("suspect_copy", "many_people", unit, state)
    return Resolved("authentic", "genuine", unit, state)


def _own_stages(unit: UnitRef, state: CodeState | None, produced_at: datetime | None
                ) -> list[LifecycleEntry]:  # fmt: skip
    entries = []
    lot = unit.batch.product_batch
    if produced_at is None and lot is not None:
        produced_at = datetime.combine(lot.production_date, time(0), tzinfo=UTC)
    if produced_at is not None:
        entries.append(LifecycleEntry("produced", produced_at, detail=lot.lot if lot else None))
    if state is not None:
        entries.append(LifecycleEntry("first_verified", state.first_scanned_at, state.first_region))
    return entries


def lifecycle(unit: UnitRef, state: CodeState | None, produced_at: datetime | None
              ) -> list[LifecycleEntry]:  # fmt: skip
    """The unit's lifecycle: its own stages and those the registered sources know, in order."""
    entries = _own_stages(unit, state, produced_at)
    for source in _sources:
        entries.extend(source(unit))
    order = {stage: i for i, stage in enumerate(STAGES)}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: (e.at or far, order.get(e.stage, len(STAGES))))
