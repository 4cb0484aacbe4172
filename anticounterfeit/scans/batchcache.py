"""Code batches as the scan path sees them: plain snapshots, cached per process.

A scan must know the batch of a serial (its product, lot and status) without a query. Each
process keeps the batches of every code key it has scanned, as frozen dataclasses sorted by first
serial. Whether a cached copy is current is decided in Redis: each code key has a *batch version
token* (``scan:v1:batches:{key}``), replaced by a new random value whenever a batch of that key is
created, activated or revoked, once when the change is made and again after its transaction
commits (``batches_changed``). The scan's one Redis call is given the token the process holds and
records nothing when it differs: the process reloads that key's batches and retries. So a
revocation is seen by every process at its next scan, without an extra round trip; and because
tokens are random, a token lost with Redis reads as a mismatch, never as a match.

Ordering makes this safe: a reload reads the token *before* the database, so a change committed
between the two leaves the process with old data under an old token, which the next scan reports
as stale. A copy older than ``MAX_AGE_SECONDS`` is reloaded anyway, which bounds staleness if a
post-commit bump is ever lost (Redis down at that moment, process killed).
"""

from __future__ import annotations

import bisect
import logging
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date

from flask import Flask, current_app
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError
from sqlalchemy import select

from accounts.models import Brand
from anticounterfeit.models import BatchStatus, CodeBatch
from anticounterfeit.scans.state import version_key
from core import txhooks
from core.broker import redis_client
from core.db import db

log = logging.getLogger(__name__)
MAX_AGE_SECONDS = 60.0
TOKEN_TTL_SECONDS = 86_400  # an expired token only costs every process one reload

# The current token, created if missing (first use, or lost with Redis).
_TOKEN = Script(
    None,  # type: ignore[arg-type]
    b"""
local token = redis.call('GET', KEYS[1])
if not token then
  token = ARGV[1]
  redis.call('SET', KEYS[1], token, 'EX', ARGV[2])
end
return token
""",
)


@dataclass(frozen=True)
class ProductInfo:
    """The product of a batch, and the brand that owns its GTIN (shown to the shopper)."""

    id: uuid.UUID
    name: str
    gtin: str
    brand_slug: str = ""
    brand_name: str = ""


@dataclass(frozen=True)
class LotInfo:
    """The production lot of a batch."""

    id: uuid.UUID
    lot: str
    production_date: date
    expiry_date: date | None


@dataclass(frozen=True)
class BatchInfo:
    """A code batch with its product and lot: what a scan needs, no ORM attached."""

    id: uuid.UUID
    brand_id: uuid.UUID
    product_id: uuid.UUID
    code_key_id: uuid.UUID
    serial_start: int
    quantity: int
    pin_digits: int
    status: BatchStatus
    product: ProductInfo
    product_batch: LotInfo | None
    level: str = "unit"  # CodeLevel
    activation: str = "manual"  # Activation: "on_ship" units activate at their out-scan

    @property
    def serial_stop(self) -> int:
        """One past the last serial of the batch."""
        return self.serial_start + self.quantity


@dataclass(frozen=True)
class KeyBatches:
    """Every batch of one code key, sorted by first serial, and the token they were read under."""

    token: str
    read_at: float  # time.monotonic() when the token was read, before the database
    starts: tuple[int, ...]
    batches: tuple[BatchInfo, ...]

    def find(self, serial: int) -> BatchInfo | None:
        """The batch whose serial range holds ``serial``."""
        i = bisect.bisect_right(self.starts, serial) - 1
        if i < 0:
            return None
        batch = self.batches[i]
        return batch if serial < batch.serial_stop else None


def snapshot(batch: CodeBatch) -> BatchInfo:
    """A frozen copy of a batch, its product and its lot."""
    p, lot = batch.product, batch.product_batch
    brand = db.session.get(Brand, batch.brand_id)  # identity map: one read per brand and load
    product = ProductInfo(p.id, p.name, p.gtin, brand.slug if brand else "",
                          brand.name if brand else "")  # fmt: skip
    return BatchInfo(
        batch.id, batch.brand_id, batch.product_id, batch.code_key_id, batch.serial_start,
        batch.quantity, batch.pin_digits, batch.status, product,
        LotInfo(lot.id, lot.lot, lot.production_date, lot.expiry_date) if lot else None,
        level=batch.level.value, activation=batch.activation.value,
    )  # fmt: skip


