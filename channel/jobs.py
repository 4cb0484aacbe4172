"""Channel jobs: diversion checks of consumer scans, off the scan path.

``check_consumer_diversion`` (a sweep, every 30 s) reads the scan events the write-behind
flusher has stored since its cursor, for brands that use the channel, and checks each scanned
unit's last shipment to a dealer against the place of the scan (``channel.diversion``). It
trails the present by ``LAG`` so that events still in Redis's stream are not skipped; the
cursor and the case's dedupe key make it idempotent.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from anticounterfeit.models import CodeBatch, ScanEvent
from channel import diversion, hierarchy
from channel.models import ChannelCursor, ChannelEvent, Partner
from channel.steps import fold
from core.db import db, utcnow
from workers.job import job

CURSOR = "consumer_diversion"
LAG = timedelta(seconds=60)
BATCH = 2000
COUNTED = ("authentic", "authentic_repeat", "suspect_copy")


def _cursor() -> ChannelCursor:
    cursor = db.session.get(ChannelCursor, CURSOR)
    if cursor is None:
        cursor = ChannelCursor(name=CURSOR, position={}, updated_at=utcnow())
        db.session.add(cursor)
    return cursor


def _pending(after_at: datetime | None, after_id: uuid.UUID | None, until: datetime) -> list:
    query = (
        select(ScanEvent, CodeBatch.code_key_id)
        .join(CodeBatch, ScanEvent.code_batch_id == CodeBatch.id)
        .where(
            ScanEvent.created_at < until, ScanEvent.city.is_not(None),
            ScanEvent.verdict.in_(COUNTED),
            exists().where(ChannelEvent.brand_id == ScanEvent.brand_id),
        )
        .order_by(ScanEvent.created_at, ScanEvent.id)
        .limit(BATCH)
    )  # fmt: skip
    if after_at is not None and after_id is not None:
        query = query.where(
            (ScanEvent.created_at > after_at)
            | ((ScanEvent.created_at == after_at) & (ScanEvent.id > after_id))
        )
    return [tuple(row) for row in db.session.execute(query)]


def check_scans(until: datetime | None = None) -> int:
    """Check the consumer scans recorded since the cursor; returns how many opened or fed a case."""
    cursor = _cursor()
    pos = cursor.position or {}
    after_at = datetime.fromisoformat(pos["at"]) if pos.get("at") else None
    after_id = uuid.UUID(pos["id"]) if pos.get("id") else None
    rows = _pending(after_at, after_id, until or utcnow() - LAG)
    hits = 0
    partners: dict[uuid.UUID, dict[uuid.UUID, Partner]] = {}
    for scan, code_key_id in rows:
        if scan.brand_id not in partners:
            partners[scan.brand_id] = {p.id: p for p in db.session.scalars(
                select(Partner).where(Partner.brand_id == scan.brand_id))}  # fmt: skip
        known = partners[scan.brand_id]
        scope = hierarchy.unit_scope(scan.brand_id, code_key_id, scan.serial, scan.code_batch_id)
        unit = scope.units[0]
        events = [e for e in scope.unit_events(unit) if e.created_at <= scan.created_at]
        state = fold(events, {pid: p.kind for pid, p in known.items()})
        facts = {"scan_id": str(scan.id), "province": scan.province, "city": scan.city,
                 "at": scan.created_at.isoformat()}  # fmt: skip
        hits += diversion.check_consumer_scan(scan.brand_id, unit, state, known, facts)
    if rows:
        last = rows[-1][0]
        cursor.position = {"at": last.created_at.isoformat(), "id": str(last.id)}
        cursor.updated_at = utcnow()
    db.session.flush()
    return hits


@job
def check_consumer_diversion() -> int:
    """Sweep: diversion checks of newly stored consumer scans."""
    return check_scans()
