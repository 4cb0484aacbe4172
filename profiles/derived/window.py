"""Moving the 90-day window forward: scans leave ``scans_90d`` as they age (incrementally)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import Table, bindparam, select, update

from core.db import db, utcnow
from profiles.derived.lifecycle import WINDOW_DAYS
from profiles.models.profile import ConsumerProfile, ProfileScan

BATCH = 5_000


def expire_window(limit: int = BATCH) -> int:
    """Take up to ``limit`` scans that left the window out of their profiles' ``scans_90d``."""
    horizon = utcnow() - timedelta(days=WINDOW_DAYS)
    rows = db.session.execute(
        select(ProfileScan.scan_id, ProfileScan.consumer_id)
        .where(ProfileScan.in_window.is_(True), ProfileScan.at < horizon)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    per_consumer: Counter[uuid.UUID] = Counter(cid for _, cid in rows)
    db.session.execute(
        update(ProfileScan)
        .where(ProfileScan.scan_id.in_([sid for sid, _ in rows]))
        .values(in_window=False)
    )
    table: Table = ConsumerProfile.__table__  # type: ignore[assignment]
    p = table.c
    db.session.execute(
        update(table)
        .where(p.consumer_id == bindparam("cid"))
        .values(scans_90d=p.scans_90d - bindparam("n")),
        [{"cid": cid, "n": n} for cid, n in per_consumer.items()],
    )
    return len(rows)
