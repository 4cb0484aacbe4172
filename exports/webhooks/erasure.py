"""An erased consumer in webhook deliveries (``profiles.erasure`` runs this in its ``erase`` job).

A delivery stays (the brand's record of what was announced; a pending one still goes out) with
the consumer's id replaced by ``null`` wherever it appears: the body stays JSON, so a retry still
parses at the receiver, and nothing kept here points at the person any more.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, update

from core.db import db
from exports.webhooks.models import WebhookDelivery


def forget_consumer(consumer_id: uuid.UUID) -> None:
    """Replace the consumer's id with null in every stored delivery body."""
    quoted = json.dumps(str(consumer_id))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.body.contains(quoted, autoescape=True))
        .values(body=func.replace(WebhookDelivery.body, quoted, "null"))
    )
