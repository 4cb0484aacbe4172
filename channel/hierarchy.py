"""The packaging hierarchy as data: what a code holds now, and what held a unit when.

Nothing is copied per unit: a pallet's units are found through its links (pallet → cases →
units), and an event on a case or pallet applies to the units that were inside it at the time
(``Scope.applies``). Levels are strict (unit < case < pallet), so a tree is at most three deep.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, text, union_all
from sqlalchemy.orm import aliased

from channel.models import Aggregation, ChannelEvent
from channel.refs import Node
from core.db import db

#: Refs per IN (...) list: well under every driver's parameter limit.
CHUNK = 5000


@dataclass(frozen=True)
class Unit:
    """A unit inside the scanned code (or the scanned unit itself)."""

    ref: str
    code_key_id: uuid.UUID
    serial: int
    batch_id: uuid.UUID


@dataclass(frozen=True)
class Link:
    """A child's membership in a parent during [packed_at, unpacked_at)."""

    parent: str
    parent_level: str
    packed_at: datetime
    unpacked_at: datetime | None

    def covers(self, at: datetime) -> bool:
        """Whether the child was inside the parent at ``at``."""
        return self.packed_at <= at and (self.unpacked_at is None or at < self.unpacked_at)


@dataclass
class Scope:
    """A scanned code, the units it holds, every link of them upward and the events on them."""

    node: Node
    units: list[Unit]
    children: list[Any] = field(default_factory=list)  # current direct children (rows)
    links: dict[str, list[Link]] = field(default_factory=dict)
    events: dict[str, list[ChannelEvent]] = field(default_factory=dict)

    def unit_events(self, unit: Unit) -> list[ChannelEvent]:
        """Every event that applied to ``unit``, oldest first."""
        found = list(self.events.get(unit.ref, ()))
        for link in self.links.get(unit.ref, ()):
            found += [e for e in self.events.get(link.parent, ()) if link.covers(e.created_at)]
            for outer in self.links.get(link.parent, ()):
                found += [
                    e for e in self.events.get(outer.parent, ())
                    if link.covers(e.created_at) and outer.covers(e.created_at)
                ]  # fmt: skip
        found.sort(key=lambda e: (e.created_at, e.id))
        return found


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def current_children(brand_id: uuid.UUID, refs: Sequence[str]) -> list[Aggregation]:
    """The codes packed in ``refs`` now."""
    rows: list[Aggregation] = []
    for part in _chunks(refs):
        rows += db.session.scalars(
            select(Aggregation).where(
                Aggregation.brand_id == brand_id,
                Aggregation.parent_ref.in_(part),
                Aggregation.unpacked_at.is_(None),
            )
        )
    return rows


def _unit(row: Aggregation) -> Unit:
    return Unit(row.child_ref, row.child_key_id, row.child_serial, row.child_batch_id)


def units_in(brand_id: uuid.UUID, node: Node) -> tuple[list[Unit], list[Aggregation]]:
    """The units a code holds now (a unit holds itself), and its direct children."""
    if node.level == "unit":
        assert node.batch is not None and node.serial is not None
        return [Unit(node.ref, node.batch.code_key_id, node.serial, node.batch.id)], []
    children = current_children(brand_id, [node.ref])
    units = [_unit(r) for r in children if r.child_level == "unit"]
    cases = [r.child_ref for r in children if r.child_level != "unit"]
    if cases:
        units += [_unit(r) for r in current_children(brand_id, cases) if r.child_level == "unit"]
    return units, children


def links_of(brand_id: uuid.UUID, refs: Iterable[str]) -> dict[str, list[Link]]:
    """Every membership, current or past, of ``refs`` and of their parents, upward."""
    links: dict[str, list[Link]] = defaultdict(list)
    frontier, seen = sorted(set(refs)), set(refs)
    while frontier:
        parents: set[str] = set()
        for part in _chunks(frontier):
            rows = db.session.execute(
                select(
                    Aggregation.child_ref, Aggregation.parent_ref, Aggregation.parent_level,
                    Aggregation.packed_at, Aggregation.unpacked_at,
                ).where(Aggregation.brand_id == brand_id, Aggregation.child_ref.in_(part))
            )  # fmt: skip
            for child, parent, level, packed, unpacked in rows:
                links[child].append(Link(parent, level, packed, unpacked))
                parents.add(parent)
        frontier = sorted(parents - seen)
        seen |= parents
    return dict(links)


def events_on(brand_id: uuid.UUID, refs: Iterable[str]) -> dict[str, list[ChannelEvent]]:
    """The channel events recorded on ``refs``, oldest first, by ref."""
    found: dict[str, list[ChannelEvent]] = defaultdict(list)
    for part in _chunks(sorted(set(refs))):
        rows = db.session.scalars(
            select(ChannelEvent)
            .where(ChannelEvent.brand_id == brand_id, ChannelEvent.code_ref.in_(part))
            .order_by(ChannelEvent.created_at, ChannelEvent.id)
        )
        for event in rows:
            found[event.code_ref].append(event)
    return dict(found)


_TREE_COLUMNS = ("parent_ref", "parent_level", "child_ref", "child_level", "child_batch_id",
                 "child_key_id", "child_serial", "packed_at")  # fmt: skip


