"""Products, lots, code keys, code batches (serial ranges), per-code state and scan events.

There is no row per code until its first scan: a batch is a serial range under one key, and a
``CodeState`` row appears when a code is first verified.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from core.db import Base, export_key, new_id, utcnow


class Product(Base):
    """A trade item of a brand, identified by its GTIN."""

    __tablename__ = "products"
    # GS1 assigns company prefixes: a GTIN is one brand's in a deployment (issue 16).
    __table_args__ = (UniqueConstraint("gtin"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str] = mapped_column(String(14))
    sku: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductBatch(Base):
    """A production lot of a product."""

    __tablename__ = "product_batches"
    __table_args__ = (UniqueConstraint("product_id", "lot"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    lot: Mapped[str] = mapped_column(String(20))
    production_date: Mapped[date]
    expiry_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")


class CodeKeyRecord(Base):
    """One version of a brand's code key. Old versions keep verifying the codes they signed."""

    __tablename__ = "code_keys"
    __table_args__ = (
        UniqueConstraint("key_id"),
        CheckConstraint("next_serial >= 0 AND next_serial <= 68719476736", name="serial_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    key_id: Mapped[int] = mapped_column(Integer)  # the 16 bits printed in every code
    secret: Mapped[str] = mapped_column(EncryptedText)  # base64
    pin_secret: Mapped[str] = mapped_column(EncryptedText)  # base64
    is_current: Mapped[bool] = mapped_column(default=True)
    is_revoked: Mapped[bool] = mapped_column(default=False)
    next_serial: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchStatus(enum.StrEnum):
    generated = "generated"
    active = "active"
    revoked = "revoked"


class CodeLevel(enum.StrEnum):
    """The packaging level a batch's codes are printed for."""

    unit = "unit"
    case = "case"
    pallet = "pallet"


class Activation(enum.StrEnum):
    """How a batch's units become active: the batch's activation, or each unit's warehouse
    out-scan (``on_ship``: a code pack stolen from the factory is worthless)."""

    manual = "manual"
    on_ship = "on_ship"


class CodeBatch(Base):
    """A range of serials under one key, printed for one product (and optionally one lot)."""

    __tablename__ = "code_batches"
    __table_args__ = (
        Index("ix_code_batches_key_serial", "code_key_id", "serial_start"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    product_batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("product_batches.id"))
    code_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_keys.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    pin_digits: Mapped[int] = mapped_column(SmallInteger, default=8)
    status: Mapped[BatchStatus] = mapped_column(
        Enum(BatchStatus, native_enum=False, length=16), default=BatchStatus.generated
    )
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    level: Mapped[CodeLevel] = mapped_column(
        Enum(CodeLevel, native_enum=False, length=10), default=CodeLevel.unit
    )
    activation: Mapped[Activation] = mapped_column(
        Enum(Activation, native_enum=False, length=10), default=Activation.manual
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship(lazy="joined")
    product_batch: Mapped[ProductBatch | None] = relationship(lazy="joined")
    # Not joined on the scan path: loading a key decrypts its secrets; scans use the key ring.
    code_key: Mapped[CodeKeyRecord] = relationship(lazy="select")

    @property
    def serial_stop(self) -> int:
        """One past the last serial of the batch."""
        return self.serial_start + self.quantity


class CodeActivation(Base):
    """Serials of an ``on_ship`` batch made active by a warehouse out-scan, as ranges.

    A pallet's units are usually consecutive serials, so a 960-unit ship is a row or a few.
    """

    __tablename__ = "code_activations"
    __table_args__ = (
        Index("ix_code_activations_batch_start", "code_batch_id", "serial_start"),
        CheckConstraint("serial_stop > serial_start", name="range_ordered"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    code_batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_batches.id"))
    serial_start: Mapped[int] = mapped_column(BigInteger)
    serial_stop: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(64))  # what activated them (a channel event id)
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CodeState(Base):
    """What is known about one code once it has been scanned: created at its first scan."""

    __tablename__ = "code_states"
    __table_args__ = (UniqueConstraint("code_key_id", "serial"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    code_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_keys.id"))
    serial: Mapped[int] = mapped_column(BigInteger)
    code_batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_batches.id"), index=True)
    scan_count: Mapped[int] = mapped_column(default=0)
    distinct_consumers: Mapped[int] = mapped_column(default=0)
    distinct_devices: Mapped[int] = mapped_column(default=0)
    first_scanned_at: Mapped[datetime]
    first_consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"))
    first_region: Mapped[str | None] = mapped_column(String(50))
    last_scanned_at: Mapped[datetime]
    is_suspect: Mapped[bool] = mapped_column(default=False)


class ScanEvent(Base):
    """One processed scan of a genuine code (append-only; forged codes are logged in Redis)."""

    __tablename__ = "scan_events"
    __table_args__ = (
        Index("ix_scan_events_export", "brand_id", "tx_seq", "id"),
        Index("ix_scan_events_code_state_at", "code_state_id", "created_at"),
        # The fraud check's look-ups: a device's or an address's scans, a batch's suspect copies.
        Index("ix_scan_events_brand_device", "brand_id", "device_id"),
        Index("ix_scan_events_brand_ip", "brand_id", "ip"),
        Index("ix_scan_events_batch_verdict", "code_batch_id", "verdict"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    code_batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code_batches.id"))
    code_state_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("code_states.id"))
    serial: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(20))
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50))
    scene: Mapped[int | None] = mapped_column(Integer)
    pin_verified: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tx_seq: Mapped[int] = export_key()
