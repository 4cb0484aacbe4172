"""Payout gauges for ``/metrics`` (read from PostgreSQL at scrape time)."""

from __future__ import annotations

from sqlalchemy import func, select

from campaigns.models import Payout
from core.db import db
from core.metrics import Gauge


def gauges() -> list[Gauge]:
    """Payouts and their amounts by status."""
    count = Gauge("yiwuyima_payouts", "Payouts by status.", ("status",))
    amount = Gauge("yiwuyima_payouts_amount_fen", "Payout amounts by status (fen).", ("status",))
    rows = db.session.execute(select(Payout.status, func.count(), func.sum(Payout.amount_fen))
                              .group_by(Payout.status))  # fmt: skip
    for status, n, total in rows:
        count.values[(status.value,)] = float(n)
        amount.values[(status.value,)] = float(total or 0)
    return [count, amount]
