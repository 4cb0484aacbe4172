"""SQL over the profile row's lists, for both backends (PostgreSQL arrays, SQLite JSON lists).

- ``has_any(column, values)``: the list holds one of ``values``. PostgreSQL: ``column @> ARRAY[v]``
  or ``column && ARRAY[...]`` (both use the column's GIN index); SQLite: ``EXISTS`` over
  ``json_each(column)``.
- ``elements(column)``: the list as a table-valued function to join a row to its elements
  (``unnest`` / ``json_each``), one row per element, the element in column ``value``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, exists, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Text

from profiles.derived.lists import postgres


def product_key(product_id: uuid.UUID) -> str:
    """A product id as ``product_ids`` holds it on this backend."""
    return str(product_id) if postgres() else product_id.hex


def has_any(column: Any, values: tuple[Any, ...]) -> Any:
    """``column`` (a list) holds at least one of ``values``."""
    if postgres():
        array = literal(list(values), ARRAY(Text))
        operator = "@>" if len(values) == 1 else "&&"
        return column.op(operator, return_type=Boolean)(array)
    element = func.json_each(column).table_valued("value")
    match = element.c.value == values[0] if len(values) == 1 else element.c.value.in_(values)
    return exists(select(1).select_from(element).where(match))


def elements(column: Any) -> Any:
    """The elements of ``column`` as a table-valued function (column ``value``)."""
    if postgres():
        return func.unnest(column).table_valued("value").render_derived()
    return func.json_each(column).table_valued("value")
