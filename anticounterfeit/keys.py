"""Brand code keys: creation, rotation, and the in-process key ring used to verify scans.

The key ring keeps every key version in memory, so verifying a code (and rejecting a forged one)
reads no database row. It reloads every ``REFRESH_SECONDS``, and on an unknown key id at most
once per ``MISS_RELOAD_SECONDS``, so a flood of forged codes cannot turn into a flood of queries.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from anticounterfeit import codes
from anticounterfeit.errors import SerialSpaceExhausted
from anticounterfeit.models import CodeKeyRecord
from core.db import db

REFRESH_SECONDS = 30.0
MISS_RELOAD_SECONDS = 5.0


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
    """Every code key version, in memory, refreshed periodically."""

    def __init__(self) -> None:
        self._keys: dict[int, LoadedKey] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _reload(self) -> None:
        records = db.session.scalars(select(CodeKeyRecord))
        self._keys = {
            r.key_id: LoadedKey(r.id, r.brand_id, _to_code_key(r), r.is_revoked) for r in records
        }
        self._loaded_at = time.monotonic()

    def lookup(self, key_id: int) -> LoadedKey | None:
        """The key with this id, or None (reloading only when the ring is due or stale)."""
        age = time.monotonic() - self._loaded_at
        found = self._keys.get(key_id)
        if age > REFRESH_SECONDS or (found is None and age > MISS_RELOAD_SECONDS):
            with self._lock:
                self._reload()
            found = self._keys.get(key_id)
        return found

    def invalidate(self) -> None:
        """Force a reload on the next lookup (after a key is created or revoked here)."""
        self._loaded_at = float("-inf")


def init_app(app: Flask) -> None:
    """Give the app its key ring (``create_app``; tests call it again for an empty one)."""
    app.extensions["keyring"] = KeyRing()


def keyring() -> KeyRing:
    """The current app's key ring (created with the app by ``init_app``)."""
    ring: KeyRing = current_app.extensions["keyring"]
    return ring


def create_key(brand: Brand) -> CodeKeyRecord:
    """A new current key version for ``brand`` with a random unused 16-bit id."""
    for _ in range(20):
        record = CodeKeyRecord(
            brand_id=brand.id,
            key_id=secrets.randbelow(codes.MAX_KEY_ID) + 1,
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
    raise RuntimeError("no free code key id found")


def current_key(brand: Brand) -> CodeKeyRecord:
    """The brand's current key version, created on first use."""
    record = db.session.scalar(
        select(CodeKeyRecord).where(
            CodeKeyRecord.brand_id == brand.id, CodeKeyRecord.is_current.is_(True)
        )
    )
    return record or create_key(brand)


def rotate_key(brand: Brand) -> CodeKeyRecord:
    """Make a new key version current; codes signed by older versions keep verifying."""
    db.session.execute(
        update(CodeKeyRecord)
        .where(CodeKeyRecord.brand_id == brand.id, CodeKeyRecord.is_current.is_(True))
        .values(is_current=False)
    )
    return create_key(brand)


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
