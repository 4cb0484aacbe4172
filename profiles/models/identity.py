"""Consumers and their WeChat identities."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, new_id, utcnow


class Consumer(Base):
    """A shopper of one brand. Personal data is minimal: WeChat ids, not names or phones."""

    __tablename__ = "consumers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set by ``DELETE /api/v1/me``: the row stays as an anonymous tombstone that scans, awards
    #: and ledgers keep pointing at; its identities, profile and preferences are gone.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    #: When the erasure's second half (payouts settled, data removed) finished.
    erasure_done_at: Mapped[datetime | None] = mapped_column(default=None)

    identities: Mapped[list[WechatIdentity]] = relationship(back_populates="consumer", lazy="raise")


class WechatIdentity(Base):
    """One openid of a consumer (per WeChat app); the unionid links apps of one WeChat account."""

    __tablename__ = "wechat_identities"
    __table_args__ = (
        UniqueConstraint("brand_id", "appid", "openid"),
        Index("ix_wechat_identities_brand_unionid", "brand_id", "unionid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id"))
    consumer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consumers.id"), index=True)
    appid: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consumer: Mapped[Consumer] = relationship(back_populates="identities", lazy="joined")
