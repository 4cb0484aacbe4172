"""Brands and staff users."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import EncryptedText
from core.db import Base, new_id, utcnow


class Role(enum.StrEnum):
    """What a staff user may do; owners may do everything in their brand."""

    owner = "owner"
    marketer = "marketer"
    analyst = "analyst"
    operator = "operator"


class Brand(Base):
    """A tenant. Every tenant-owned row carries its ``brand_id``."""

    __tablename__ = "brands"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # WeChat credentials; secrets are encrypted at rest. Empty means "use the process defaults".
    wechat_appid: Mapped[str | None] = mapped_column(String(64))
    wechat_secret: Mapped[str | None] = mapped_column(EncryptedText)
    pay_mch_id: Mapped[str | None] = mapped_column(String(32))
    pay_api_key: Mapped[str | None] = mapped_column(EncryptedText)
    pay_apiv3_key: Mapped[str | None] = mapped_column(EncryptedText)
    pay_mch_cert_path: Mapped[str | None] = mapped_column(String(500))
    pay_mch_key_path: Mapped[str | None] = mapped_column(String(500))
    pay_private_key_path: Mapped[str | None] = mapped_column(String(500))
    pay_cert_serial: Mapped[str | None] = mapped_column(String(64))
    pay_public_key_path: Mapped[str | None] = mapped_column(String(500))
    pay_public_key_id: Mapped[str | None] = mapped_column(String(64))

    staff: Mapped[list[StaffUser]] = relationship(back_populates="brand", lazy="raise")


class StaffUser(Base):
    """A brand's console user; logs in with email and password."""

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change or deactivation: older tokens stop working.
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    brand: Mapped[Brand] = relationship(back_populates="staff", lazy="joined")
