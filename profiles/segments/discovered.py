"""Discovered segments: micro-segments whose weekly buyers grow fastest.

Cells (each a combination brands act on):

- ``product_city_lifecycle``: consumers who scanned a product in a city, by lifecycle stage;
- ``interest_province``: consumers with an interest who scanned in a province;
- ``category_city``: consumers who scanned a category in a city.

For each cell, the distinct consumers of the last 7 days (``this_week``) against the 7 days
before (``last_week``), from ``profile_scans`` (consenting consumers only), counted in SQL with
one grouped query per kind. Cells below ``min_segment_size`` this week are dropped; both numbers
are published like every other count (rounded down to multiples of ``k``; last week ``null`` when
below ``k``), and growth is computed from the published numbers only:
``(this_week - last_week) / max(last_week, k)``. Fastest-growing first. Each cell carries the
segment rule that selects it, so a brand can save it as a segment and target a campaign at it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from anticounterfeit.models import Product
from core.db import db
from profiles.derived.lifecycle import Bounds, stage_sql
from profiles.models.profile import ConsumerProfile, ProfileInterest, ProfileScan
from profiles.segments.privacy import published

WEEK = timedelta(days=7)


def _weekly(brand_id: uuid.UUID, now: datetime, dims: list[Any], joins: list[Any],
            k: int) -> list[tuple[Any, ...]]:  # fmt: skip
    s = ProfileScan
    this_start, last_start = now - WEEK, now - 2 * WEEK
    this_week = func.count(func.distinct(case((s.at >= this_start, s.consumer_id))))
    last_week = func.count(func.distinct(case((s.at < this_start, s.consumer_id))))
    query = select(*dims, this_week, last_week).select_from(s)
    for target, on in joins:
        query = query.join(target, on)
    query = (
        query.where(s.brand_id == brand_id, s.at >= last_start, s.at <= now)
        .group_by(*dims)
        .having(this_week >= k)
    )
    return [tuple(row) for row in db.session.execute(query)]


def _item(kind: str, dims: dict[str, Any], rule: list[dict[str, Any]], this: int, last: int,
          k: int) -> dict[str, Any]:  # fmt: skip
    this_pub, last_pub = published(this, k), published(last, k)
    assert this_pub is not None
    growth = (this_pub - (last_pub or 0)) / max(last_pub or 0, k)
    return {"kind": kind, "dimensions": dims, "this_week": this_pub, "last_week": last_pub,
            "growth": round(growth, 4), "rule": {"all": rule}}  # fmt: skip


def _products(brand_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = db.session.execute(select(Product.id, Product.name).where(Product.brand_id == brand_id))
    return {pid: name for pid, name in rows}


def _product_city_lifecycle(brand_id: uuid.UUID, now: datetime, k: int) -> list[dict[str, Any]]:
    s, stage = ProfileScan, stage_sql(Bounds.at(now))
    joins = [(ConsumerProfile, ConsumerProfile.consumer_id == s.consumer_id)]
    names = _products(brand_id)
    out = []
    for pid, prov, city, life, this, last in _weekly(
        brand_id, now, [s.product_id, s.province, s.city, stage], joins, k
    ):
        place = {"field": "city", "op": "eq", "value": city} if city else {
            "field": "province", "op": "eq", "value": prov}  # fmt: skip
        rule = [{"field": "product_id", "op": "scanned", "value": str(pid)}, place,
                {"field": "lifecycle", "op": "eq", "value": life}]  # fmt: skip
        dims = {"product_id": str(pid), "product_name": names.get(pid), "province": prov,
                "city": city or None, "lifecycle": life}  # fmt: skip
        out.append(_item("product_city_lifecycle", dims, rule, this, last, k))
    return out


def _interest_province(brand_id: uuid.UUID, now: datetime, k: int) -> list[dict[str, Any]]:
    s, i = ProfileScan, ProfileInterest
    joins = [(i, and_(i.consumer_id == s.consumer_id, i.brand_id == s.brand_id))]
    out = []
    for interest, prov, this, last in _weekly(brand_id, now, [i.interest, s.province], joins, k):
        rule = [{"field": "interest", "op": "eq", "value": interest},
                {"field": "province", "op": "eq", "value": prov}]  # fmt: skip
        dims = {"interest": interest, "province": prov}
        out.append(_item("interest_province", dims, rule, this, last, k))
    return out


def _category_city(brand_id: uuid.UUID, now: datetime, k: int) -> list[dict[str, Any]]:
    s = ProfileScan
    joins = [(Product, Product.id == s.product_id)]
    out = []
    for cat, prov, city, this, last in _weekly(
        brand_id, now, [Product.category, s.province, s.city], joins, k
    ):
        if not cat:
            continue
        place = {"field": "city", "op": "eq", "value": city} if city else {
            "field": "province", "op": "eq", "value": prov}  # fmt: skip
        rule = [{"field": "category", "op": "scanned", "value": cat}, place]
        dims = {"category": cat, "province": prov, "city": city or None}
        out.append(_item("category_city", dims, rule, this, last, k))
    return out


def discover(brand_id: uuid.UUID, k: int, now: datetime) -> list[dict[str, Any]]:
    """Every cell of at least ``k`` consumers this week, fastest-growing first."""
    items = [
        *_product_city_lifecycle(brand_id, now, k),
        *_interest_province(brand_id, now, k),
        *_category_city(brand_id, now, k),
    ]
    items = [i for i in items if i["dimensions"].get("province") != ""]
    items.sort(key=lambda i: (-i["growth"], -i["this_week"], i["kind"], str(i["dimensions"])))
    return items
