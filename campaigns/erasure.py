"""An erased consumer's money (``profiles.erasure`` runs this first in its ``erase`` job).

Each open red packet is completed (one payment attempt) or, if it cannot be (it waits for the
shopper, or is held), cancelled with its money returned to the budget; a payment in flight makes
the job wait and try again. Awards and points ledgers stay whole.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from accounts.models import Brand
from campaigns import awards as award_service
from campaigns import payouts
from campaigns.models import Award, AwardStatus, CampaignKind, Payout, PayoutStatus
from core.db import db

#: Red packet states that still involve money moving towards the consumer.
UNSETTLED = (AwardStatus.pending, AwardStatus.held, AwardStatus.awaiting_user)


class PayoutInFlight(RuntimeError):
    """A payment of this consumer is being processed: erasure waits for its outcome."""


def settle_payouts(consumer_id: uuid.UUID) -> None:
    """Complete or cancel every open red packet of the consumer (money records stay whole)."""
    rows = db.session.execute(
        select(Award, Payout)
        .outerjoin(Payout, Payout.award_id == Award.id)
        .where(
            Award.consumer_id == consumer_id,
            Award.kind == CampaignKind.red_packet,
            Award.status.in_(UNSETTLED),
        )  # fmt: skip
    ).all()
    for award, payout in rows:
        if payout is not None and payout.status is PayoutStatus.processing:
            raise PayoutInFlight(str(payout.id))
        if (
            payout is not None
            and payout.status is PayoutStatus.pending
            and (award.status is AwardStatus.pending)
        ):
            payouts.pay(payout.id)
            db.session.refresh(award)
        if award.status in UNSETTLED:
            brand = db.session.get(Brand, award.brand_id)
            assert brand is not None
            award_service.cancel(brand, str(award.id), "consumer erased")
