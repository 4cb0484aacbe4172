"""RQ entry points of fraud checks (queue ``fraud``) and the sweep that re-drives them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from anticounterfeit.scans.bulkwrite import StoredEvent
from campaigns.models import Award, Payout, PayoutStatus
from core.db import db, utcnow
from fraud import check
from workers.job import enqueue_after_commit, job

CHUNK = 500
UNCHECKED_AFTER = timedelta(minutes=1)


@job
def check_scans(brand_id: str, scan_ids: list[str]) -> int:
    """Check freshly recorded scans of one brand; returns how many were checked."""
    return check.check(uuid.UUID(brand_id), scan_ids).checked


def send_checks(by_brand: dict[str, list[str]]) -> None:
    """Send the check jobs (after the current transaction commits), in chunks."""
    for brand_id, ids in by_brand.items():
        for start in range(0, len(ids), CHUNK):
            enqueue_after_commit(check_scans, brand_id, ids[start : start + CHUNK],
                                 queue_name="fraud")  # fmt: skip


def scans_flushed(events: Sequence[StoredEvent]) -> None:
    """The write-behind stored these scan events: check them once they are committed."""
    by_brand: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("brand") and event.get("id"):
            by_brand[str(event.get("brand"))].append(str(event.get("id")))
    send_checks(by_brand)


@job
def sweep_unchecked() -> int:
    """Red packets still waiting for their scan's check (worker down, or the check ran before the
    award committed): check their scans again. Returns how many scans were re-sent."""
    rows = db.session.execute(
        select(Award.brand_id, Award.scan_id)
        .join(Payout, Payout.award_id == Award.id)
        .where(Payout.cleared.is_(False), Payout.status == PayoutStatus.pending,
               Payout.created_at < utcnow() - UNCHECKED_AFTER)
        .limit(5000)
    )  # fmt: skip
    by_brand: dict[str, list[str]] = defaultdict(list)
    for brand_id, scan_id in rows:
        by_brand[str(brand_id)].append(str(scan_id))
    send_checks(by_brand)
    return sum(len(v) for v in by_brand.values())
