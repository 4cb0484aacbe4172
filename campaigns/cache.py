"""The active campaigns of a brand as draws see them: frozen snapshots, cached per process.

Every logged-in first scan asks "which campaigns are running for this brand?". Reading them
from PostgreSQL each time costs a query (and a transaction) per scan even for brands without
campaigns, so each process keeps snapshots per brand. Whether they are current is decided in
Redis, as for code batches (``scans.batchcache``): each brand has a *campaign version
token* (``cmp:ver:{brand}``), replaced by a new random value when one of its campaigns changes,
once at the change and again after the transaction commits. A draw reads the token (one Redis
GET) and reloads when it moved; the reload reads the token before the database, so a change
committed in between is caught by the next draw. Copies older than ``MAX_AGE_SECONDS`` are
reloaded anyway (a lost post-commit bump cannot leave a copy stale for long). Money never
depends on the cache: the guarded updates in PostgreSQL decide every win.

The snapshots also carry the brand's payout terms (its provider, and whether red packets wait for
the scan's fraud check), so a winning scan reads no brand row; a change of the brand's settings
bumps the token like a campaign change (``accounts.service.on_brand_updated``, wired in
``app.py``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from accounts.models import Brand
from campaigns import payouts
from campaigns.models import Campaign, CampaignKind, CampaignStatus
from campaigns.payouts import config as payout_config
from core import txhooks
from core.broker import redis_client
from core.db import db

MAX_AGE_SECONDS = 60.0
TOKEN_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class TierInfo:
    """A prize tier as a draw needs it."""

    id: uuid.UUID
    min_amount: int
    max_amount: int
    probability_ppm: int
    quantity: int | None


@dataclass(frozen=True)
class CampaignInfo:
    """An active campaign's terms as a draw needs them, no ORM attached."""

    id: uuid.UUID
    brand_id: uuid.UUID
    kind: CampaignKind
    version: int
    starts_at: datetime
    ends_at: datetime
    tiers: tuple[TierInfo, ...]
    per_consumer_per_day: int | None
    per_consumer_total: int | None
    product_ids: frozenset[str]
    code_batch_ids: frozenset[str]
    regions: frozenset[str]
    new_consumers_only: bool
    points_valid_days: int | None
    segment_ids: frozenset[uuid.UUID] = frozenset()
    audience: str = "consumer"
    #: The brand's payout terms when the snapshot was taken (``campaigns.payouts.config``).
    payout_provider: str = payout_config.SANDBOX
    payouts_cleared: bool = False  # red packets paid at once (no fraud hold)

    def runs_at(self, at: datetime) -> bool:
        """Whether ``at`` is inside the campaign's window."""
        return self.starts_at <= at < self.ends_at


def snapshot(c: Campaign, brand: Brand | None = None) -> CampaignInfo:
    """A frozen copy of a campaign and its current tiers, with its brand's payout terms."""
    tiers = tuple(
        TierInfo(t.id, t.min_amount, t.max_amount, t.probability_ppm, t.quantity) for t in c.tiers
    )
    return CampaignInfo(
        c.id, c.brand_id, c.kind, c.version, c.starts_at, c.ends_at, tiers,
        c.per_consumer_per_day, c.per_consumer_total, frozenset(c.product_ids),
        frozenset(c.code_batch_ids), frozenset(c.regions), c.new_consumers_only,
        c.points_valid_days, frozenset(uuid.UUID(s) for s in c.segment_ids),
        audience=c.audience.value,
        payout_provider=payout_config.provider_for(brand) if brand else payout_config.SANDBOX,
        payouts_cleared=not payouts.waits_for_fraud_check(brand),
    )  # fmt: skip


def token_key(brand_id: uuid.UUID) -> str:
    """The Redis key of a brand's campaign version token."""
    return f"cmp:ver:{brand_id}"


def _bump(redis: Redis, brand_id: uuid.UUID) -> None:
    redis.set(token_key(brand_id), secrets.token_hex(8), ex=TOKEN_TTL_SECONDS)


def campaigns_changed(brand_id: uuid.UUID) -> None:
    """Invalidate every process's copy of the brand's campaigns, now and after the commit."""
    redis = redis_client()
    _bump(redis, brand_id)
    txhooks.on_commit(db.session(), lambda: _bump(redis, brand_id))


@dataclass(frozen=True)
class _Entry:
    token: bytes | None
    read_at: float
    campaigns: tuple[CampaignInfo, ...]


class CampaignCache:
    """The active campaigns of each brand this process has drawn for."""

    def __init__(self) -> None:
        self._brands: dict[uuid.UUID, _Entry] = {}

    def active(self, redis: Redis, brand_id: uuid.UUID) -> tuple[CampaignInfo, ...]:
        """The brand's active campaigns (any window), ordered by id."""
        token = redis.get(token_key(brand_id))
        entry = self._brands.get(brand_id)
        fresh = entry is not None and time.monotonic() - entry.read_at < MAX_AGE_SECONDS
        if entry is None or not fresh or token is None or token != entry.token:
            entry = self._load(redis, brand_id)
        return entry.campaigns

    def forget(self, brand_id: uuid.UUID) -> None:
        """Drop the brand's copy (a draw found it out of date): the next read reloads."""
        self._brands.pop(brand_id, None)

    def _load(self, redis: Redis, brand_id: uuid.UUID) -> _Entry:
        """Read the brand's campaigns (token first). Threads that find the copy stale together
        each read it: none waits for another's load, because the caller may hold row locks
        (a redraw after a stale claim in the request's transaction) that the other's load,
        waiting for a pooled connection, may be queued behind. A copy stored by a slower,
        older load carries its older token: the next read sees the token moved and reloads."""
        read_at = time.monotonic()
        token: bytes | None = redis.get(token_key(brand_id))  # type: ignore[assignment]
        if token is None:
            _bump(redis, brand_id)
            token = redis.get(token_key(brand_id))  # type: ignore[assignment]
        rows = db.session.scalars(
            select(Campaign)
            .where(Campaign.brand_id == brand_id, Campaign.status == CampaignStatus.active)
            .order_by(Campaign.id)
            .options(joinedload(Campaign.tiers))
        ).unique()
        campaigns = tuple(rows)
        brand = db.session.get(Brand, brand_id) if campaigns else None
        entry = _Entry(token, read_at, tuple(snapshot(c, brand) for c in campaigns))
        self._brands[brand_id] = entry
        return entry


def init_app(app: Flask) -> None:
    """Give the app its campaign cache (``create_app``; tests call it again for an empty one)."""
    app.extensions["campaign_cache"] = CampaignCache()


def campaign_cache() -> CampaignCache:
    """The current app's campaign cache (created with the app by ``init_app``)."""
    cache: CampaignCache = current_app.extensions["campaign_cache"]
    return cache
