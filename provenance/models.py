"""Parties of a supply chain, lots, EPCIS events (with the lots they touch) and signed claims.

An event is stored twice over: as the EPCIS 2.0 JSON it was captured as (``document``, exported
unchanged in meaning) and as the few columns the story and the carbon allocation need (time,
actor, emissions, and one ``EventLot`` row per lot it consumed or fed).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, new_id, utcnow


class PartyRole(enum.StrEnum):
    primary_producer = "primary_producer"
    refiner = "refiner"
    biochemist = "biochemist"
    formulator = "formulator"
    filler = "filler"
    packer = "packer"
    distributor = "distributor"
    retailer = "retailer"
    recycler = "recycler"


class Party(Base):
    """A company or site of a brand's supply chain; ``uri`` is how EPCIS documents name it."""

    __tablename__ = "provenance_parties"
    __table_args__ = (
        UniqueConstraint("brand_id", "uri"),
        CheckConstraint("lat >= -90 AND lat <= 90", name="lat_range"),
        CheckConstraint("lng >= -180 AND lng <= 180", name="lng_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    uri: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[PartyRole] = mapped_column(Enum(PartyRole, native_enum=False, length=20))
    location_name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(2))
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    gln: Mapped[str | None] = mapped_column(String(13))
    public_key: Mapped[str | None] = mapped_column(String(64))  # base64 of the raw 32 bytes
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lot(Base):
    """A class-level lot (GTIN + lot number) known to a brand's provenance graph."""

    __tablename__ = "provenance_lots"
    __table_args__ = (UniqueConstraint("brand_id", "gtin", "lot"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    gtin: Mapped[str] = mapped_column(String(14))
    lot: Mapped[str] = mapped_column(String(20))
    #: The brand's own production lot with this GTIN and number, when there is one.
    product_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product_batches.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def uri(self) -> str:
        """The lot's canonical EPCIS class-level id (GS1 Digital Link)."""
        return f"https://id.gs1.org/01/{self.gtin}/10/{self.lot}"


class Event(Base):
    """One captured EPCIS event: who did what, when, where, with which lots."""

    __tablename__ = "provenance_events"
    __table_args__ = (
        UniqueConstraint("brand_id", "event_uri"),
        Index("ix_provenance_events_brand_time", "brand_id", "event_time"),
        CheckConstraint("co2e_kg IS NULL OR co2e_kg >= 0", name="co2e_non_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    event_uri: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))  # ObjectEvent, TransformationEvent, ...
    action: Mapped[str | None] = mapped_column(String(10))
    biz_step: Mapped[str | None] = mapped_column(String(300))
    event_time: Mapped[datetime]
    record_time: Mapped[datetime] = mapped_column(default=utcnow)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provenance_parties.id"), index=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    co2e_kg: Mapped[float | None] = mapped_column(Float)
    water_l: Mapped[float | None] = mapped_column(Float)
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The event as captured (EPCIS 2.0 JSON-LD, compact form), without ``recordTime``.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)

    party: Mapped[Party] = relationship(lazy="joined")
    lots: Mapped[list[EventLot]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventLot.position"
    )
    claims: Mapped[list[Claim]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Claim.position"
    )


class LotRole(enum.StrEnum):
    input = "input"  # consumed by a transformation
    output = "output"  # created: a transformation's output, an ObjectEvent ADD
    observed = "observed"  # handled (shipped, stored, inspected): the event's emissions go to it


class EventLot(Base):
    """A lot an event consumed, created or handled, with the quantity involved."""

    __tablename__ = "provenance_event_lots"
    __table_args__ = (
        UniqueConstraint("event_id", "lot_id", "role"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provenance_events.id"), index=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provenance_lots.id"), index=True)
    role: Mapped[LotRole] = mapped_column(Enum(LotRole, native_enum=False, length=10))
    quantity: Mapped[float] = mapped_column(Float)
    uom: Mapped[str | None] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="lots")
    lot: Mapped[Lot] = relationship(lazy="joined")


class Claim(Base):
    """A statement a party signs about an event (Ed25519 over RFC 8785 canonical JSON).

    Stored whatever its signature: whether it verifies is decided when a story is built, under
    the key registered for the party, and only then is it shown as verified.
    """

    __tablename__ = "provenance_claims"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provenance_events.id"), index=True)
    statement: Mapped[str] = mapped_column(String(2000))
    #: The ``party_id`` as the claim gives it (it may name no known party).
    party_ref: Mapped[str] = mapped_column(String(300))
    party_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("provenance_parties.id"))
    issued_at: Mapped[str] = mapped_column(String(40))  # as signed: the exact string matters
    signature: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="claims")
    party: Mapped[Party | None] = relationship(lazy="joined")
