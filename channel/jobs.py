"""Channel jobs: diversion checks of consumer scans, off the scan path.

The write-behind flusher hands every batch of stored scan events to ``scans_flushed`` (a listener
registered by ``create_app``); for brands that have channel partners it sends one
``check_consumer_diversion`` job per brand after the flush commits. The job reads those scans
and checks each scanned unit's last shipment to a dealer against the place of the scan
(``channel.diversion``). A scan already counted in its case is not counted again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from anticounterfeit.models import CodeBatch, ScanEvent
from channel import diversion, hierarchy
from channel.models import Partner
from channel.steps import fold
from core.db import db
from workers.job import enqueue_after_commit, job

COUNTED = ("authentic", "authentic_repeat", "suspect_copy")
CHUNK = 500


def scans_flushed(events: Sequence[Any]) -> None:
    """The write-behind stored these scan events: check those with a city, of channel brands."""
    by_brand: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("city") and event.get("verdict") in COUNTED and event.get("brand"):
            by_brand[str(event.get("brand"))].append(str(event.get("id")))
    if not by_brand:
        return
    brands = [uuid.UUID(b) for b in by_brand]
    channel_brands = set(db.session.scalars(
        select(Partner.brand_id).where(Partner.brand_id.in_(brands)).distinct()))  # fmt: skip
    for brand_id in channel_brands:
        ids = by_brand[str(brand_id)]
        for start in range(0, len(ids), CHUNK):
            enqueue_after_commit(check_consumer_diversion, str(brand_id),
                                 ids[start : start + CHUNK], queue_name="fraud")  # fmt: skip


def check_scans(brand_id: uuid.UUID, scan_ids: Sequence[uuid.UUID]) -> int:
    """Check stored consumer scans of a brand; returns how many surfaced outside a territory."""
    rows = db.session.execute(
        select(ScanEvent, CodeBatch.code_key_id)
        .join(CodeBatch, ScanEvent.code_batch_id == CodeBatch.id)
        .where(ScanEvent.brand_id == brand_id, ScanEvent.id.in_(scan_ids))
        .order_by(ScanEvent.created_at)
    ).all()
    known = {p.id: p for p in db.session.scalars(
        select(Partner).where(Partner.brand_id == brand_id))}  # fmt: skip
    kinds = {pid: p.kind for pid, p in known.items()}
    hits = 0
    for scan, code_key_id in rows:
        scope = hierarchy.unit_scope(brand_id, code_key_id, scan.serial, scan.code_batch_id)
        unit = scope.units[0]
        state = fold([e for e in scope.unit_events(unit) if e.created_at <= scan.created_at],
                     kinds)  # fmt: skip
        facts = {"scan_id": str(scan.id), "province": scan.province, "city": scan.city,
                 "at": scan.created_at.isoformat()}  # fmt: skip
        hits += diversion.check_consumer_scan(brand_id, unit, state, known, facts)
    return hits


@job
def check_consumer_diversion(brand_id: str, scan_ids: list[str]) -> int:
    """Diversion checks of consumer scans the write-behind stored (queue ``fraud``)."""
    return check_scans(uuid.UUID(brand_id), [uuid.UUID(i) for i in scan_ids])
