"""Segments: create, list, show (size and breakdowns, privacy-safe), refresh membership."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.models import Brand, StaffUser
from anticounterfeit.models import Product
from core import audit
from core.audit import CLI, Actor
from core.db import db, utcnow
from core.queries import get_for_brand, page
from profiles.errors import InvalidRule, SegmentNotFound
from profiles.models.segment import Segment
from profiles.segments import evaluate, rules
from profiles.segments.privacy import min_segment_size
from workers.job import enqueue_after_commit


def _check_products(brand: Brand, group: rules.Group) -> None:
    named = rules.product_ids(group)
    if not named:
        return
    known = set(
        db.session.scalars(
            select(Product.id).where(Product.brand_id == brand.id, Product.id.in_(named))
        )
    )
    if named - known:
        raise InvalidRule("The rule names a product this brand does not have.",
                          product_ids=sorted(str(p) for p in named - known))  # fmt: skip


def create_segment(brand: Brand, staff: StaffUser, name: str, rule: Any, *,
                   actor: Actor = CLI) -> dict[str, Any]:  # fmt: skip
    """Validate and store a segment; its membership (for targeting) is computed by a job.
    Audited (``segment.create``): a segment decides who campaigns reach."""
    group = rules.parse(rule)
    _check_products(brand, group)
    segment = Segment(brand_id=brand.id, name=name, rule=rule, created_by=staff.id)
    db.session.add(segment)
    db.session.flush()
    audit.record(brand.id, actor, "segment.create", f"segment:{segment.id}",
                 {"name": name, "rule": rule})  # fmt: skip
    from profiles.segments.jobs import refresh_members

    enqueue_after_commit(refresh_members, str(segment.id))
    return show(brand, segment)


def get_segment(brand: Brand, segment_id: str) -> Segment:
    """One of the brand's segments (another brand's: 404)."""
    return get_for_brand(Segment, segment_id, brand.id, SegmentNotFound)


def show(brand: Brand, segment: Segment, *, live: bool = True) -> dict[str, Any]:
    """The segment with its published size and breakdowns: computed now, or (``live=False``)
    as of the last membership refresh when there was one (at most 5 minutes old)."""
    if live or segment.counts is None or segment.counted_at is None:
        now = utcnow()
        ev = evaluate.evaluate(rules.parse(segment.rule), brand.id, now)
    else:
        now, ev = segment.counted_at, evaluate.from_json(segment.counts)
    return {
        "id": str(segment.id), "name": segment.name, "rule": segment.rule,
        **evaluate.publish(ev, brand.id, min_segment_size(brand)),
        "computed_at": now, "created_at": segment.created_at, "members_at": segment.members_at,
    }  # fmt: skip


def list_segments(brand: Brand, number: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """The brand's segments, newest first, each as of its last refresh (a page of segments costs
    no evaluation over the profiles; one segment, ``show``, is computed live)."""
    query = select(Segment).where(Segment.brand_id == brand.id)
    rows, total = page(query.order_by(Segment.created_at.desc(), Segment.id.desc()), number, size)
    return [show(brand, s, live=False) for s in rows], total
