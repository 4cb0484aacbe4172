"""Fraud cases, decisions, blocks, appeals, per-brand rule settings and per-scan checks."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, export_key, new_id, utcnow


class CaseKind(enum.StrEnum):
    consumer = "consumer"
    device = "device"
    ip = "ip"
    code_batch = "code_batch"
    diversion = "diversion"


class CaseStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"


class Decision(enum.StrEnum):
    release = "release"
    reject = "reject"
    block = "block"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20)


class FraudCase(Base):
    """One subject (a consumer, device, IP, code batch, or a diverted shipment) under review.

    At most one open case per subject: later signals update it (score, band, signals, awards).
    """

    __tablename__ = "fraud_cases"
    __table_args__ = (
        Index(
            "uq_fraud_cases_open_subject", "brand_id", "kind", "subject", unique=True,
            postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'"),
        ),
        Index("ix_fraud_cases_brand_status_opened", "brand_id", "status", "opened_at"),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    subject: Mapped[str] = mapped_column(String(128))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.open)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    band: Mapped[str] = mapped_column(String(10), default="review")
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]
    decision: Mapped[Decision | None] = mapped_column(_enum(Decision))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class CaseAward(Base):
    """An award held (or decided) under a case."""

    __tablename__ = "fraud_case_awards"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fraud_cases.id"), primary_key=True)
    award_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("awards.id"), primary_key=True, index=True
    )


class FraudDecision(Base):
    """Who decided what about a case, when and why (append-only; the ``fraud_decisions`` export)."""

    __tablename__ = "fraud_decisions"
    __table_args__ = (Index("ix_fraud_decisions_export", "brand_id", "tx_seq", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fraud_cases.id"), index=True)
    decision: Mapped[Decision] = mapped_column(_enum(Decision))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    award_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tx_seq: Mapped[int] = export_key()


class Block(Base):
    """A subject that gets no further rewards, until an operator lifts the block."""

    __tablename__ = "fraud_blocks"
    __table_args__ = (UniqueConstraint("brand_id", "kind", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    subject: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fraud_cases.id"))
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    """A shopper's one appeal against a held or rejected reward."""

    __tablename__ = "fraud_appeals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    award_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("awards.id"), unique=True)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fraud_cases.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleSettingRow(Base):
    """A brand's setting of one rule; rules without a row use their defaults."""

    __tablename__ = "fraud_rule_settings"

    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    weight: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScanCheck(Base):
    """A scan's fraud check has run: its payout may proceed (or was held). The gate's record."""

    __tablename__ = "fraud_scan_checks"

    scan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    band: Mapped[str] = mapped_column(String(10))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
