"""A consumer's consents and erasure, as every request that carries their token needs them.

One Redis ``GET`` per consumer-authenticated request (no SQL), so the scan path knows whether it
may keep precise coordinates, and an erased consumer's tokens stop working everywhere. The value
is a short string: ``"x"`` for an erased (or unknown) consumer, else one ``0``/``1`` per purpose
of ``FLAG_ORDER``, then ``-`` for a consumer in no segment or ``s`` followed by the ids of the
segments they are a member of, comma-separated (so a scan in a brand whose campaigns target
segments needs no SQL at all; the membership refresh forgets the keys of the consumers whose
memberships changed).

Cache discipline (the database is the truth): a reader that misses loads the row and fills the
key with ``SET NX``; a writer deletes the key before its commit and ``SET``\\ s the new value after
it. A reader that loaded the old value can only fill the key while it is absent, i.e. before the
writer's after-commit ``SET``, which then overwrites it. If the process dies between its commit
and that ``SET``, the key stays absent (it was deleted before the commit) and the next reader
loads the committed value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core import txhooks
from core.broker import redis_client
from core.db import db
from profiles.models.consent import ConsentRecord, Purpose
from profiles.models.identity import Consumer
from profiles.models.segment import SegmentMember

FLAG_ORDER = (Purpose.profiling, Purpose.marketing, Purpose.precise_location)
TTL_SECONDS = 8 * 24 * 3600  # longer than a consumer token lives
ERASED = "x"
IN_SEGMENTS, NO_SEGMENT = "s", "-"


@dataclass(frozen=True)
class ConsumerFlags:
    """What a consumer has consented to, and whether they still exist."""

    profiling: bool = False
    marketing: bool = False
    precise_location: bool = False
    erased: bool = False
    #: The segments the consumer is a member of (``segment_members``).
    segments: frozenset[uuid.UUID] = frozenset()

    @property
    def in_segments(self) -> bool:
        """A member of at least one segment."""
        return bool(self.segments)

    def encode(self) -> str:
        """The cached form."""
        if self.erased:
            return ERASED
        purposes = "".join("1" if getattr(self, p.value) else "0" for p in FLAG_ORDER)
        if not self.segments:
            return purposes + NO_SEGMENT
        return purposes + IN_SEGMENTS + ",".join(sorted(str(s) for s in self.segments))

    @classmethod
    def decode(cls, value: str) -> ConsumerFlags:
        """Read the cached form back."""
        n = len(FLAG_ORDER)
        if value == ERASED or len(value) <= n or value[n] not in (IN_SEGMENTS, NO_SEGMENT):
            return cls(erased=True)
        purposes = {p.value: c == "1" for p, c in zip(FLAG_ORDER, value[:n], strict=True)}
        ids = value[n + 1 :] if value[n] == IN_SEGMENTS else ""
        return cls(**purposes, segments=frozenset(uuid.UUID(i) for i in ids.split(",") if i))


def _key(consumer_id: uuid.UUID) -> str:
    return f"consumer:v3:{consumer_id}"


def latest_consents(consumer_id: uuid.UUID) -> dict[Purpose, ConsentRecord]:
    """The newest ledger row per purpose (purposes never set are absent: not granted)."""
    rows = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.consumer_id == consumer_id)
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
    )
    latest: dict[Purpose, ConsentRecord] = {}
    for row in rows:
        latest.setdefault(Purpose(row.purpose), row)
    return latest


def load_flags(consumer_id: uuid.UUID, brand_id: uuid.UUID) -> ConsumerFlags:
    """The flags as the database says (the truth; jobs check consent with this)."""
    consumer = db.session.get(Consumer, consumer_id)
    if consumer is None or consumer.brand_id != brand_id or consumer.erased_at is not None:
        return ConsumerFlags(erased=True)
    latest = latest_consents(consumer_id)
    segments = db.session.scalars(
        select(SegmentMember.segment_id).where(SegmentMember.consumer_id == consumer_id)
    )
    return ConsumerFlags(**{p.value: bool(r.granted) for p, r in latest.items()},
                         segments=frozenset(segments))  # fmt: skip


def cached_flags(consumer_id: uuid.UUID) -> ConsumerFlags | None:
    """The flags from Redis only (one ``GET``); None when they are not cached."""
    cached = redis_client().get(_key(consumer_id))
    if cached is None:
        return None
    return ConsumerFlags.decode(cached.decode() if isinstance(cached, bytes) else str(cached))


def consumer_flags(consumer_id: uuid.UUID, brand_id: uuid.UUID) -> ConsumerFlags:
    """The flags from Redis, loaded from the database on a miss."""
    cached = cached_flags(consumer_id)
    if cached is not None:
        return cached
    redis = redis_client()
    flags = load_flags(consumer_id, brand_id)
    redis.set(_key(consumer_id), flags.encode(), nx=True, ex=TTL_SECONDS)
    return flags


def flags_changing(consumer_id: uuid.UUID, after: ConsumerFlags) -> None:
    """Call before committing a change of consents or an erasure: the cache follows the commit."""
    key = _key(consumer_id)
    redis_client().delete(key)
    value = after.encode()

    def publish() -> None:
        redis_client().set(key, value, ex=TTL_SECONDS)

    txhooks.on_commit(db.session(), publish)


def forget_flags(consumer_ids: Iterable[uuid.UUID]) -> None:
    """Call before committing a change the flags summarise other than consents (segment
    memberships): the keys go now and again after the commit, and the next reader reloads."""
    keys = [_key(c) for c in consumer_ids]
    if not keys:
        return

    def drop() -> None:
        redis = redis_client()
        for start in range(0, len(keys), 10_000):
            redis.delete(*keys[start : start + 10_000])

    drop()
    txhooks.on_commit(db.session(), drop)
