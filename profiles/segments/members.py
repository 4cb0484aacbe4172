"""Precomputed segment membership: what campaign targeting reads (one indexed lookup per draw).

Members are the consumers the rule matches *and* whose latest ``marketing`` consent is a grant:
profiling lets a brand count people, only marketing lets it target them. Recomputed when the
segment is created and by the ``refresh_all_members`` sweep (every five minutes); a withdrawal
of marketing consent or an erasure removes the consumer from every segment at once.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable

from sqlalchemy import delete, exists, insert, literal, select

from core.db import db, utcnow
from profiles.flags import cached_flags, forget_flags
from profiles.models.consent import ConsentRecord, Purpose
from profiles.models.segment import Segment, SegmentMember
from profiles.segments import evaluate, rules


def leave_all(consumer_id: uuid.UUID) -> None:
    """Take the consumer out of every segment (withdrawn marketing consent, erasure)."""
    db.session.execute(delete(SegmentMember).where(SegmentMember.consumer_id == consumer_id))


def _marketing_granted(consumer_id: object) -> object:
    latest, later = ConsentRecord, ConsentRecord.__table__.alias("later")
    newer = exists(
        select(1).where(
            later.c.consumer_id == latest.consumer_id,
            later.c.purpose == latest.purpose,
            later.c.created_at > latest.created_at,
        )
    )
    return exists(
        select(1).where(
            latest.consumer_id == consumer_id,
            latest.purpose == Purpose.marketing.value,
            latest.granted.is_(True),
            ~newer,
        )
    )


def refresh(segment_id: uuid.UUID) -> int:
    """Recompute one segment's members in SQL, and its counts for the list; how many members.

    Incremental: those who left are deleted and those who joined inserted (``RETURNING`` says
    who), and only their cached flags are forgotten (their "in a segment" bit may change)."""
    segment = db.session.get(Segment, segment_id, with_for_update=True)
    if segment is None:
        return 0
    now = utcnow()
    group = rules.parse(segment.rule)
    segment.counts = evaluate.to_json(evaluate.evaluate(group, segment.brand_id, now))
    segment.counted_at = now
    matched = evaluate.members(group, segment.brand_id, now).subquery()
    wanted = select(matched.c.consumer_id).where(_marketing_granted(matched.c.consumer_id))  # type: ignore[arg-type]
    m = SegmentMember
    left = db.session.scalars(
        delete(m).where(m.segment_id == segment_id, m.consumer_id.not_in(wanted)).returning(
            m.consumer_id
        )
    ).all()
    already = select(1).where(m.segment_id == segment_id, m.consumer_id == matched.c.consumer_id)
    joined = db.session.scalars(
        insert(m)
        .from_select(
            ["segment_id", "consumer_id"],
            select(literal(segment_id, m.segment_id.type), matched.c.consumer_id).where(
                _marketing_granted(matched.c.consumer_id),  # type: ignore[arg-type]
                ~exists(already),
            ),
        )
        .returning(m.consumer_id)
    ).all()
    forget_flags([*left, *joined])
    segment.members_at = now
    count = db.session.query(SegmentMember).filter_by(segment_id=segment_id).count()
    return int(count)


def is_member(consumer_id: uuid.UUID, segment_ids: frozenset[uuid.UUID]) -> bool:
    """Whether the consumer is in any of the segments (one primary-key lookup)."""
    if not segment_ids:
        return False
    found = db.session.scalar(
        select(SegmentMember.consumer_id)
        .where(SegmentMember.segment_id.in_(segment_ids), SegmentMember.consumer_id == consumer_id)
        .limit(1)
    )
    return found is not None


def memberships(consumer_id: uuid.UUID, segment_ids: frozenset[uuid.UUID]) -> frozenset[uuid.UUID]:
    """Those of ``segment_ids`` the consumer is a member of (the scan path asks, when a running
    campaign targets segments).

    The request has just read the consumer's flags from Redis: their consents and the segments
    they are in (kept current by the membership refresh, which forgets the flags of whoever left
    or joined). So the answer costs no SQL; only when the flags are not cached, one primary-key
    lookup in ``segment_members``."""
    if not segment_ids:
        return frozenset()
    flags = cached_flags(consumer_id)
    if flags is not None:
        return frozenset() if flags.erased or not flags.marketing else flags.segments & segment_ids
    rows = db.session.scalars(
        select(SegmentMember.segment_id).where(
            SegmentMember.segment_id.in_(segment_ids), SegmentMember.consumer_id == consumer_id
        )
    )
    return frozenset(rows)


def unknown_segment_ids(brand_id: uuid.UUID, ids: Iterable[str]) -> list[str]:
    """Those of ``ids`` that are not segments of the brand (campaign targeting: 422)."""
    ids = list(ids)
    wanted: dict[str, uuid.UUID] = {}
    for raw in ids:
        with contextlib.suppress(ValueError):
            wanted[raw] = uuid.UUID(raw)
    found = set(
        db.session.scalars(
            select(Segment.id).where(Segment.brand_id == brand_id, Segment.id.in_(wanted.values()))
        )
    ) if wanted else set()  # fmt: skip
    return [raw for raw in ids if wanted.get(raw) not in found]
