"""The shopper's voice: ratings of scanned products and what they would like next."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, export_key, new_id, utcnow


class Feedback(Base):
    """A rating of the product of one of the consumer's own genuine scans (one per scan)."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_export", "brand_id", "tx_seq", "id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_feedback_consumer", "consumer_id"),
        Index("ix_feedback_brand_created", "brand_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    scan_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Free text: deleted at erasure (the rating and tags stay, anonymous).
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tx_seq: Mapped[int] = export_key()


class Preference(Base):
    """What the shopper would like next: interests and wishes (one row per consumer)."""

    __tablename__ = "consumer_preferences"

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``[{"product_id": str | None, "text": str}]``
    wishes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
