"""The consent ledger: append-only, one row per change of one purpose."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, new_id, utcnow


class Purpose(enum.StrEnum):
    """What a consent is for (API.md)."""

    profiling = "profiling"
    marketing = "marketing"
    precise_location = "precise_location"


class ConsentRecord(Base):
    """A consumer granted or withdrew one purpose under one version of the privacy notice."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_consumer", "consumer_id", "purpose", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    notice_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
