"""Retention: scan events older than ``SCAN_RETENTION_DAYS`` (default 1095) are pseudonymised.

The scan keeps what a brand's statistics need (product, batch, time, province, city, verdict);
the consumer link, IP and coordinates are removed, and the device id is replaced by a keyed
pseudonym (``p:`` + HMAC-SHA256 under ``SECRET_KEY``), so patterns across old scans of one device
remain visible to fraud analysis without the id itself.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Table, bindparam, or_, select, update

from anticounterfeit.models import ScanEvent
from core.db import db, utcnow
from workers.job import job

BATCH = 2_000
MAX_BATCHES_PER_RUN = 50
PSEUDONYM_PREFIX = "p:"


def pseudonym(device_id: str) -> str:
    """The keyed pseudonym of a device id."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"device:" + device_id.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:40]


def _due(cutoff: datetime, limit: int) -> list[Any]:
    e = ScanEvent
    return list(
        db.session.execute(
            select(e.id, e.device_id)
            .where(
                e.created_at < cutoff,
                or_(
                    e.consumer_id.is_not(None),
                    e.ip.is_not(None),
                    e.lat.is_not(None),
                    e.device_id.not_like(PSEUDONYM_PREFIX + "%"),
                ),  # fmt: skip
            )
            .order_by(e.created_at)
            .limit(limit)
        ).all()
    )


def pseudonymise_batch(limit: int = BATCH) -> int:
    """Pseudonymise up to ``limit`` scan events past retention; how many."""
    cutoff = utcnow() - timedelta(days=current_app.config.get("SCAN_RETENTION_DAYS", 1095))
    rows = _due(cutoff, limit)
    if not rows:
        return 0
    table: Table = ScanEvent.__table__  # type: ignore[assignment]
    t = table.c
    db.session.execute(
        update(table)
        .where(t.id == bindparam("sid"))
        .values(
            consumer_id=None,
            ip=None,
            lat=None,
            lng=None,
            accuracy_m=None,
            device_id=bindparam("dev"),
        ),  # fmt: skip
        [
            {
                "sid": sid,
                "dev": pseudonym(dev) if dev and not dev.startswith(PSEUDONYM_PREFIX) else dev,
            }  # fmt: skip
            for sid, dev in rows
        ],
    )
    return len(rows)


@job
def pseudonymise_old_scans() -> int:
    """Sweep: pseudonymise every scan event past retention (in batches, one commit)."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):  # the rest waits for the next run (hourly)
        moved = pseudonymise_batch()
        total += moved
        if not moved:
            break
    return total
