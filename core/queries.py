"""Query helpers every package uses: tenant-scoped lookups and pages."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from core.db import db

M = TypeVar("M")


def parse_id(value: str | uuid.UUID, error: type[Exception]) -> uuid.UUID:
    """A UUID from a path or body value; anything malformed raises ``error`` (a 404)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise error() from exc


def get_for_brand(
    model: type[M], row_id: str | uuid.UUID, brand_id: uuid.UUID, error: type[Exception]
) -> M:
    """A row of ``model`` owned by the brand; another brand's id raises ``error`` (a 404)."""
    column: Any = model
    row = db.session.scalar(
        select(model).where(column.id == parse_id(row_id, error), column.brand_id == brand_id)
    )
    if row is None:
        raise error()
    return row


def page(query: Select[Any], number: int, size: int) -> tuple[list[Any], int]:
    """One page of ``query``'s rows and the total count."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.offset((number - 1) * size).limit(size))
    return list(rows.unique()), int(total or 0)
