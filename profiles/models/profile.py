"""Derived profiles: written only by the profile jobs, only for consumers who consent to profiling.

``ConsumerProfile`` holds the per-consumer facts (one row); the one-to-many facts (products,
cities, interests) have their own narrow tables, which keep the counts and times, and are also
copied onto the profile row as lists (``provinces``, ``cities``, ``product_ids``, ``categories``,
``interests``; PostgreSQL arrays with GIN indexes, JSON lists on SQLite) so that a segment is one
pass over one row per consumer, with no join (``profiles.derived.lists`` keeps them equal).
``ProfileScan`` is the profile's own record of the scans it has applied: it makes the jobs
idempotent (a scan is applied once, whatever retries happen), lets the window sweep move
``scans_90d`` forward, and feeds discovered segments (this week against last week).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

#: A list of strings: ``text[]`` on PostgreSQL (GIN-indexable, ``&&``), a JSON list on SQLite.
TextList = JSON().with_variant(ARRAY(Text), "postgresql")
LIST_COLUMNS = ("provinces", "cities", "product_ids", "categories", "interests")


class ConsumerProfile(Base):
    """One consenting consumer's derived attributes (lifecycle is derived from the scan times)."""

    __tablename__ = "consumer_profiles"
    __table_args__ = (
        Index("ix_consumer_profiles_brand_last", "brand_id", "last_scan_at"),
        Index("ix_consumer_profiles_brand_first", "brand_id", "first_scan_at"),
        Index("ix_consumer_profiles_brand_scans90", "brand_id", "scans_90d"),
        Index("ix_consumer_profiles_brand_rating", "brand_id", "rating_avg"),
        *(
            Index(f"ix_consumer_profiles_{name}", name, postgresql_using="gin")
            for name in LIST_COLUMNS
        ),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    first_scan_at: Mapped[datetime | None]
    last_scan_at: Mapped[datetime | None]
    scan_count: Mapped[int] = mapped_column(Integer, default=0)
    scans_90d: Mapped[int] = mapped_column(Integer, default=0)
    #: Scans made while one of the brand's cash (red packet) campaigns ran.
    reward_scans: Mapped[int] = mapped_column(Integer, default=0)
    reward_ratio: Mapped[float | None] = mapped_column(Float)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_avg: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Copies of the narrow tables, each value once (segments read only this row).
    #: ``product_ids`` holds each id as the backend stores a UUID (dashed text on PostgreSQL,
    #: 32 hex digits on SQLite); ``provinces`` and ``cities`` leave out unknown ('') places.
    provinces: Mapped[list[str]] = mapped_column(TextList, default=list)
    cities: Mapped[list[str]] = mapped_column(TextList, default=list)
    product_ids: Mapped[list[str]] = mapped_column(TextList, default=list)
    categories: Mapped[list[str]] = mapped_column(TextList, default=list)
    interests: Mapped[list[str]] = mapped_column(TextList, default=list)


class ProfileProduct(Base):
    """How often a consumer scanned one product (and its category)."""

    __tablename__ = "profile_products"
    __table_args__ = (
        Index("ix_profile_products_brand_product", "brand_id", "product_id", "consumer_id"),
        Index("ix_profile_products_brand_category", "brand_id", "category", "consumer_id"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    category: Mapped[str] = mapped_column(String(100), default="")
    scans: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileCity(Base):
    """A city (never finer) where a consumer scanned; ``city`` is '' when only the province is
    known."""

    __tablename__ = "profile_cities"
    __table_args__ = (
        Index("ix_profile_cities_brand_province", "brand_id", "province", "consumer_id"),
        Index("ix_profile_cities_brand_city", "brand_id", "city", "consumer_id"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    province: Mapped[str] = mapped_column(String(50), primary_key=True)
    city: Mapped[str] = mapped_column(String(50), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    scans: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileInterest(Base):
    """An interest: stated in the consumer's preferences, or a category they scanned."""

    __tablename__ = "profile_interests"
    __table_args__ = (
        Index("ix_profile_interests_brand_interest", "brand_id", "interest", "consumer_id"),
    )

    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    interest: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    #: ``stated`` (preferences) or ``scanned`` (a category of a scanned product).
    source: Mapped[str] = mapped_column(String(16))


class ProfileScan(Base):
    """A scan applied to a profile (the job's idempotency key and the weekly trend's input)."""

    __tablename__ = "profile_scans"
    __table_args__ = (
        Index("ix_profile_scans_brand_at", "brand_id", "at"),
        Index("ix_profile_scans_window", "in_window", "at"),
        Index("ix_profile_scans_consumer", "consumer_id"),
    )

    scan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    province: Mapped[str] = mapped_column(String(50), default="")
    city: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime]
    #: True while the scan counts in ``scans_90d`` (the window sweep turns it off).
    in_window: Mapped[bool] = mapped_column(default=True)
