"""Consent to profiling, checked inside the job that would derive something."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from core.db import db
from profiles.models.consent import ConsentRecord, Purpose
from profiles.models.identity import Consumer


def profiling_allowed(consumer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``consumer_ids`` who, now, consent to profiling and are not erased.

    Takes a share lock on their consumer rows until the job commits, so a withdrawal (which
    locks the row for update before deleting the profile) waits for this job, or this job for it.
    """
    ids = sorted(set(consumer_ids))
    if not ids:
        return set()
    live = set(
        db.session.scalars(
            select(Consumer.id)
            .where(Consumer.id.in_(ids), Consumer.erased_at.is_(None))
            .with_for_update(read=True)
        )
    )
    rows = db.session.execute(
        select(ConsentRecord.consumer_id, ConsentRecord.granted)
        .where(ConsentRecord.consumer_id.in_(live), ConsentRecord.purpose == Purpose.profiling)
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
    )
    latest: dict[uuid.UUID, bool] = {}
    for consumer_id, granted in rows:
        latest.setdefault(consumer_id, bool(granted))
    return {cid for cid, granted in latest.items() if granted}
