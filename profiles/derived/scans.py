"""Applying scans to profiles: each scan once (``profile_scans`` is the idempotency key)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Table, bindparam, case, select, update

from anticounterfeit.models import CodeBatch, Product, ScanEvent
from core.db import db, utcnow
from profiles.derived import lists
from profiles.derived.consent import profiling_allowed
from profiles.derived.lifecycle import WINDOW_DAYS
from profiles.models.profile import (
    ConsumerProfile,
    ProfileCity,
    ProfileInterest,
    ProfileProduct,
    ProfileScan,
)

#: Scans that say something about the buyer: the product was verified as genuine.
PROFILED_VERDICTS = ("authentic", "authentic_repeat")


@dataclass(frozen=True)
class ScanFact:
    """One scan as a profile sees it."""

    scan_id: uuid.UUID
    brand_id: uuid.UUID
    consumer_id: uuid.UUID
    at: datetime
    product_id: uuid.UUID
    category: str
    province: str
    city: str


@dataclass
class Delta:
    """What a batch adds to one consumer's profile."""

    count: int = 0
    in_window: int = 0
    reward: int = 0
    first: datetime | None = None
    last: datetime | None = None
    products: dict[uuid.UUID, list[Any]] = field(default_factory=dict)
    cities: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    categories: set[str] = field(default_factory=set)


def _facts(scan_ids: list[uuid.UUID]) -> list[ScanFact]:
    rows = db.session.execute(
        select(
            ScanEvent.id,
            ScanEvent.brand_id,
            ScanEvent.consumer_id,
            ScanEvent.created_at,
            CodeBatch.product_id,
            Product.category,
            ScanEvent.province,
            ScanEvent.city,
        )  # fmt: skip
        .join(CodeBatch, CodeBatch.id == ScanEvent.code_batch_id)
        .join(Product, Product.id == CodeBatch.product_id)
        .where(
            ScanEvent.id.in_(scan_ids),
            ScanEvent.consumer_id.is_not(None),
            ScanEvent.verdict.in_(PROFILED_VERDICTS),
        )
    )
    return [
        ScanFact(sid, bid, cid, at, pid, cat or "", prov or "", city or "")
        for sid, bid, cid, at, pid, cat, prov, city in rows
        if cid is not None
    ]


def _newly_applied(facts: list[ScanFact]) -> list[ScanFact]:
    """Mark the scans as applied; return only those no earlier run applied."""
    if not facts:
        return []
    now = utcnow()
    stmt = db.insert(ProfileScan).on_conflict_do_nothing(index_elements=["scan_id"])
    rows = [
        {
            "scan_id": f.scan_id,
            "brand_id": f.brand_id,
            "consumer_id": f.consumer_id,
            "product_id": f.product_id,
            "province": f.province,
            "city": f.city,
            "at": f.at,
            "in_window": f.at >= now - timedelta(days=WINDOW_DAYS),
        }  # fmt: skip
        for f in facts
    ]
    new = set(db.session.scalars(stmt.returning(ProfileScan.scan_id), rows))
    return [f for f in facts if f.scan_id in new]


#: ``fn(brand_ids) -> {brand_id: [(starts_at, ends_at), ...]}``: when each brand offered cash.
RewardWindows = Callable[[set[uuid.UUID]], dict[uuid.UUID, list[tuple[datetime, datetime]]]]
_window_sources: list[RewardWindows] = []


def register_reward_windows(source: RewardWindows) -> None:
    """Install where cash-reward windows come from (``campaigns``, at start-up): a profile's
    ``reward`` counts the scans made while the brand offered cash."""
    if source not in _window_sources:
        _window_sources.append(source)


def _cash_windows(brand_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[tuple[datetime, datetime]]]:
    if not _window_sources:
        raise RuntimeError("no reward window source registered (create_app registers one)")
    out: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for source in _window_sources:
        for brand_id, windows in source(brand_ids).items():
            out[brand_id].extend(windows)
    return out


def _deltas(facts: list[ScanFact]) -> dict[uuid.UUID, Delta]:
    windows = _cash_windows({f.brand_id for f in facts})
    horizon = utcnow() - timedelta(days=WINDOW_DAYS)
    deltas: dict[uuid.UUID, Delta] = defaultdict(Delta)
    for f in facts:
        d = deltas[f.consumer_id]
        d.count += 1
        d.in_window += f.at >= horizon
        d.reward += any(s <= f.at <= e for s, e in windows.get(f.brand_id, ()))
        d.first = f.at if d.first is None else min(d.first, f.at)
        d.last = f.at if d.last is None else max(d.last, f.at)
        p = d.products.setdefault(f.product_id, [0, f.at, f.category])
        p[0], p[1] = p[0] + 1, max(p[1], f.at)
        if f.province:
            c = d.cities.setdefault((f.province, f.city), [0, f.at])
            c[0], c[1] = c[0] + 1, max(c[1], f.at)
        if f.category:
            d.categories.add(f.category)
    return deltas


