"""An erased consumer's appeals (``profiles.erasure`` runs this in its ``erase`` job).

An appeal stays (it belongs to the case and the award's decision) without its free text, as a
rating stays without its comment.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from core.db import db
from fraud.models import Appeal

ERASED = ""


def forget_appeals(consumer_id: uuid.UUID) -> None:
    """Blank the text of the consumer's appeals."""
    db.session.execute(
        update(Appeal).where(Appeal.consumer_id == consumer_id).values(message=ERASED)
    )
