"""The packaging hierarchy as data: what a code holds now, and what held a unit when.

Nothing is copied per unit: a pallet's units are found through its links (pallet → cases →
units), and an event on a case or pallet applies to the units that were inside it at the time
(``Scope.unit_events``). Levels are strict (unit < case < pallet), so a tree is at most three
deep. This module serves one unit at a time (its history, its state) and the tree locks; a
scan of a whole case or pallet works on sets in SQL instead (``channel.unitsets``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

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


# Each parent is found by a correlated subquery, so its lookup is always an index condition on
# (brand_id, child_ref), whatever the table's statistics say (a join here was planned as a scan
# of the brand's links while they were young: quadratic packing at the line).
_LOCK_ROOTS = text("""
SELECT r.root, pg_advisory_xact_lock(hashtextextended(:prefix || r.root, 0))
FROM (
  SELECT DISTINCT COALESCE(
    (SELECT top.parent_ref FROM aggregations top
     WHERE top.brand_id = CAST(:brand AS uuid) AND top.unpacked_at IS NULL
       AND top.child_ref = (SELECT up.parent_ref FROM aggregations up
                            WHERE up.brand_id = CAST(:brand AS uuid) AND up.unpacked_at IS NULL
                              AND up.child_ref = wanted.ref)),
    (SELECT up.parent_ref FROM aggregations up
     WHERE up.brand_id = CAST(:brand AS uuid) AND up.unpacked_at IS NULL
       AND up.child_ref = wanted.ref),
    wanted.ref) AS root
  FROM unnest(CAST(:refs AS text[])) AS wanted(ref)
  ORDER BY root
) AS r
WHERE NOT (r.root = ANY(CAST(:locked AS text[])))
""")


def lock(brand_id: uuid.UUID, refs: Iterable[str]) -> None:
    """Serialise changes to the trees holding ``refs``: a transaction lock on each tree's root.

    Two scans (or a scan and a repack) touching a common unit share its root, so one waits for
    the other's commit. One statement finds the roots (a code has at most two ancestors) and
    locks them in a fixed order; the next finds them again once they are held and locks any
    that changed while waiting: two round trips when nothing moved. PostgreSQL only (SQLite
    serialises writers anyway).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    wanted, locked = sorted(set(refs)), list[str]()
    for _ in range(4):
        rows = db.session.execute(_LOCK_ROOTS, {
            "prefix": f"channel:{brand_id}:", "refs": wanted, "brand": str(brand_id),
            "locked": locked,
        }).all()  # fmt: skip
        if not rows:
            return
        locked += [root for root, _ in rows]


def unit_scope(
    brand_id: uuid.UUID, code_key_id: uuid.UUID, serial: int, batch_id: uuid.UUID | None = None
) -> Scope:
    """The scope of one unit known by its code key and serial (no scanned text needed)."""
    ref = f"{code_key_id}:{serial}"
    unit = Unit(ref, code_key_id, serial, batch_id or uuid.UUID(int=0))
    links = links_of(brand_id, [ref])
    every = {ref} | {link.parent for ls in links.values() for link in ls}
    return Scope(Node(ref, "unit"), [unit], [], links, events_on(brand_id, every))