def _tree(brand_id: uuid.UUID, ref: str) -> tuple[list[Any], Select[Any]]:
    """The current children and grandchildren of ``ref`` (one query, plain rows), and a
    subquery of their refs (to join on, rather than sending a thousand refs back)."""
    a, b = aliased(Aggregation), aliased(Aggregation)
    top = (a.brand_id == brand_id, a.parent_ref == ref, a.unpacked_at.is_(None))
    children = select(*(getattr(a, c) for c in _TREE_COLUMNS)).where(*top)
    grandchildren = (
        select(*(getattr(b, c) for c in _TREE_COLUMNS))
        .join(a, (b.parent_ref == a.child_ref) & (b.brand_id == a.brand_id))
        .where(*top, b.unpacked_at.is_(None))
    )
    rows = list(db.session.execute(union_all(children, grandchildren)))
    refs = union_all(
        select(a.child_ref).where(*top),
        select(b.child_ref).join(a, (b.parent_ref == a.child_ref) & (b.brand_id == a.brand_id))
        .where(*top, b.unpacked_at.is_(None)),
    )  # fmt: skip
    return rows, select(refs.subquery().c.child_ref)


def _events_joined(
    brand_id: uuid.UUID, refs: Iterable[str], subtree: Select[Any]
) -> dict[str, list[ChannelEvent]]:
    found: dict[str, list[ChannelEvent]] = defaultdict(list)
    rows = db.session.scalars(
        select(ChannelEvent)
        .where(
            ChannelEvent.brand_id == brand_id,
            ChannelEvent.code_ref.in_(sorted(set(refs))) | ChannelEvent.code_ref.in_(subtree),
        )
        .order_by(ChannelEvent.created_at, ChannelEvent.id)
    )
    for event in rows:
        found[event.code_ref].append(event)
    return dict(found)


def _historic(brand_id: uuid.UUID, subtree: Select[Any]) -> dict[str, list[Link]]:
    """Past memberships (unpacked) of the codes in a subtree: usually none."""
    links: dict[str, list[Link]] = defaultdict(list)
    rows = db.session.execute(
        select(
            Aggregation.child_ref, Aggregation.parent_ref, Aggregation.parent_level,
            Aggregation.packed_at, Aggregation.unpacked_at,
        ).where(
            Aggregation.brand_id == brand_id, Aggregation.unpacked_at.is_not(None),
            Aggregation.child_ref.in_(subtree),
        )
    )  # fmt: skip
    for child, parent, level, packed, unpacked in rows:
        links[child].append(Link(parent, level, packed, unpacked))
    return links


def load(brand_id: uuid.UUID, node: Node) -> Scope:
    """The scope of a scan of ``node``: its units, their links upward and every event on them.

    A container's subtree comes from one query and is joined, not listed, in the queries for
    its past memberships and its events: a pallet costs a handful of queries, not one per unit.
    """
    if node.level == "unit":
        units, _ = units_in(brand_id, node)
        links = links_of(brand_id, [node.ref])
        every = {node.ref} | {link.parent for ls in links.values() for link in ls}
        return Scope(node, units, [], links, events_on(brand_id, every))
    rows, subtree = _tree(brand_id, node.ref)
    links = _historic(brand_id, subtree)
    for r in rows:
        links[r.child_ref].append(Link(r.parent_ref, r.parent_level, r.packed_at, None))
    former = {link.parent for ls in links.values() for link in ls if link.unpacked_at}
    links.update(links_of(brand_id, [node.ref, *former]))  # upward: ancestors, old containers
    every = {node.ref} | {link.parent for ls in links.values() for link in ls}
    units = [Unit(r.child_ref, r.child_key_id, r.child_serial, r.child_batch_id)
             for r in rows if r.child_level == "unit"]  # fmt: skip
    children = [r for r in rows if r.parent_ref == node.ref]
    return Scope(node, units, children, dict(links), _events_joined(brand_id, every, subtree))


def lock(brand_id: uuid.UUID, refs: Iterable[str]) -> None:
    """Serialise changes to the trees holding ``refs``: a transaction lock on each tree's root.

    Two scans (or a scan and a repack) touching a common unit share its root, so one waits for
    the other's commit. Roots are locked in a fixed order; a root that changed while waiting
    is locked too. PostgreSQL only (SQLite serialises writers anyway).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    locked: set[str] = set()
    for _ in range(4):
        roots = _roots(brand_id, refs)
        todo = sorted(roots - locked)
        if not todo:
            return
        for root in todo:
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"channel:{brand_id}:{root}"},
            )
        locked |= roots


def _roots(brand_id: uuid.UUID, refs: Iterable[str]) -> set[str]:
    top = {ref: ref for ref in refs}
    for _ in range(3):
        rows = db.session.execute(
            select(Aggregation.child_ref, Aggregation.parent_ref).where(
                Aggregation.brand_id == brand_id,
                Aggregation.child_ref.in_(sorted(set(top.values()))),
                Aggregation.unpacked_at.is_(None),
            )
        ).all()
        if not rows:
            break
        up = dict(rows)
        top = {ref: up.get(t, t) for ref, t in top.items()}
    return set(top.values())


def unit_scope(
    brand_id: uuid.UUID, code_key_id: uuid.UUID, serial: int, batch_id: uuid.UUID | None = None
) -> Scope:
    """The scope of one unit known by its code key and serial (no scanned text needed)."""
    ref = f"{code_key_id}:{serial}"
    unit = Unit(ref, code_key_id, serial, batch_id or uuid.UUID(int=0))
    links = links_of(brand_id, [ref])
    every = {ref} | {link.parent for ls in links.values() for link in ls}
    return Scope(Node(ref, "unit"), [unit], [], links, events_on(brand_id, every))
