"""The profile row's lists: copies of the narrow tables, so a segment reads one row per consumer.

Every job that writes ``profile_cities``, ``profile_products`` or ``profile_interests`` calls
``sync`` for the consumers it touched, in its own transaction: one ``UPDATE`` recomputes the
five lists from the narrow tables (distinct), so the copy is exact whatever order jobs
run in. PostgreSQL builds ``text[]`` with ``array(SELECT ...)``, SQLite a JSON list with
``json_group_array`` (migration ``0016_segments`` backfilled existing profiles the same way).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, cast, func, select, update
from sqlalchemy.types import Text

from core.db import db
from profiles.models.profile import (
    ConsumerProfile,
    ProfileCity,
    ProfileInterest,
    ProfileProduct,
)

#: ``sync`` updates at most this many profiles per statement.
CHUNK = 1_000


def postgres() -> bool:
    """Whether the session talks to PostgreSQL (else SQLite)."""
    return bool(db.session.get_bind().dialect.name == "postgresql")


def _collect(column: Any, owner: Any, *where: ColumnElement[bool]) -> Any:
    """The distinct values of ``column`` for the profile being updated (sorted on PostgreSQL)."""
    table: Table = ConsumerProfile.__table__  # type: ignore[assignment]
    match = (owner.consumer_id == table.c.consumer_id, *where)
    if postgres():
        values = select(column).where(*match).distinct().order_by(column)
        return func.array(values.scalar_subquery())
    return select(func.json_group_array(column.distinct())).where(*match).scalar_subquery()


def _values() -> dict[str, Any]:
    city, product, interest = ProfileCity, ProfileProduct, ProfileInterest
    product_id = cast(product.product_id, Text) if postgres() else product.product_id
    return {
        "provinces": _collect(city.province, city, city.province != ""),
        "cities": _collect(city.city, city, city.city != ""),
        "product_ids": _collect(product_id, product),
        "categories": _collect(product.category, product, product.category != ""),
        "interests": _collect(interest.interest, interest),
    }


def sync(consumer_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the lists of these consumers' profiles from the narrow tables."""
    ids = sorted(set(consumer_ids))
    table: Table = ConsumerProfile.__table__  # type: ignore[assignment]
    values = _values()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        db.session.execute(
            update(table).where(table.c.consumer_id.in_(chunk)).values(**values),
            execution_options={"synchronize_session": False},
        )
