"""Fraud cases: a subject (consumer, device, IP, code batch, or a dealer for diversion), the
signals that opened it with their evidence, and the operator's decision."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, new_id, utcnow


class CaseKind(enum.StrEnum):
    consumer = "consumer"
    device = "device"
    ip = "ip"
    code_batch = "code_batch"
    diversion = "diversion"


class CaseStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20)


class FraudCase(Base):
    """One case for review; ``dedupe_key`` makes opening it idempotent (jobs may run twice)."""

    __tablename__ = "fraud_cases"
    __table_args__ = (
        UniqueConstraint("brand_id", "dedupe_key"),
        Index("ix_fraud_cases_brand_status", "brand_id", "status", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.open)
    subject: Mapped[str] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer, default=0)
    band: Mapped[str] = mapped_column(String(20), default="review")
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    award_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(String(2000))
