"""Lot stories, built once and cached per process until the brand's provenance changes.

As for campaigns (``campaigns/cache.py``) and code batches, freshness is decided in Redis: each
brand has a *provenance version token* (``prov:ver:{brand}``), replaced by a new random value
whenever events are captured or parties registered, once at the change and again after the
commit. A story request reads the token (one GET) and rebuilds the lot's story only when the
token moved since it was built. A rebuild reads the token before the database, so a change
committed in between is caught by the next request; a copy older than ``MAX_AGE_SECONDS`` is
rebuilt anyway, which bounds staleness should a post-commit bump be lost.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import current_app
from redis import Redis

from core import txhooks
from core.broker import redis_client
from core.db import db

MAX_AGE_SECONDS = 600.0
TOKEN_TTL_SECONDS = 7 * 86_400
MAX_ENTRIES = 2000
T = TypeVar("T")


def token_key(brand_id: uuid.UUID) -> str:
    """The Redis key of a brand's provenance version token."""
    return f"prov:ver:{brand_id}"


def _bump(redis: Redis, brand_id: uuid.UUID) -> None:
    redis.set(token_key(brand_id), secrets.token_hex(8), ex=TOKEN_TTL_SECONDS)


def provenance_changed(brand_id: uuid.UUID) -> None:
    """Invalidate every process's stories of the brand, now and after the commit."""
    redis = redis_client()
    _bump(redis, brand_id)
    txhooks.on_commit(db.session(), lambda: _bump(redis, brand_id))


def current_token(redis: Redis, brand_id: uuid.UUID) -> bytes:
    """The brand's token, created when missing (first use, or lost with Redis)."""
    key = token_key(brand_id)
    token: bytes | None = redis.get(key)  # type: ignore[assignment]
    if token is None:
        redis.set(key, secrets.token_hex(8), ex=TOKEN_TTL_SECONDS, nx=True)
        token = redis.get(key)  # type: ignore[assignment]
    return token or b""


@dataclass(frozen=True)
class _Entry(Generic[T]):
    token: bytes
    built_at: float
    value: T


class StoryCache(Generic[T]):
    """Built stories by lot id, least recently used dropped beyond ``MAX_ENTRIES``."""

    def __init__(self) -> None:
        self._entries: OrderedDict[uuid.UUID, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # how many stories this process built (tests, metrics)

    def get(
        self, redis: Redis, brand_id: uuid.UUID, lot_id: uuid.UUID, build: Callable[[], T]
    ) -> T:
        """The lot's story, rebuilt only when the brand's token moved or the copy is old."""
        token = current_token(redis, brand_id)
        entry = self._entries.get(lot_id)
        fresh = entry is not None and time.monotonic() - entry.built_at < MAX_AGE_SECONDS
        if entry is not None and fresh and entry.token == token:
            return entry.value
        built_at = time.monotonic()
        value = build()
        self.builds += 1
        with self._lock:
            self._entries[lot_id] = _Entry(token, built_at, value)
            self._entries.move_to_end(lot_id)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return value


def story_cache() -> StoryCache[object]:
    """The current app's lot story cache."""
    cache: StoryCache[object] = current_app.extensions.setdefault(
        "provenance_story_cache", StoryCache()
    )
    return cache
