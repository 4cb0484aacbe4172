"""The points ledger, balances, the brand's reward catalogue and redemptions.

Every movement of points is a ``PointsEntry`` with its reason and reference; the balance is the
sum of the entries, kept alongside in ``PointsAccount`` (``CHECK balance >= 0``) so that a guarded
update decides concurrent spends. Credits carry ``remaining`` and ``expires_at``: spending and
expiry consume them oldest first.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, export_key, new_id, utcnow


class EntryKind(enum.StrEnum):
    credit = "credit"
    redemption = "redemption"
    expiry = "expiry"
    reversal = "reversal"


class PointsAccount(Base):
    """A consumer's points balance: the sum of their ledger entries, never negative."""

    __tablename__ = "points_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_nonnegative"),)

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PointsEntry(Base):
    """One movement of points, with why (``kind``, ``reason``) and what caused it (references)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        Index("ix_points_entries_export", "brand_id", "tx_seq", "id"),
        CheckConstraint("delta <> 0", name="delta_nonzero"),
        CheckConstraint("remaining IS NULL OR (remaining >= 0 AND remaining <= delta)",
                        name="remaining_within_credit"),
        Index("ix_points_entries_consumer_created", "consumer_id", "created_at"),
        Index("ix_points_entries_open_credits", "consumer_id", "expires_at"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    kind: Mapped[EntryKind] = mapped_column(Enum(EntryKind, native_enum=False, length=20))
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    #: For credits: the part not yet spent or expired.
    remaining: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"))
    award_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("awards.id"))
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("redemptions.id"))
    scan_id: Mapped[uuid.UUID | None]
    #: For expiries and reversals: the credit they close.
    credit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("points_entries.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tx_seq: Mapped[int] = export_key()


class CatalogueItem(Base):
    """Something a consumer can redeem points for, maintained by the brand."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        CheckConstraint("points_cost > 0", name="cost_positive"),
        CheckConstraint("stock IS NULL OR redeemed <= stock", name="within_stock"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    points_cost: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int | None] = mapped_column(Integer)
    redeemed: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Redemption(Base):
    """Points spent on a catalogue item; ``request_id`` makes a retried request a duplicate."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("consumer_id", "request_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogue_items.id"))
    request_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="completed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[CatalogueItem] = relationship(lazy="joined")
