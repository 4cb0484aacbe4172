"""The units of a scanned code and their channel states, as SQL sets (no row per unit in Python).

A scan of a pallet resolves its units with one recursive CTE over the current links
(``subtree``), and finds each unit's last channel event with one more: the events on the unit
itself, and on every case or pallet that held it *at the time of the event* (``ancestors``, over
current and past links, each with the interval it held the unit). Every recorded event was
valid for every unit it covered (a scan checks them all, or writes nothing), so a unit's state
is a function of its last event (``channel.steps.after_last``): the database returns the
handful of distinct (batch, last event) groups with their unit counts, not 960 rows.

The same sets feed the writes (the ranges of units a warehouse ship activates, one
``INSERT ... SELECT``) and the reports (``channel.reports``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Uuid

from anticounterfeit.models import Activation, BatchStatus, CodeActivation, CodeBatch
from channel.models import Aggregation, ChannelAction, ChannelEvent
from channel.refs import Node
from core.db import db, utcnow

AGG = Aggregation.__table__
EVENTS = ChannelEvent.__table__
BATCHES = CodeBatch.__table__


#: Every statement here names its brand with this parameter (``{"brand_id": ...}``).
BRAND = bindparam("brand_id", type_=Uuid())


@dataclass(frozen=True)
class Units:
    """A set of units in SQL (``ref, batch_id, key_id, serial``) and the parameters it takes."""

    cte: CTE
    params: dict[str, Any]
    kind: str  # "unit" or "container": which statement template (built once, then cached)


@cache
def _unit_cte() -> CTE:
    return select(
        bindparam("unit_ref", type_=String()).label("ref"),
        bindparam("unit_batch", type_=Uuid()).label("batch_id"),
        bindparam("unit_key", type_=Uuid()).label("key_id"),
        bindparam("unit_serial", type_=BigInteger()).label("serial"),
    ).cte("units")


@cache
def _container_cte() -> CTE:
    top = select(
        AGG.c.child_ref.label("ref"), AGG.c.child_level.label("level"),
        AGG.c.child_batch_id.label("batch_id"), AGG.c.child_key_id.label("key_id"),
        AGG.c.child_serial.label("serial"),
    ).where(
        AGG.c.brand_id == BRAND, AGG.c.parent_ref == bindparam("ref", type_=String()),
        AGG.c.unpacked_at.is_(None),
    ).cte("tree", recursive=True)  # fmt: skip
    below = AGG.alias("below")
    tree = top.union_all(
        select(below.c.child_ref, below.c.child_level, below.c.child_batch_id,
               below.c.child_key_id, below.c.child_serial)
        .join(top, below.c.parent_ref == top.c.ref)
        .where(below.c.brand_id == BRAND, below.c.unpacked_at.is_(None))
    )  # fmt: skip
    return (
        select(tree.c.ref, tree.c.batch_id, tree.c.key_id, tree.c.serial)
        .where(tree.c.level == "unit")
        .cte("units")
    )


def subtree(brand_id: uuid.UUID, node: Node) -> Units:
    """The units a code holds now (a unit holds itself)."""
    if node.level == "unit":
        assert node.batch is not None and node.serial is not None
        params = {"brand_id": brand_id, "unit_ref": node.ref, "unit_batch": node.batch.id,
                  "unit_key": node.batch.code_key_id, "unit_serial": node.serial}  # fmt: skip
        return Units(_unit_cte(), params, "unit")
    return Units(_container_cte(), {"brand_id": brand_id, "ref": node.ref}, "container")


def _cte(kind: str) -> CTE:
    return _unit_cte() if kind == "unit" else _container_cte()


def _later(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _earlier_or_open(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two interval ends, where NULL is an open end (portable LEAST)."""
    return case((a.is_(None), b), (b.is_(None), a), (a < b, a), else_=b)


def ancestors(units: CTE) -> CTE:
    """Every container that ever held each unit, with the interval it did:
    ``unit_ref, ref, lo, hi`` (``hi`` NULL while it still does)."""
    up = select(
        units.c.ref.label("unit_ref"), units.c.key_id.label("unit_key"),
        units.c.serial.label("unit_serial"), AGG.c.parent_ref.label("ref"),
        AGG.c.packed_at.label("lo"), AGG.c.unpacked_at.label("hi"),
    ).join(
        AGG, and_(AGG.c.brand_id == BRAND, AGG.c.child_ref == units.c.ref)
    ).cte("ancestors", recursive=True)  # fmt: skip
    outer = AGG.alias("outer_link")
    return up.union_all(
        select(up.c.unit_ref, up.c.unit_key, up.c.unit_serial, outer.c.parent_ref,
               _later(outer.c.packed_at, up.c.lo),
               _earlier_or_open(outer.c.unpacked_at, up.c.hi))
        .join(outer, and_(outer.c.brand_id == BRAND, outer.c.child_ref == up.c.ref))
    )  # fmt: skip


