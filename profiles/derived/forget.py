"""Removing derived attributes: withdrawal of profiling, erasure."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from core.db import db
from profiles.models.identity import Consumer
from profiles.models.profile import (
    ConsumerProfile,
    ProfileCity,
    ProfileInterest,
    ProfileProduct,
    ProfileScan,
)
from profiles.models.segment import SegmentMember


def lock_consumer(consumer_id: uuid.UUID) -> None:
    """Serialise with profile jobs (they hold a share lock on the consumer while they write)."""
    db.session.execute(select(Consumer.id).where(Consumer.id == consumer_id).with_for_update())


def forget_profile(consumer_id: uuid.UUID) -> None:
    """Delete every derived attribute of the consumer and their segment memberships."""
    lock_consumer(consumer_id)
    for model in (ProfileScan, ProfileProduct, ProfileCity, ProfileInterest, SegmentMember):
        db.session.execute(delete(model).where(model.consumer_id == consumer_id))
    db.session.execute(delete(ConsumerProfile).where(ConsumerProfile.consumer_id == consumer_id))
