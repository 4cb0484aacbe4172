"""Sending payouts to be paid once the transaction that created them commits.

The payout rows are the outbox: ``dispatch_payouts`` only says "pay these soon". Call it after
the rows are written and the writes have survived (outside any savepoint that may still roll
back); it registers one after-commit callback through ``core.txhooks``, so nothing is sent for a
transaction that rolls back, and a lost send is repaired by the ``sweep_payouts`` sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from workers.job import enqueue_after_commit


def dispatch_payouts(payout_ids: Sequence[uuid.UUID]) -> None:
    """Have these payouts paid after the current transaction commits (never if it rolls back)."""
    if not payout_ids:
        return
    from campaigns.jobs import pay_award  # jobs import this module's callers

    for payout_id in payout_ids:
        enqueue_after_commit(pay_award, str(payout_id), queue_name="payouts")
