"""Packing codes into cases and pallets at the line, and unpacking them (aggregation as data)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from anticounterfeit.models import BatchStatus
from channel import hierarchy, refs, verdictnotes
from channel.errors import (
    AggregationCycle,
    AlreadyAggregated,
    CodeRevoked,
    InvalidLevel,
    NotAContainer,
    NotAggregated,
)
from channel.models import Aggregation
from channel.refs import LEVELS, Node
from core.db import db, utcnow
from core.errors import InvalidInput

MAX_CHILDREN = 10_000
MAX_CSV_ROWS = 200_000
MAX_CSV_PARENTS = 2_000  # one transaction lock per parent (see ``pack``)


@dataclass(frozen=True)
class Packed:
    """The result of packing one parent."""

    parent: str
    level: str
    children: int


def _parse_all(brand: Brand, parent: str, children: list[str]) -> tuple[Node, list[Node]]:
    if not children or len(children) > MAX_CHILDREN:
        raise InvalidInput(f"give 1 to {MAX_CHILDREN} children", field="children")
    top = refs.parse(parent, brand.id)
    nodes = [refs.parse(child, brand.id) for child in children]
    twice = [ref for ref, n in Counter(n.ref for n in nodes).items() if n > 1]
    if twice:
        raise InvalidInput("A child is listed twice.", field="children")
    return top, nodes


def _check_shape(brand: Brand, top: Node, nodes: list[Node]) -> None:
    """Cycles first (a parent into its own child), then levels (a unit is no container)."""
    inside = {n.ref for n in nodes}
    below = [n.ref for n in nodes if n.level != "unit"]
    while below and top.ref not in inside:
        rows = hierarchy.current_children(brand.id, below)
        inside |= {r.child_ref for r in rows}
        below = [r.child_ref for r in rows if r.child_level != "unit"]
    if top.ref in inside:
        raise AggregationCycle()
    if top.level == "unit":
        raise NotAContainer(field="parent")
    wrong = [i for i, n in enumerate(nodes) if LEVELS[n.level] >= LEVELS[top.level]]
    if wrong:
        raise InvalidLevel(errors={"children": {i: [InvalidLevel.message] for i in wrong}})


def _check_free(brand: Brand, nodes: list[Node]) -> None:
    taken = set(
        db.session.scalars(
            select(Aggregation.child_ref).where(
                Aggregation.brand_id == brand.id,
                Aggregation.child_ref.in_([n.ref for n in nodes]),
                Aggregation.unpacked_at.is_(None),
            )
        )
    )
    if taken:
        bad = {i: ["already packed in another parent"] for i, n in enumerate(nodes)
               if n.ref in taken}  # fmt: skip
        raise AlreadyAggregated(errors={"children": bad})


def _check_not_revoked(top: Node, nodes: list[Node]) -> None:
    """Revoked goods never move in the channel (``channel.scans`` refuses them): refuse them
    here, when the line packs them, rather than when the case is shipped. The batches are this
    process's copies (``anticounterfeit.scans.batchcache``, reloaded at most a minute later), so
    goods revoked within that minute may still be packed; shipping refuses them."""
    if top.batch is not None and top.batch.status is BatchStatus.revoked:
        raise CodeRevoked(errors={"parent": ["of a revoked code batch"]})
    revoked = {i: ["of a revoked code batch"] for i, n in enumerate(nodes)
               if n.batch is not None and n.batch.status is BatchStatus.revoked}  # fmt: skip
    if revoked:
        raise CodeRevoked(errors={"children": revoked})


def pack(brand: Brand, parent: str, children: list[str]) -> Packed:
    """Pack ``children`` (codes or URLs) into ``parent``; all or nothing."""
    top, nodes = _parse_all(brand, parent, children)
    _check_not_revoked(top, nodes)
    # The parent's tree is locked against scans of it; children need no lock of their own (two
    # packs of one child meet at the partial unique index), so a pack takes one lock, not one
    # per child (PostgreSQL's lock table is shared and small).
    hierarchy.lock(brand.id, [top.ref])
    _check_shape(brand, top, nodes)
    _check_free(brand, nodes)
    now = utcnow()
    rows = [
        Aggregation(
            brand_id=brand.id, parent_ref=top.ref, parent_level=top.level,
            parent_batch_id=top.batch.id if top.batch else None, child_ref=n.ref,
            child_level=n.level, child_batch_id=n.batch.id, child_key_id=n.batch.code_key_id,
            child_serial=n.serial, packed_at=now,
        )
        for n in nodes if n.batch is not None and n.serial is not None
    ]  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
    except IntegrityError as exc:  # a concurrent pack took a child first
        raise AlreadyAggregated() from exc
    verdictnotes.entered_channel({row.child_batch_id for row in rows})
    return Packed(top.ref, top.level, len(rows))


def unpack(brand: Brand, parent: str) -> Packed:
    """Take every child out of ``parent`` (history is kept)."""
    top = refs.parse(parent, brand.id)
    hierarchy.lock(brand.id, [top.ref])
    done = db.session.execute(
        update(Aggregation)
        .where(
            Aggregation.brand_id == brand.id,
            Aggregation.parent_ref == top.ref,
            Aggregation.unpacked_at.is_(None),
        )
        .values(unpacked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(done, "rowcount", 0) or 0)
    if count == 0:
        raise NotAggregated()
    return Packed(top.ref, top.level, count)


def import_csv(brand: Brand, data: str) -> dict[str, int]:
    """Pack from the line's file: rows ``parent,child`` (a header row is allowed); all or nothing.

    A refused row is reported by its line number.
    """
    groups: dict[str, list[str]] = {}
    reader = csv.reader(io.StringIO(data))
    for number, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or (number == 1 and cells[:2] == ["parent", "child"]):
            continue
        if len(cells) != 2 or not all(cells):
            raise InvalidInput(f"line {number}: expected 'parent,child'", field="csv")
        groups.setdefault(cells[0], []).append(cells[1])
        if number > MAX_CSV_ROWS:
            raise InvalidInput(f"at most {MAX_CSV_ROWS} rows per file", field="csv")
    if not groups:
        raise InvalidInput("the file has no rows", field="csv")
    if len(groups) > MAX_CSV_PARENTS:
        raise InvalidInput(f"at most {MAX_CSV_PARENTS} parents per file", field="csv")
    children = 0
    for parent, kids in groups.items():
        try:
            children += pack(brand, parent, kids).children
        except (InvalidInput, AlreadyAggregated, AggregationCycle, CodeRevoked) as exc:
            exc.message = f"parent {parent[:80]}: {exc.message}"
            raise
    return {"parents": len(groups), "children": children}