_EVENT_COLUMNS = ("id", "created_at", "action", "partner_id", "to_partner_id")


def applied(units: CTE) -> Any:
    """Every event that applied to each unit: ``unit_ref, unit_key, unit_serial`` and the
    event's columns."""
    up = ancestors(units)
    cols = [EVENTS.c[c] for c in _EVENT_COLUMNS]
    unit = (units.c.ref.label("unit_ref"), units.c.key_id.label("unit_key"),
            units.c.serial.label("unit_serial"))  # fmt: skip
    direct = select(*unit, *cols).join(
        EVENTS, and_(EVENTS.c.brand_id == BRAND, EVENTS.c.code_ref == units.c.ref)
    )
    via = select(up.c.unit_ref, up.c.unit_key, up.c.unit_serial, *cols).join(
        EVENTS,
        and_(
            EVENTS.c.brand_id == BRAND, EVENTS.c.code_ref == up.c.ref,
            EVENTS.c.created_at >= up.c.lo, or_(up.c.hi.is_(None), EVENTS.c.created_at < up.c.hi),
        ),
    )  # fmt: skip
    return union_all(direct, via).subquery("applied")


def last_events(units: CTE) -> Any:
    """Each unit's last applied event (units without one are absent)."""
    ev = applied(units)
    order = func.row_number().over(  # by (key, serial): cheaper to sort than the ref's text
        partition_by=(ev.c.unit_key, ev.c.unit_serial),
        order_by=(ev.c.created_at.desc(), ev.c.id.desc()),
    )
    ranked = select(*ev.c, order.label("rn")).subquery("ranked")
    return select(*(c for c in ranked.c if c.name != "rn")).where(ranked.c.rn == 1).subquery("last")


@dataclass(frozen=True)
class Group:
    """Units of one batch that share their last channel event (or have none)."""

    batch_id: uuid.UUID
    batch_status: BatchStatus
    activation: str
    batch_start: int
    action: str | None
    partner_id: uuid.UUID | None
    to_partner_id: uuid.UUID | None
    units: int


@cache
def _groups_statement(kind: str) -> Select[Any]:
    units = _cte(kind)
    last = last_events(units)
    keys = (
        units.c.batch_id, BATCHES.c.status, BATCHES.c.activation, BATCHES.c.serial_start,
        last.c.action, last.c.partner_id, last.c.to_partner_id,
    )  # fmt: skip
    return (
        select(*keys, func.count())
        .select_from(units)
        .join(BATCHES, BATCHES.c.id == units.c.batch_id)
        .outerjoin(last, last.c.unit_ref == units.c.ref)
        .group_by(*keys)
    )


def groups(units: Units) -> list[Group]:
    """The units' states, grouped: one statement, a row per distinct (batch, last event)."""
    rows = db.session.execute(_groups_statement(units.kind), units.params)
    return [
        Group(batch, BatchStatus(status), str(getattr(activation, "value", activation)), start,
              str(getattr(action, "value", action)) if action is not None else None,
              partner, to, n)
        for batch, status, activation, start, action, partner, to, n in rows
    ]  # fmt: skip


def _new_uuid(dialect: str) -> ColumnElement[Any]:
    """A fresh UUID per row, in SQL (for ``INSERT ... SELECT``)."""
    if dialect == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))  # SQLite's 32-hex-digit UUID column


@cache
def _activation_statement(kind: str, dialect: str) -> Any:
    units = _cte(kind)
    island = units.c.serial - func.row_number().over(
        partition_by=units.c.batch_id, order_by=units.c.serial
    )
    numbered = (
        select(units.c.batch_id, units.c.serial, island.label("island"))
        .join(BATCHES, BATCHES.c.id == units.c.batch_id)
        .where(
            BATCHES.c.activation == Activation.on_ship, BATCHES.c.status == BatchStatus.generated
        )
        .subquery("numbered")
    )
    ranges: Select[Any] = select(
        _new_uuid(dialect), BRAND, numbered.c.batch_id,
        func.min(numbered.c.serial), func.max(numbered.c.serial) + 1,
        bindparam("source", type_=String()),
        bindparam("now", type_=CodeActivation.activated_at.type),
    ).group_by(numbered.c.batch_id, numbered.c.island)  # fmt: skip
    table = cast(Table, CodeActivation.__table__)  # Core: the ORM would read params as rows
    return (
        insert(table)
        .from_select(["id", "brand_id", "code_batch_id", "serial_start", "serial_stop", "source",
                      "activated_at"], ranges)  # fmt: skip
        .returning(table.c.code_batch_id, table.c.serial_start, table.c.serial_stop)
    )


def activate_shipped(units: Units, source: str) -> list[tuple[uuid.UUID, int, int]]:
    """Record the units of ``on_ship`` batches as active, as serial ranges (gaps and islands),
    in one ``INSERT ... SELECT``; returns the ranges written ``(batch, start, stop)``."""
    statement = _activation_statement(units.kind, db.session.get_bind().dialect.name)
    written = db.session.execute(statement, {**units.params, "source": source, "now": utcnow()})
    return [(b, a, z) for b, a, z in written]


