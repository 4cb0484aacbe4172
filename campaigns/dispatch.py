"""Sending payouts to be paid once the transaction that created them commits.

The payout rows are the outbox: ``dispatch_payouts`` only says "pay these soon". Call it after
the rows are written and the writes have survived (outside any savepoint that may still roll
back). It asks the payouts package for one drain after the commit (``core.txhooks``; one per
transaction, not one job per payout): the drain pays pending payouts from the database in
batches, so nothing is sent for a transaction that rolls back and a lost kick is repaired by
the payouts sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from campaigns import payouts


def dispatch_payouts(payout_ids: Sequence[uuid.UUID]) -> None:
    """Have these payouts paid after the current transaction commits (never if it rolls back)."""
    if payout_ids:
        payouts.kick_after_commit()  # one drain per transaction
