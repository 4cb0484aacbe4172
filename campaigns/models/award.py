"""Awards (what a draw won) and payouts (how a red packet reaches the shopper)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.models.campaign import CampaignKind, Draw
from core.db import Base, export_key, new_id, utcnow


class AwardStatus(enum.StrEnum):
    pending = "pending"
    held = "held"
    awaiting_user = "awaiting_user"
    paid = "paid"
    failed = "failed"
    cancelled = "cancelled"
    credited = "credited"
    reversed = "reversed"


class PayoutStatus(enum.StrEnum):
    pending = "pending"
    held = "held"
    processing = "processing"
    awaiting_user = "awaiting_user"
    paid = "paid"
    failed = "failed"
    cancelled = "cancelled"


#: Award statuses that no longer count against the budget.
RELEASED = (AwardStatus.cancelled, AwardStatus.reversed, AwardStatus.failed)


class Award(Base):
    """A prize won by a consumer's scan: a red packet (fen) or points. One per campaign and code."""

    __tablename__ = "awards"
    __table_args__ = (
        Index("ix_awards_export", "brand_id", "tx_seq", "id"),
        UniqueConstraint("campaign_id", "code_key_id", "serial"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_awards_consumer_created", "consumer_id", "created_at"),
        Index("ix_awards_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Indexed by ix_awards_export's prefix.
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    draw_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("draws.id"), unique=True)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    kind: Mapped[CampaignKind] = mapped_column(Enum(CampaignKind, native_enum=False, length=20))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[AwardStatus] = mapped_column(Enum(AwardStatus, native_enum=False, length=20))
    scan_id: Mapped[uuid.UUID] = mapped_column(
        index=True
    )  # the fraud check looks awards up by scan
    code_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_keys.id"))
    serial: Mapped[int] = mapped_column(BigInteger)
    #: Why it was cancelled or reversed (``fraud:`` when a fraud review rejected it).
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    payout: Mapped[Payout | None] = relationship(back_populates="award", lazy="selectin")
    # Declared so that one flush inserts the draw before its award.
    draw: Mapped[Draw] = relationship(lazy="select")
    tx_seq: Mapped[int] = export_key()


class Payout(Base):
    """The payment of one red packet award; ``out_trade_no`` is ours and stable per award."""

    __tablename__ = "payouts"
    __table_args__ = (
        Index("ix_payouts_export", "brand_id", "tx_seq", "id"),  # also brand_id's index
        # A payout's id is its award's (``campaigns.payouts.payout_row``): the primary key keeps
        # one payout per award, with no second unique index written at every win.
        CheckConstraint("id = award_id", name="its_awards"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    award_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("awards.id"))
    provider: Mapped[str] = mapped_column(String(40))
    out_trade_no: Mapped[str] = mapped_column(String(28), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PayoutStatus] = mapped_column(
        Enum(PayoutStatus, native_enum=False, length=20), default=PayoutStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: False while the scan's fraud check has not passed (brand setting ``fraud_hold_payouts``):
    #: such a payout is not paid; the check clears it (and sends the payment) or holds it.
    cleared: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    client_action: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None]
    # The payouts state machine (campaigns.payouts): rounds are operator retries (a new trade
    # number each), round_attempts the sends of this round, processing_at the lease of a call.
    round: Mapped[int] = mapped_column(Integer, default=0)
    round_attempts: Mapped[int] = mapped_column(Integer, default=0)
    scene: Mapped[int | None] = mapped_column(Integer)
    processing_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    provider_status: Mapped[str | None] = mapped_column(String(32))
    provider_paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    provider_checked_at: Mapped[datetime | None]

    award: Mapped[Award] = relationship(back_populates="payout", lazy="joined")
    tx_seq: Mapped[int] = export_key()


class PayoutEvent(Base):
    """One line of a payout's history: a transition, a provider call or a notification."""

    __tablename__ = "payout_events"
    __table_args__ = (Index("ix_payout_events_payout_at", "payout_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    payout_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payouts.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # transition | call | notification
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    call: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(64))
