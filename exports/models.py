"""The SQLite export clock (the audit log's table is ``core.audit``'s)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class ExportClock(Base):
    """SQLite only: the counter its triggers stamp exported rows with (one row). SQLite runs
    one writer at a time, so a counter taken inside the write is in commit order; PostgreSQL
    stamps transaction ids instead and leaves this row alone."""

    __tablename__ = "export_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
