"""Segments: a named rule over derived profiles, and its precomputed membership (targeting)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, new_id, utcnow


class Segment(Base):
    """A brand's segment: its validated rule as JSON."""

    __tablename__ = "segments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    rule: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When ``segment_members`` was last recomputed (campaign targeting reads the members).
    members_at: Mapped[datetime | None]
    #: The exact size and breakdowns as of ``counted_at`` (``evaluate.to_json``), computed with
    #: the members: what the list of segments publishes (never shown as such).
    counts: Mapped[dict[str, Any] | None]
    counted_at: Mapped[datetime | None]


class SegmentMember(Base):
    """A consumer in a segment, as of ``Segment.members_at`` (never shown to staff)."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_consumer", "consumer_id"),)

    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segments.id"), primary_key=True)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
