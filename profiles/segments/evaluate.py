"""Size and breakdowns of a rule, in SQL (PostgreSQL in production, SQLite embedded)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, select

from anticounterfeit.geo import province_names
from anticounterfeit.models import Product
from core.db import db
from profiles.derived.lifecycle import STAGES, Bounds, stage_sql
from profiles.models.profile import ConsumerProfile, ProfileCity, ProfileInterest, ProfileProduct
from profiles.segments.privacy import cell, published
from profiles.segments.rules import Group, compile_rule

RATING_BUCKETS = ("1", "2", "3", "4", "5", "none")
MAX_INTEREST_CELLS = 50


@dataclass(frozen=True)
class Evaluation:
    """Exact counts (never published as such)."""

    size: int
    lifecycle: dict[str, int]
    rating: dict[str, int]
    province: dict[str, int]
    product: dict[uuid.UUID, int]
    interest: dict[str, int]


def members(group: Group, brand_id: uuid.UUID, now: datetime) -> Select[Any]:
    """``SELECT consumer_id`` of the consumers the rule matches."""
    p = ConsumerProfile
    return select(p.consumer_id).where(p.brand_id == brand_id, compile_rule(group, brand_id, now))


def _rating_bucket() -> Any:
    r = ConsumerProfile.rating_avg
    return case(
        (r.is_(None), literal("none")), (r < 1.5, literal("1")), (r < 2.5, literal("2")),
        (r < 3.5, literal("3")), (r < 4.5, literal("4")), else_=literal("5"),
    )  # fmt: skip


def _profile_counts(group: Group, brand_id: uuid.UUID, now: datetime) -> tuple[int, dict, dict]:
    """Size, lifecycle and rating cells in one pass over the matching profiles."""
    p = ConsumerProfile
    stage, bucket = stage_sql(Bounds.at(now)), _rating_bucket()
    rows = db.session.execute(
        select(stage, bucket, func.count())
        .where(p.brand_id == brand_id, compile_rule(group, brand_id, now))
        .group_by(stage, bucket)
    ).all()
    lifecycle = dict.fromkeys(STAGES, 0)
    rating = dict.fromkeys(RATING_BUCKETS, 0)
    for s, b, n in rows:
        lifecycle[s] += n
        rating[b] += n
    return sum(n for _, _, n in rows), lifecycle, rating


def _per_value(model: Any, column: Any, group: Group, brand_id: uuid.UUID,
               now: datetime) -> dict[Any, int]:  # fmt: skip
    rows = db.session.execute(
        select(column, func.count(func.distinct(model.consumer_id)))
        .where(
            model.brand_id == brand_id, model.consumer_id.in_(members(group, brand_id, now))
        )  # fmt: skip
        .group_by(column)
    )
    return {key: n for key, n in rows}


def evaluate(group: Group, brand_id: uuid.UUID, now: datetime) -> Evaluation:
    """Exact size and breakdowns of the rule's members."""
    size, lifecycle, rating = _profile_counts(group, brand_id, now)
    if size == 0:
        return Evaluation(0, lifecycle, rating, {}, {}, {})
    return Evaluation(
        size, lifecycle, rating,
        _per_value(ProfileCity, ProfileCity.province, group, brand_id, now),
        _per_value(ProfileProduct, ProfileProduct.product_id, group, brand_id, now),
        _per_value(ProfileInterest, ProfileInterest.interest, group, brand_id, now),
    )  # fmt: skip


def _interest_cells(counts: dict[str, int], k: int) -> list[dict[str, Any]]:
    shown = sorted(((n, i) for i, n in counts.items() if n >= k), reverse=True)
    shown = shown[:MAX_INTEREST_CELLS]
    cells = [cell(i, n, k) for n, i in shown]
    kept = {i for _, i in shown}
    rest = sum(n for i, n in counts.items() if i not in kept)
    if rest:
        cells.append(cell("other", rest, k))
    return cells


def publish(ev: Evaluation, brand_id: uuid.UUID, k: int) -> dict[str, Any]:
    """``size``, ``suppressed`` and ``breakdown`` as a staff endpoint may show them."""
    size = published(ev.size, k)
    if size is None:  # a suppressed segment reveals nothing about its members
        ev = Evaluation(0, dict.fromkeys(STAGES, 0), dict.fromkeys(RATING_BUCKETS, 0), {}, {}, {})
    products = db.session.execute(
        select(Product.id, Product.name).where(Product.brand_id == brand_id).order_by(Product.name)
    ).all()
    return {
        "size": size,
        "suppressed": size is None,
        "breakdown": {
            "province": [cell(name, ev.province.get(name, 0), k) for name in province_names()],
            "product": [
                cell(str(pid), ev.product.get(pid, 0), k, name=name) for pid, name in products
            ],  # fmt: skip
            "lifecycle": [cell(s, ev.lifecycle[s], k) for s in STAGES],
            "rating": [cell(b, ev.rating[b], k) for b in RATING_BUCKETS],
            "interest": _interest_cells(ev.interest, k),
        },
    }