def current_token(redis: Redis, code_key_id: uuid.UUID) -> str:
    """The key's batch version token (created when missing)."""
    token = _TOKEN(
        keys=[version_key(code_key_id)],
        args=[secrets.token_hex(8), TOKEN_TTL_SECONDS],
        client=redis,
    )
    return token.decode() if isinstance(token, bytes) else str(token)


class BatchCache:
    """The batches of each code key this process has scanned."""

    def __init__(self) -> None:
        self._keys: dict[uuid.UUID, KeyBatches] = {}

    def load(
        self, redis: Redis, code_key_id: uuid.UUID, *, unless_read_after: float = math.inf
    ) -> KeyBatches:
        """Read the key's batches from the database (token first, see the module docstring).

        A thread that finds a copy read after ``unless_read_after`` (another thread reloaded
        it meanwhile) takes it instead of querying again. Threads that reload together each
        query: none waits for another's load, because the caller may hold row locks (a channel
        scan in its transaction) that the other's load, waiting for a pooled connection, may be
        queued behind. A slower load never replaces a copy read after its own.
        """
        entry = self._keys.get(code_key_id)
        if entry is not None and entry.read_at > unless_read_after:
            return entry
        read_at = time.monotonic()
        token = current_token(redis, code_key_id)
        rows = db.session.scalars(
            select(CodeBatch)
            .where(CodeBatch.code_key_id == code_key_id)
            .order_by(CodeBatch.serial_start)
        ).unique()
        batches = tuple(snapshot(b) for b in rows)
        loaded = KeyBatches(token, read_at, tuple(b.serial_start for b in batches), batches)
        current = self._keys.get(code_key_id)
        if current is not None and current.read_at > read_at:
            return current
        self._keys[code_key_id] = loaded
        return loaded

    def get(self, redis: Redis, code_key_id: uuid.UUID) -> KeyBatches:
        """The cached batches of a key, loaded when absent or older than ``MAX_AGE_SECONDS``."""
        entry = self._keys.get(code_key_id)
        now = time.monotonic()
        if entry is None or now - entry.read_at > MAX_AGE_SECONDS:
            entry = self.load(redis, code_key_id, unless_read_after=now)
        return entry

    def lookup(
        self, redis: Redis, code_key_id: uuid.UUID, serial: int
    ) -> tuple[BatchInfo | None, str]:
        """The batch of a serial and the token it was read under.

        A serial in no cached batch may belong to a batch created since: when the token moved,
        reload (one Redis read; genuine codes only, so forged codes cannot cause it).
        """
        entry = self.get(redis, code_key_id)
        batch = entry.find(serial)
        if batch is None:
            checked = time.monotonic()
            if redis.get(version_key(code_key_id)) != entry.token.encode():
                entry = self.load(redis, code_key_id, unless_read_after=checked)
                batch = entry.find(serial)
        return batch, entry.token


def init_app(app: Flask) -> None:
    """Give the app its batch cache (``create_app``; tests call it again for an empty one)."""
    app.extensions["batch_cache"] = BatchCache()


def batch_cache() -> BatchCache:
    """The current app's batch cache (created with the app by ``init_app``)."""
    cache: BatchCache = current_app.extensions["batch_cache"]
    return cache


def _bump(code_key_ids: set[uuid.UUID]) -> None:
    redis = redis_client()
    for code_key_id in code_key_ids:
        redis.set(version_key(code_key_id), secrets.token_hex(8), ex=TOKEN_TTL_SECONDS)


def batches_changed(code_key_id: uuid.UUID) -> None:
    """A batch of this key was created, activated or revoked: make every cached copy stale.

    Bumps the token now (so this transaction's own later scans reload) and again after the
    outermost transaction commits (``core.txhooks``: a released savepoint is not that commit),
    so no process keeps a copy read before the commit.
    """
    _bump({code_key_id})
    txhooks.on_commit(db.session(), lambda: _bump_after_commit(code_key_id))


def _bump_after_commit(code_key_id: uuid.UUID) -> None:
    try:
        _bump({code_key_id})
    except RedisError:
        # Caches catch up within MAX_AGE_SECONDS; the committed change itself is safe.
        log.exception("could not bump batch version tokens after commit")
