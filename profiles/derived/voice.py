"""Ratings and stated interests into the profile (one consumer at a time: cheap and exact)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update

from core.db import db, utcnow
from profiles.derived import lists
from profiles.derived.consent import profiling_allowed
from profiles.models.profile import ConsumerProfile, ProfileInterest
from profiles.models.voice import Feedback, Preference

MAX_INTEREST = 64


def refresh_voice(consumer_id: uuid.UUID) -> bool:
    """Recompute the consumer's rating average and stated interests; False without consent."""
    if consumer_id not in profiling_allowed([consumer_id]):
        return False
    brand_id = db.session.scalar(
        select(Preference.brand_id).where(Preference.consumer_id == consumer_id)
    ) or db.session.scalar(select(Feedback.brand_id).where(Feedback.consumer_id == consumer_id))
    if brand_id is None:
        return False
    stmt = db.insert(ConsumerProfile).on_conflict_do_nothing(index_elements=["consumer_id"])
    db.session.execute(stmt, [{"consumer_id": consumer_id, "brand_id": brand_id,
                               "updated_at": utcnow()}])  # fmt: skip
    count, avg = db.session.execute(
        select(func.count(Feedback.id), func.avg(Feedback.rating)).where(
            Feedback.consumer_id == consumer_id
        )
    ).one()
    db.session.execute(
        update(ConsumerProfile)
        .where(ConsumerProfile.consumer_id == consumer_id)
        .values(
            rating_count=count,
            rating_avg=float(avg) if avg is not None else None,
            updated_at=utcnow(),
        )  # fmt: skip
    )
    _stated_interests(consumer_id, brand_id)
    lists.sync([consumer_id])
    return True


def _stated_interests(consumer_id: uuid.UUID, brand_id: uuid.UUID) -> None:
    pref = db.session.get(Preference, consumer_id)
    stated = {i[:MAX_INTEREST] for i in (pref.interests if pref else [])}
    db.session.execute(
        delete(ProfileInterest).where(
            ProfileInterest.consumer_id == consumer_id, ProfileInterest.source == "stated"
        )
    )
    if stated:
        stmt = db.insert(ProfileInterest)
        stmt = stmt.on_conflict_do_update(
            index_elements=["consumer_id", "interest"], set_={"source": "stated"}
        )
        db.session.execute(
            stmt,
            [
                {
                    "consumer_id": consumer_id,
                    "interest": i,
                    "brand_id": brand_id,
                    "source": "stated",
                }
                for i in sorted(stated)
            ],  # fmt: skip
        )
