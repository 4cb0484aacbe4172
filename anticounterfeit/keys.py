"""Brand code keys: creation, rotation, and the in-process key ring used to verify scans.

The key ring keeps the key versions scans use in memory, loaded lazily by key id, so verifying
a code (and rejecting a forged one) reads no database row in the steady state (see ``KeyRing``).
Rotation is rate limited per brand (``ROTATIONS_PER_BRAND``); key ids are 16 bits, and a
deployment that has used ``KEY_SPACE_WARN_AT`` of them logs a warning at every rotation and says
how many are left in the rotation's response, long before ``KeySpaceExhausted`` (409).
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from anticounterfeit import codes
from anticounterfeit.errors import KeySpaceExhausted, SerialSpaceExhausted
from anticounterfeit.models import CodeKeyRecord
from core import audit
from core.audit import CLI, Actor
from core.broker import redis_client
from core.db import db
from core.ratelimit import Limit, hit

REFRESH_SECONDS = 30.0
MISS_RELOAD_SECONDS = 5.0
ROTATIONS_PER_BRAND = Limit("key-rotation", count=10, seconds=86_400)
KEY_SPACE_WARN_AT = 0.8
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedKey:
    """A key version as the scan path needs it."""

    record_id: uuid.UUID
    brand_id: uuid.UUID
    key: codes.CodeKey
    revoked: bool


def _to_code_key(record: CodeKeyRecord) -> codes.CodeKey:
    return codes.CodeKey(
        record.key_id, base64.b64decode(record.secret), base64.b64decode(record.pin_secret)
    )


class KeyRing:
    """Code key versions, loaded lazily one key id at a time.

    The ring knows which key ids exist (a query of integers only, at most once per
    ``MISS_RELOAD_SECONDS``, and only when a scan names an id it does not know), and loads and
    decrypts a key the first time a scan needs it, re-reading it every ``REFRESH_SECONDS`` (a
    revocation is seen within that time). So neither a flood of rotations nor forged key ids
    make scans reload every key: a forged id costs nothing once the id set is fresh, and a new
    key costs one row when its first code is scanned.
    """

    def __init__(self) -> None:
        self._keys: dict[int, tuple[LoadedKey | None, float]] = {}
        self._ids: frozenset[int] = frozenset()
        self._ids_at = float("-inf")
        self._lock = threading.Lock()

    def _known(self, key_id: int, now: float) -> bool:
        if key_id not in self._ids and now - self._ids_at > MISS_RELOAD_SECONDS:
            with self._lock:
                if now - self._ids_at > MISS_RELOAD_SECONDS:
                    self._ids = frozenset(db.session.scalars(select(CodeKeyRecord.key_id)))
                    self._ids_at = now
        return key_id in self._ids

    def _load(self, key_id: int, now: float) -> LoadedKey | None:
        record = db.session.scalar(select(CodeKeyRecord).where(CodeKeyRecord.key_id == key_id))
        loaded = None
        if record is not None:
            key = _to_code_key(record)
            loaded = LoadedKey(record.id, record.brand_id, key, record.is_revoked)
        self._keys[key_id] = (loaded, now)
        return loaded

    def lookup(self, key_id: int) -> LoadedKey | None:
        """The key with this id, or None (a query only when the key is due or not yet known)."""
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[1] <= REFRESH_SECONDS:
            return cached[0]
        if cached is None and not self._known(key_id, now):
            return None
        return self._load(key_id, now)

    def invalidate(self) -> None:
        """Forget what was read (after a key is created or revoked in this process)."""
        self._keys = {}
        self._ids_at = float("-inf")


def init_app(app: Flask) -> None:
    """Give the app its key ring (``create_app``; tests call it again for an empty one)."""
    app.extensions["keyring"] = KeyRing()


def keyring() -> KeyRing:
    """The current app's key ring (created with the app by ``init_app``)."""
    ring: KeyRing = current_app.extensions["keyring"]
    return ring


def key_ids_left() -> int:
    """How many 16-bit key ids are still free in this deployment."""
    used = int(db.session.scalar(select(func.count()).select_from(CodeKeyRecord)) or 0)
    return codes.MAX_KEY_ID - used


def _free_key_id(attempt: int) -> int:
    """A random key id, from the free ones once random picks keep colliding."""
    if attempt < 10:
        return secrets.randbelow(codes.MAX_KEY_ID) + 1
    used = set(db.session.scalars(select(CodeKeyRecord.key_id)))
    free = [i for i in range(1, codes.MAX_KEY_ID + 1) if i not in used]
    if not free:
        raise KeySpaceExhausted()
    return secrets.choice(free)


def create_key(brand: Brand) -> CodeKeyRecord:
    """A new current key version for ``brand`` with a random unused 16-bit id."""
    left = key_ids_left()
    if left <= 0:
        raise KeySpaceExhausted()
    if left <= codes.MAX_KEY_ID * (1 - KEY_SPACE_WARN_AT):
        log.warning("code key ids: %d of %d left in this deployment", left, codes.MAX_KEY_ID)
    for attempt in range(20):
        record = CodeKeyRecord(
            brand_id=brand.id,
            key_id=_free_key_id(attempt),
            secret=base64.b64encode(secrets.token_bytes(codes.SECRET_LENGTH)).decode(),
            pin_secret=base64.b64encode(secrets.token_bytes(codes.SECRET_LENGTH)).decode(),
            next_serial=0,
        )
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError:
            continue
        keyring().invalidate()
        return record
    raise KeySpaceExhausted()


def current_key(brand: Brand) -> CodeKeyRecord:
    """The brand's current key version, created on first use."""
    record = db.session.scalar(
        select(CodeKeyRecord).where(
            CodeKeyRecord.brand_id == brand.id, CodeKeyRecord.is_current.is_(True)
        )
    )
    return record or create_key(brand)


def rotate_key(brand: Brand, *, actor: Actor = CLI) -> CodeKeyRecord:
    """Make a new key version current; codes signed by older versions keep verifying. At most
    ``ROTATIONS_PER_BRAND`` a day (429 otherwise): key ids are a shared, finite space."""
    hit(redis_client(), ROTATIONS_PER_BRAND, str(brand.id))
    db.session.execute(
        update(CodeKeyRecord)
        .where(CodeKeyRecord.brand_id == brand.id, CodeKeyRecord.is_current.is_(True))
        .values(is_current=False)
    )
    record = create_key(brand)
    audit.record(brand.id, actor, "keys.rotate", f"code_key:{record.id}", {"key_id": record.key_id})
    return record


def allocate_serials(record: CodeKeyRecord, quantity: int) -> int:
    """Reserve ``quantity`` consecutive serials under ``record``; returns the first one."""
    stop = db.session.scalar(
        update(CodeKeyRecord)
        .where(
            CodeKeyRecord.id == record.id,
            CodeKeyRecord.next_serial + quantity <= codes.MAX_SERIAL + 1,
        )
        .values(next_serial=CodeKeyRecord.next_serial + quantity)
        .returning(CodeKeyRecord.next_serial)
    )
    if stop is None:
        raise SerialSpaceExhausted()
    return int(stop) - quantity