@cache
def _dealer_shipments_statement(kind: str) -> Select[Any]:
    units = _cte(kind)
    ev = applied(units)
    dealers = bindparam("dealers", expanding=True, type_=Uuid())
    shipped = select(*ev.c).where(ev.c.action == ChannelAction.ship,
                                  ev.c.to_partner_id.in_(dealers)).subquery("ships")  # fmt: skip
    order = func.row_number().over(
        partition_by=shipped.c.unit_ref, order_by=(shipped.c.created_at.desc(),
                                                   shipped.c.id.desc())
    )  # fmt: skip
    ranked = select(shipped.c.unit_ref, shipped.c.id, shipped.c.to_partner_id,
                    order.label("rn")).subquery("ranked_ships")  # fmt: skip
    return (
        select(ranked.c.id, ranked.c.to_partner_id, units.c.serial)
        .join(units, units.c.ref == ranked.c.unit_ref)
        .where(ranked.c.rn == 1)
        .order_by(ranked.c.id, units.c.serial)
    )


def dealer_shipments(
    units: Units, dealers: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """Each unit's last shipment to one of ``dealers`` (the brand's dealers): rows of
    ``(ship event, dealer, serial)`` for the units whose last one went to a dealer."""
    rows = db.session.execute(
        _dealer_shipments_statement(units.kind), {**units.params, "dealers": dealers}
    )
    return [(e, d, s) for e, d, s in rows]


def direct_children(brand_id: uuid.UUID, ref: str, level: str) -> list[Any]:
    """The current children of one level packed directly in ``ref`` (plain rows)."""
    return list(db.session.execute(
        select(AGG.c.child_key_id, AGG.c.child_serial, AGG.c.child_batch_id).where(
            AGG.c.brand_id == brand_id, AGG.c.parent_ref == ref, AGG.c.unpacked_at.is_(None),
            AGG.c.child_level == level,
        ).order_by(AGG.c.child_ref)
    ))  # fmt: skip



class ref_serial(FunctionElement[int]):  # noqa: N801 (a SQL function's name)
    """The serial of a signed code's ref (``{code key}:{serial}``), in SQL."""

    type = BigInteger()
    inherit_cache = True


@compiles(ref_serial, "postgresql")
def _ref_serial_pg(element: ref_serial, compiler: Any, **kw: Any) -> str:
    return f"CAST(split_part({compiler.process(element.clauses, **kw)}, ':', 2) AS BIGINT)"


@compiles(ref_serial)
def _ref_serial_default(element: ref_serial, compiler: Any, **kw: Any) -> str:
    ref = compiler.process(element.clauses, **kw)
    return f"CAST(substr({ref}, instr({ref}, ':') + 1) AS INTEGER)"


def covered(events: Any) -> Any:
    """The units each event covered when it was recorded, as the hierarchy stood then:
    ``event_id, ref, batch_id, key_id, serial`` (``events``: a subquery of channel events with
    ``id, code_ref, code_level, code_batch_id, created_at``)."""
    inside = AGG.alias("inside")
    down = select(
        events.c.id.label("event_id"), events.c.created_at.label("at"),
        inside.c.child_ref.label("ref"), inside.c.child_level.label("level"),
        inside.c.child_batch_id.label("batch_id"), inside.c.child_key_id.label("key_id"),
        inside.c.child_serial.label("serial"),
    ).join(inside, and_(
        inside.c.brand_id == BRAND, inside.c.parent_ref == events.c.code_ref,
        inside.c.packed_at <= events.c.created_at,
        or_(inside.c.unpacked_at.is_(None), events.c.created_at < inside.c.unpacked_at),
    )).cte("covered_tree", recursive=True)  # fmt: skip
    deeper = AGG.alias("deeper")
    tree = down.union_all(
        select(down.c.event_id, down.c.at, deeper.c.child_ref, deeper.c.child_level,
               deeper.c.child_batch_id, deeper.c.child_key_id, deeper.c.child_serial)
        .join(deeper, and_(
            deeper.c.brand_id == BRAND, deeper.c.parent_ref == down.c.ref,
            deeper.c.packed_at <= down.c.at,
            or_(deeper.c.unpacked_at.is_(None), down.c.at < deeper.c.unpacked_at),
        ))
    )  # fmt: skip
    in_containers = select(tree.c.event_id, tree.c.ref, tree.c.batch_id, tree.c.key_id,
                           tree.c.serial).where(tree.c.level == "unit")  # fmt: skip
    themselves = (
        select(events.c.id, events.c.code_ref, events.c.code_batch_id, BATCHES.c.code_key_id,
               ref_serial(events.c.code_ref))
        .join(BATCHES, BATCHES.c.id == events.c.code_batch_id)
        .where(events.c.code_level == "unit")
    )  # fmt: skip
    return union_all(in_containers, themselves).subquery("covered")
