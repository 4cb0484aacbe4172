"""Per-unit activation of ``on_ship`` batches: units become active at their warehouse out-scan.

A batch created with ``"activation": "on_ship"`` stays ``generated``; each unit is activated when
a warehouse ships it (the channel package calls ``activate_units``). The record is a handful of
serial ranges per shipment in PostgreSQL (``code_activations``: a pallet's units are mostly
consecutive serials), mirrored after commit as bits in a per-batch Redis bitmap.

The scan path asks ``unit_active`` only on its not-activated branch (the batch is not active), so
scans of active batches pay nothing. A set bit answers with one Redis read; a clear bit is
checked against PostgreSQL (so a bitmap lost with Redis, or a shipment committed a moment before
its bits were set, still activates the unit) and the bits are repaired from the range found.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from redis import Redis
from redis.commands.core import Script
from sqlalchemy import insert, select

from anticounterfeit.models import BatchStatus, CodeActivation
from anticounterfeit.scans.batchcache import BatchInfo
from core import txhooks
from core.broker import redis_client
from core.db import db, utcnow

ON_SHIP = "on_ship"

# KEYS[1]: the bitmap.  ARGV: pairs of (first offset, one past the last offset).
_SET_RANGES = Script(
    None,  # type: ignore[arg-type]
    b"""
for i = 1, #ARGV, 2 do
  for offset = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) - 1 do
    redis.call('SETBIT', KEYS[1], offset, 1)
  end
end
return 1
""",
)


def shipped_key(batch_id: uuid.UUID) -> str:
    """The Redis bitmap of an ``on_ship`` batch's activated units (bit = serial - start)."""
    return f"scan:v1:shipped:{batch_id}"


def to_ranges(serials: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged half-open ranges covering ``serials``."""
    ranges: list[tuple[int, int]] = []
    for serial in sorted(set(serials)):
        if ranges and ranges[-1][1] == serial:
            ranges[-1] = (ranges[-1][0], serial + 1)
        else:
            ranges.append((serial, serial + 1))
    return ranges


def _set_bits(redis: Redis, batch_id: uuid.UUID, offsets: list[tuple[int, int]]) -> None:
    args = [v for pair in offsets for v in pair]
    if args:
        _SET_RANGES(keys=[shipped_key(batch_id)], args=args, client=redis)


def activate_units(
    brand_id: uuid.UUID,
    batch_id: uuid.UUID,
    batch_start: int,
    serials: Iterable[int],
    source: str,
) -> int:
    """Activate units of one ``on_ship`` batch (serials of that batch); returns the range count."""
    ranges = to_ranges(serials)
    if not ranges:
        return 0
    now = utcnow()
    db.session.execute(
        insert(CodeActivation),
        [
            dict(brand_id=brand_id, code_batch_id=batch_id, serial_start=a, serial_stop=b,
                 source=source, activated_at=now)
            for a, b in ranges
        ],  # fmt: skip
    )
    offsets = [(a - batch_start, b - batch_start) for a, b in ranges]
    redis = redis_client()
    txhooks.on_commit(db.session(), lambda: _set_bits(redis, batch_id, offsets))
    return len(ranges)


def mirror_ranges(
    written: Iterable[tuple[uuid.UUID, int, int]], batch_starts: dict[uuid.UUID, int]
) -> None:
    """After commit, set the bits of serial ranges already recorded (``(batch, start, stop)``,
    as an ``INSERT ... SELECT`` returned them) in their batches' bitmaps."""
    by_batch: dict[uuid.UUID, list[tuple[int, int]]] = {}
    for batch_id, a, b in written:
        start = batch_starts[batch_id]
        by_batch.setdefault(batch_id, []).append((a - start, b - start))
    if not by_batch:
        return
    redis = redis_client()

    def mirror() -> None:
        for batch_id, offsets in by_batch.items():
            _set_bits(redis, batch_id, offsets)

    txhooks.on_commit(db.session(), mirror)


def unit_active(batch: BatchInfo, serial: int) -> bool:
    """Whether a unit of a not yet active ``on_ship`` batch has been shipped (thus active)."""
    if batch.activation != ON_SHIP or batch.status is not BatchStatus.generated:
        return False
    redis = redis_client()
    if redis.getbit(shipped_key(batch.id), serial - batch.serial_start):
        return True
    row = db.session.execute(
        select(CodeActivation.serial_start, CodeActivation.serial_stop)
        .where(
            CodeActivation.code_batch_id == batch.id,
            CodeActivation.serial_start <= serial,
            CodeActivation.serial_stop > serial,
        )
        .limit(1)
    ).first()
    if row is None:
        return False
    start, stop = row
    _set_bits(redis, batch.id, [(start - batch.serial_start, stop - batch.serial_start)])
    return True
