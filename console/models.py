"""Rollups behind the reports: scans per hour and per day by dimension, consumers per day."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class _ScanCounts:
    """The columns of both scan rollups: a brand's scans on a day by product, place and verdict."""

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    province: Mapped[str] = mapped_column(String(50), default="")
    city: Mapped[str] = mapped_column(String(50), default="")
    verdict: Mapped[str] = mapped_column(String(20))
    scans: Mapped[int] = mapped_column(BigInteger, default=0)


class ScanRollup(_ScanCounts, Base):
    """Scans of one brand in one China-time hour, by product, place and verdict.

    Maintained by the write-behind (``console.rollups``), rebuilt exactly from ``scan_events`` for
    recent days by a sweep; forged codes (never in ``scan_events``) are counted from their stream.
    ``province``/``city`` are ``""`` when unknown, ``product_id`` is None for forged codes.
    """

    __tablename__ = "scan_rollups"
    __table_args__ = (
        Index(
            "uq_scan_rollups_key",
            "brand_id",
            "day",
            "hour",
            "product_id",
            "province",
            "city",
            "verdict",
            unique=True,
        ),  # fmt: skip
    )

    hour: Mapped[int] = mapped_column(SmallInteger)


class ScanRollupDay(_ScanCounts, Base):
    """``ScanRollup`` without the hour: what every report but ``group_by=hour`` reads (24 times
    fewer rows). Kept in the same transactions as the hourly rows (``console.rollups``)."""

    __tablename__ = "scan_rollup_days"
    __table_args__ = (
        Index(
            "uq_scan_rollup_days_key",
            "brand_id",
            "day",
            "product_id",
            "province",
            "city",
            "verdict",
            unique=True,
        ),  # fmt: skip
    )


class ConsumerDay(Base):
    """A consumer scanned a product in a place on a (China-time) day: distinct-consumer counts."""

    __tablename__ = "consumer_days"
    __table_args__ = (Index("ix_consumer_days_brand_day", "brand_id", "day"),)

    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), primary_key=True)
    province: Mapped[str] = mapped_column(String(50), primary_key=True, default="")
    city: Mapped[str] = mapped_column(String(50), primary_key=True, default="")
    # No foreign key: an erased consumer's days stay counted under an id that names nobody.
    consumer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
