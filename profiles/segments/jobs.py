"""Segment jobs: membership refresh (after creation, and every five minutes)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.db import db
from profiles.models.segment import Segment
from profiles.segments import members
from workers.job import enqueue_after_commit, job


@job
def refresh_members(segment_id: str) -> int:
    """Recompute one segment's members."""
    return members.refresh(uuid.UUID(segment_id))


@job
def refresh_all_members() -> int:
    """Sweep: send a refresh for every segment."""
    ids = db.session.scalars(select(Segment.id)).all()
    for sid in ids:
        enqueue_after_commit(refresh_members, str(sid))
    return len(ids)
