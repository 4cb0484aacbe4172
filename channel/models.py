"""Partners and clerks, the packaging hierarchy (as links, not copies) and channel events.

A code is named in these tables by a *ref*: ``{code_key_id}:{serial}`` for a signed code (unit,
case or pallet) and ``sscc:{18 digits}`` for an SSCC pallet. Packing writes one ``Aggregation``
row per child (unpacking stamps ``unpacked_at``, so history stays); a channel scan writes one
``ChannelEvent`` for the code scanned, whatever number of units it holds.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, export_key, new_id, utcnow


class PartnerKind(enum.StrEnum):
    warehouse = "warehouse"
    dealer = "dealer"
    store = "store"


class ChannelAction(enum.StrEnum):
    ship = "ship"
    receive = "receive"
    sell = "sell"
    # A customer return to the store that sold the unit.
    return_ = "return"
    recycle = "recycle"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Partner(Base):
    """A warehouse, dealer or store of a brand, with the territory it may sell in."""

    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind))
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(50))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))
    territory: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerInvite(Base):
    """A one-time code that makes the consumer who redeems it a clerk of the partner."""

    __tablename__ = "partner_invites"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    code: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerClerk(Base):
    """A consumer (mini-program user) who scans for a partner: one partner per consumer."""

    __tablename__ = "partner_clerks"
    __table_args__ = (UniqueConstraint("consumer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    invite_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partner_invites.id"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Aggregation(Base):
    """One child code packed in a parent (unit in case, case in pallet).

    At most one current parent per child: a partial unique index over rows not unpacked.
    """

    __tablename__ = "aggregations"
    __table_args__ = (
        Index(
            "uq_aggregations_current_child", "brand_id", "child_ref", unique=True,
            postgresql_where=text("unpacked_at IS NULL"),
            sqlite_where=text("unpacked_at IS NULL"),
        ),
        Index("ix_aggregations_parent", "brand_id", "parent_ref"),
        Index("ix_aggregations_child", "brand_id", "child_ref"),
        # "Is this batch in the channel?" (channel.verdictnotes, asked from the scan path)
        Index("ix_aggregations_child_batch", "brand_id", "child_batch_id"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    parent_ref: Mapped[str] = mapped_column(String(64))
    parent_level: Mapped[str] = mapped_column(String(10))
    parent_batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("code_batches.id"))
    child_ref: Mapped[str] = mapped_column(String(64))
    child_level: Mapped[str] = mapped_column(String(10))
    child_batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_batches.id"))
    child_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_keys.id"))
    child_serial: Mapped[int] = mapped_column(BigInteger)
    packed_at: Mapped[datetime] = mapped_column(default=utcnow)
    unpacked_at: Mapped[datetime | None]


class ChannelEvent(Base):
    """One channel scan of one code (a unit, a case or a pallet) by a partner's clerk."""

    __tablename__ = "channel_events"
    __table_args__ = (
        Index("ix_channel_events_export", "brand_id", "tx_seq", "id"),
        UniqueConstraint("clerk_id", "request_id"),
        Index("ix_channel_events_ref", "brand_id", "code_ref"),
        Index("ix_channel_events_partner", "brand_id", "partner_id"),
        Index("ix_channel_events_to_partner", "brand_id", "to_partner_id"),
        Index("ix_channel_events_batch", "brand_id", "code_batch_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    action: Mapped[ChannelAction] = mapped_column(_enum(ChannelAction))
    code_ref: Mapped[str] = mapped_column(String(64))
    code_level: Mapped[str] = mapped_column(String(10))
    code_batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("code_batches.id"))
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    clerk_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    to_partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))
    units: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tx_seq: Mapped[int] = export_key()
