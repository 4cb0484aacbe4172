"""An erased consumer who was a clerk (``profiles.erasure`` runs this in its ``erase`` job).

Their memberships of partners go (the tombstone is nobody's clerk); their channel events stay,
as scans do, as facts of the goods' journey (units, partner, action, time, city), without the
point where they were made.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, update

from channel.models import ChannelEvent, PartnerClerk
from core.db import db


def forget_clerk(consumer_id: uuid.UUID) -> None:
    """Drop the consumer's clerk memberships and the coordinates of their channel scans."""
    db.session.execute(delete(PartnerClerk).where(PartnerClerk.consumer_id == consumer_id))
    db.session.execute(
        update(ChannelEvent).where(ChannelEvent.clerk_id == consumer_id).values(lat=None, lng=None)
    )
