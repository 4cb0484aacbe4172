"""Precomputed segment membership (what campaign targeting reads)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete

from core.db import db
from profiles.models.segment import SegmentMember


def leave_all(consumer_id: uuid.UUID) -> None:
    """Take the consumer out of every segment (withdrawn marketing consent, erasure)."""
    db.session.execute(delete(SegmentMember).where(SegmentMember.consumer_id == consumer_id))
