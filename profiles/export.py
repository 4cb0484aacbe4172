"""``GET /api/v1/me/data``: everything the brand holds about the caller.

Completeness by construction: besides the curated sections, every table with a column that
points at the consumer (a foreign key to ``consumers.id``, such as a clerk's channel events or
the invite they used, or a column named ``consumer_id``), whichever package owns it, now or
later, contributes the caller's rows under ``records``, and payouts come with their awards.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, or_, select

from accounts.auth import ConsumerIdentity
from core.db import Base, db, utcnow
from profiles import consents, voice
from profiles.derived.lifecycle import stage
from profiles.models.identity import Consumer, WechatIdentity
from profiles.models.profile import (
    ConsumerProfile,
    ProfileCity,
    ProfileInterest,
    ProfileProduct,
)
from profiles.models.segment import Segment, SegmentMember

#: Columns that are never the consumer's data (they would only leak internals).
_SKIPPED_COLUMNS = frozenset({"session_key"})


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return value


def consumer_columns() -> dict[str, list[str]]:
    """Table name -> its columns that hold a consumer's id (every table that refers to one)."""
    out: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        columns = [
            c.name for c in table.c
            if c.name == "consumer_id"
            or any(fk.target_fullname == "consumers.id" for fk in c.foreign_keys)
        ]  # fmt: skip
        if columns:
            out[table.name] = columns
    return out


def _rows(table: Table, columns: list[str], values: list[Any]) -> list[dict[str, Any]]:
    if not values:
        return []
    match = or_(*(table.c[column].in_(values) for column in columns))
    result = db.session.execute(select(table).where(match))
    return [
        {k: _json(v) for k, v in row._mapping.items() if k not in _SKIPPED_COLUMNS}
        for row in result
    ]


def _records(consumer_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    tables = Base.metadata.tables
    for name, columns in consumer_columns().items():
        if name not in ("wechat_identities",):  # shown under ``identities``
            out[name] = _rows(tables[name], columns, [consumer_id])
    award_ids = [uuid.UUID(r["id"]) for r in out.get("awards", [])]
    payouts = tables.get("payouts")
    if payouts is not None and "award_id" in payouts.c:
        out["payouts"] = _rows(payouts, ["award_id"], award_ids)
    return out


def _profile(consumer_id: uuid.UUID) -> dict[str, Any] | None:
    profile = db.session.get(ConsumerProfile, consumer_id)
    if profile is None:
        return None
    products = db.session.scalars(
        select(ProfileProduct).where(ProfileProduct.consumer_id == consumer_id)
    )
    cities = db.session.scalars(select(ProfileCity).where(ProfileCity.consumer_id == consumer_id))
    interests = db.session.scalars(
        select(ProfileInterest.interest).where(ProfileInterest.consumer_id == consumer_id)
    )
    return {
        "first_scan_at": _json(profile.first_scan_at), "last_scan_at": _json(profile.last_scan_at),
        "scan_count": profile.scan_count, "scans_90d": profile.scans_90d,
        "lifecycle": stage(profile.first_scan_at, profile.last_scan_at, utcnow()),
        "reward_ratio": profile.reward_ratio, "rating_avg": profile.rating_avg,
        "rating_count": profile.rating_count,
        "products": [{"product_id": str(p.product_id), "category": p.category, "scans": p.scans,
                      "last_at": _json(p.last_at)} for p in products],
        "cities": [{"province": c.province, "city": c.city or None, "scans": c.scans}
                   for c in cities],
        "interests": sorted(interests),
    }  # fmt: skip


def my_data(consumer: ConsumerIdentity) -> dict[str, Any]:
    """The export document."""
    cid = consumer.consumer_id
    row = db.session.get(Consumer, cid)
    assert row is not None
    identities = db.session.scalars(select(WechatIdentity).where(WechatIdentity.consumer_id == cid))
    segments = db.session.scalars(
        select(Segment.name)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.consumer_id == cid)
    )
    prefs = voice.preferences_payload(voice.preferences(cid))
    return {
        "generated_at": _json(utcnow()),
        "consumer": {
            "id": str(cid),
            "brand_id": str(row.brand_id),
            "created_at": _json(row.created_at),
            "last_login_at": _json(row.last_login_at),
        },  # fmt: skip
        "identities": [
            {
                "appid": i.appid,
                "openid": i.openid,
                "unionid": i.unionid,
                "created_at": _json(i.created_at),
            }
            for i in identities
        ],  # fmt: skip
        "consents": _jsonable(consents.consents_payload(consumer)),
        "preferences": _jsonable(prefs),
        "profile": _profile(cid),
        "segments": sorted(segments),
        "records": _records(cid),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _json(value)
