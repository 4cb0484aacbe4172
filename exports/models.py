"""The audit log and the SQLite export clock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, export_key, new_id, utcnow


class AuditEntry(Base):
    """One sensitive staff action: who, when, from where, on what, what changed (append-only:
    no code path updates or deletes a row, and on PostgreSQL a trigger refuses it)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_export", "brand_id", "tx_seq", "id"),
        Index("ix_audit_log_brand_at", "brand_id", "at"),
        Index("ix_audit_log_brand_action_at", "brand_id", "action", "at"),
        Index("ix_audit_log_brand_staff_at", "brand_id", "staff_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None for actions taken outside a staff request (the command line).
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(45))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tx_seq: Mapped[int] = export_key()


class ExportClock(Base):
    """SQLite only: the counter its triggers stamp exported rows with (one row). SQLite runs
    one writer at a time, so a counter taken inside the write is in commit order; PostgreSQL
    stamps transaction ids instead and leaves this row alone."""

    __tablename__ = "export_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
