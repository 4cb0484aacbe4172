"""RQ entry points of fraud checks (queue ``fraud``) and the sweep that re-drives them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from anticounterfeit.scans.bulkwrite import StoredEvent
from campaigns.models import Award, Payout, PayoutStatus
from core import txhooks
from core.broker import redis_client
from core.db import db, utcnow
from fraud import check, facts
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


FORGED_CURSOR = "fraud:forged:cursor"


@job
def check_forged_sources(brand_id: str, ips: list[str], devices: list[str]) -> int:
    """Score the IPs and devices that sent forged codes of one brand; returns cases touched."""
    return len(check.check_forged(uuid.UUID(brand_id), set(ips), set(devices)).cases)


@job
def sweep_forged() -> int:
    """Read the forged-code stream since the last sweep and send a check per brand and source.
    Returns how many entries were read."""
    redis = redis_client()
    cursor: Any = redis.get(FORGED_CURSOR)
    since = utcnow() - facts.LOOKBACK
    entries = [
        (i, f) for i, f in reversed(facts.forged_entries(since))
        if cursor is None or _after(i, cursor.decode())
    ]  # fmt: skip
    sources: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for _, fields in entries:
        brand = facts.brand_of_forged(fields)
        if brand is not None:
            ips, devices = sources[str(brand)]
            ips.update([fields["ip"]] if fields.get("ip") else [])
            devices.update([fields["device"]] if fields.get("device") else [])
    for brand_id, (ips, devices) in sources.items():
        enqueue_after_commit(check_forged_sources, brand_id, sorted(ips), sorted(devices),
                             queue_name="fraud")  # fmt: skip
    if entries:
        last = entries[-1][0]

        def advance() -> None:
            redis.set(FORGED_CURSOR, last)

        txhooks.on_commit(db.session(), advance)
    return len(entries)


def _after(entry_id: str, cursor: str) -> bool:
    a, b = (tuple(int(x) for x in v.split("-")) for v in (entry_id, cursor))
    return a > b


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
