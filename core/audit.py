"""The audit log: sensitive staff actions, recorded by the services that perform them.

It lives on the ground floor because every feature package records into it; ``exports`` reads
it (``GET /api/v1/audit-log``, the ``audit`` stream).

A service that changes something sensitive calls ``record`` in the same transaction as the
change, so the entry exists exactly when the change does. The view passes the ``Actor`` (the
staff user and the client address, ``request.remote_addr`` after ``TRUSTED_PROXIES``); the
command line passes ``CLI`` (no staff, no address). Secrets never reach the log: values under a
key that names a secret are replaced by ``"[redacted]"``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event, select
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from core.db import Base, db, export_key, new_id, utcnow
from core.queries import page

REDACTED = "[redacted]"
_SECRET = re.compile(r"secret|password|passwd|api_?key|private|token|pin\b|pins\b|_key$|^key$|cert",
                     re.IGNORECASE)  # fmt: skip


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


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit log's listing (days are UTC, ``to`` included)."""

    action: str | None = None
    staff_id: uuid.UUID | None = None
    from_: date | None = None
    to: date | None = None


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user and the address the request came from (None on the CLI)."""

    staff_id: uuid.UUID | None
    ip: str | None


#: Actions taken from the command line (operators at the server, not a staff account).
CLI = Actor(None, None)


class AppendOnly(Exception):
    """The audit log is never updated or deleted."""


def redact(value: Any) -> Any:
    """``value`` with every entry under a secret-sounding key replaced by ``"[redacted]"``."""
    if isinstance(value, dict):
        return {
            str(k): REDACTED if _SECRET.search(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record(
    brand_id: uuid.UUID, actor: Actor, action: str, target: str, changes: dict[str, Any] | None
) -> AuditEntry:
    """Add the entry of ``action`` on ``target`` (in the caller's transaction; no commit)."""
    entry = AuditEntry(
        brand_id=brand_id, at=utcnow(), staff_id=actor.staff_id, action=action,
        target=target[:200], ip=actor.ip, changes=redact(changes or {}),
    )  # fmt: skip
    db.session.add(entry)
    return entry


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries(
    brand_id: uuid.UUID, query: AuditQuery, number: int, size: int
) -> tuple[list[Any], int]:
    """One page of the brand's audit log, newest first, filtered by action, staff and days."""
    q = select(AuditEntry).where(AuditEntry.brand_id == brand_id)
    if query.action:
        q = q.where(AuditEntry.action == query.action)
    if query.staff_id:
        q = q.where(AuditEntry.staff_id == query.staff_id)
    if query.from_:
        q = q.where(AuditEntry.at >= _day_start(query.from_))
    if query.to:
        q = q.where(AuditEntry.at < _day_start(query.to) + timedelta(days=1))
    return page(q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()), number, size)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse(_mapper: Mapper[Any], _connection: Any, _target: AuditEntry) -> None:
    raise AppendOnly("the audit log is append-only")