def apply_scans(scan_ids: list[uuid.UUID]) -> int:
    """Apply the given scans to their consumers' profiles (only consenting ones); how many."""
    facts = _facts(scan_ids)
    allowed = profiling_allowed(f.consumer_id for f in facts)
    facts = _newly_applied([f for f in facts if f.consumer_id in allowed])
    if not facts:
        return 0
    brand_of = {f.consumer_id: f.brand_id for f in facts}
    deltas = _deltas(facts)
    _ensure_profiles(brand_of)
    _bump_profiles(deltas)
    _bump_products(deltas, brand_of)
    _bump_cities(deltas, brand_of)
    _add_categories(deltas, brand_of)
    lists.sync(deltas)
    return len(facts)


def _ensure_profiles(brand_of: dict[uuid.UUID, uuid.UUID]) -> None:
    stmt = db.insert(ConsumerProfile).on_conflict_do_nothing(index_elements=["consumer_id"])
    db.session.execute(
        stmt,
        [{"consumer_id": c, "brand_id": b, "updated_at": utcnow()} for c, b in brand_of.items()],
    )


def _bump_profiles(deltas: dict[uuid.UUID, Delta]) -> None:
    table: Table = ConsumerProfile.__table__  # type: ignore[assignment]
    p = table.c
    first, last = (
        bindparam("d_first", type_=p.first_scan_at.type),
        bindparam("d_last", type_=p.last_scan_at.type),
    )
    count, reward = bindparam("d_count", type_=Integer()), bindparam("d_reward", type_=Integer())
    stmt = (
        update(table)
        .where(p.consumer_id == bindparam("cid"))
        .values(
            scan_count=p.scan_count + count,
            scans_90d=p.scans_90d + bindparam("d_window"),
            reward_scans=p.reward_scans + reward,
            reward_ratio=(p.reward_scans + reward) * 1.0 / (p.scan_count + count),
            first_scan_at=case(
                (p.first_scan_at.is_(None) | (p.first_scan_at > first), first),
                else_=p.first_scan_at,
            ),
            last_scan_at=case(
                (p.last_scan_at.is_(None) | (p.last_scan_at < last), last), else_=p.last_scan_at
            ),
            updated_at=bindparam("now", type_=p.updated_at.type),
        )
    )
    now = utcnow()
    db.session.execute(
        stmt,
        [
            {
                "cid": c,
                "d_count": d.count,
                "d_window": d.in_window,
                "d_reward": d.reward,
                "d_first": d.first,
                "d_last": d.last,
                "now": now,
            }  # fmt: skip
            for c, d in deltas.items()
        ],
        execution_options={"synchronize_session": False},
    )


def _bump_products(deltas: dict[uuid.UUID, Delta], brand_of: dict[uuid.UUID, uuid.UUID]) -> None:
    rows = [
        {
            "consumer_id": c,
            "product_id": pid,
            "brand_id": brand_of[c],
            "category": cat,
            "scans": n,
            "last_at": at,
        }  # fmt: skip
        for c, d in deltas.items()
        for pid, (n, at, cat) in d.products.items()
    ]
    stmt = db.insert(ProfileProduct)
    old = ProfileProduct.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["consumer_id", "product_id"],
        set_={
            "scans": old.scans + stmt.excluded.scans,
            "last_at": case(
                (stmt.excluded.last_at > old.last_at, stmt.excluded.last_at), else_=old.last_at
            ),  # fmt: skip
            "category": stmt.excluded.category,
        },
    )
    db.session.execute(stmt, rows)


def _bump_cities(deltas: dict[uuid.UUID, Delta], brand_of: dict[uuid.UUID, uuid.UUID]) -> None:
    rows = [
        {
            "consumer_id": c,
            "province": prov,
            "city": city,
            "brand_id": brand_of[c],
            "scans": n,
            "last_at": at,
        }  # fmt: skip
        for c, d in deltas.items()
        for (prov, city), (n, at) in d.cities.items()
    ]
    if not rows:
        return
    stmt = db.insert(ProfileCity)
    old = ProfileCity.__table__.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["consumer_id", "province", "city"],
        set_={
            "scans": old.scans + stmt.excluded.scans,
            "last_at": case(
                (stmt.excluded.last_at > old.last_at, stmt.excluded.last_at), else_=old.last_at
            ),  # fmt: skip
        },
    )
    db.session.execute(stmt, rows)


def _add_categories(deltas: dict[uuid.UUID, Delta], brand_of: dict[uuid.UUID, uuid.UUID]) -> None:
    rows = [
        {"consumer_id": c, "interest": cat[:64], "brand_id": brand_of[c], "source": "scanned"}
        for c, d in deltas.items()
        for cat in sorted(d.categories)
    ]
    if rows:
        stmt = db.insert(ProfileInterest).on_conflict_do_nothing(
            index_elements=["consumer_id", "interest"]
        )
        db.session.execute(stmt, rows)
