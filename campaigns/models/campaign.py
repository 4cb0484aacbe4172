"""Campaigns, their versions and prize tiers, per-consumer win counters, and recorded draws.

PostgreSQL is the record of every budget: ``Campaign.spent`` and ``PrizeTier.awarded`` only move
through guarded ``UPDATE``s and are bounded by CHECK constraints, so no interleaving of requests
can overspend even when the Redis pre-check (``campaigns.budget``) is wrong or lost.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, new_id, utcnow

#: Probabilities are kept as integer parts per million; a draw picks a value in [0, PPM).
PPM = 1_000_000


class CampaignKind(enum.StrEnum):
    red_packet = "red_packet"
    points = "points"


class Audience(enum.StrEnum):
    """Who a campaign rewards: shoppers' scans, or channel scans (clerks' sales, receipts)."""

    consumer = "consumer"
    clerk = "clerk"
    store = "store"
    dealer = "dealer"


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"


class DrawOutcome(enum.StrEnum):
    won = "won"
    no_prize = "no_prize"
    budget_exhausted = "budget_exhausted"
    tier_exhausted = "tier_exhausted"
    limit_reached = "limit_reached"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20)


class Campaign(Base):
    """A red-packet or points campaign of a brand; amounts are fen or points by ``kind``."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("budget > 0", name="budget_positive"),
        CheckConstraint("spent >= 0 AND spent <= budget", name="spent_within_budget"),
        CheckConstraint("ends_at > starts_at", name="window_ordered"),
        Index("ix_campaigns_brand_status", "brand_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CampaignKind] = mapped_column(_enum(CampaignKind))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.draft
    )
    budget: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    awards_count: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    per_consumer_per_day: Mapped[int | None] = mapped_column(Integer)
    per_consumer_total: Mapped[int | None] = mapped_column(Integer)
    product_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    code_batch_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Consumer segments (profiles.segments) whose members the campaign draws for.
    segment_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    new_consumers_only: Mapped[bool] = mapped_column(default=False)
    points_valid_days: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[Audience] = mapped_column(_enum(Audience), default=Audience.consumer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    tiers: Mapped[list[PrizeTier]] = relationship(
        primaryjoin="and_(Campaign.id == PrizeTier.campaign_id, PrizeTier.retired.is_(False))",
        order_by="PrizeTier.position",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def remaining(self) -> int:
        """Budget not yet awarded."""
        return self.budget - self.spent


class CampaignVersion(Base):
    """An immutable snapshot of a campaign's terms; draws name the version they ran under."""

    __tablename__ = "campaign_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrizeTier(Base):
    """One prize of a campaign: a fixed or ranged amount, a probability, an optional quantity.

    Changing an active campaign's prizes retires its tiers and creates new ones under a new
    version, so earlier draws keep pointing at the tier that decided them.
    """

    __tablename__ = "prize_tiers"
    __table_args__ = (
        CheckConstraint("min_amount > 0 AND max_amount >= min_amount", name="amounts_valid"),
        CheckConstraint("probability_ppm > 0 AND probability_ppm <= 1000000", name="probability"),
        CheckConstraint("quantity IS NULL OR awarded <= quantity", name="within_quantity"),
        CheckConstraint("awarded >= 0", name="awarded_nonnegative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(SmallInteger)
    min_amount: Mapped[int] = mapped_column(BigInteger)
    max_amount: Mapped[int] = mapped_column(BigInteger)
    probability_ppm: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)
    awarded: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(default=False)

    @property
    def is_fixed(self) -> bool:
        """True when the prize is one amount rather than a range."""
        return self.min_amount == self.max_amount

    @property
    def mean_amount(self) -> float:
        """The expected amount of one win of this tier (uniform over the range)."""
        return (self.min_amount + self.max_amount) / 2


class ConsumerWins(Base):
    """How often a consumer has won in a campaign, in total and on one (China) day."""

    __tablename__ = "campaign_consumer_wins"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[date] = mapped_column(Date)
    day_count: Mapped[int] = mapped_column(Integer, default=0)


class Draw(Base):
    """One prize draw: what decided it (version, tier, random value) and how it ended.

    At most one draw per campaign and code: a code's rewards are drawn once.
    """

    __tablename__ = "draws"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code_key_id", "serial"),
        Index("ix_draws_brand_consumer", "brand_id", "consumer_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    campaign_version: Mapped[int] = mapped_column(Integer)
    scan_id: Mapped[uuid.UUID]
    code_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_keys.id"))
    serial: Mapped[int] = mapped_column(BigInteger)
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    random_ppm: Mapped[int] = mapped_column(Integer)
    tier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prize_tiers.id"))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[DrawOutcome] = mapped_column(_enum(DrawOutcome))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
