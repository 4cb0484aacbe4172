"""Fraud gauges for ``/metrics`` (read from PostgreSQL at scrape time)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from core.metrics import Gauge
from fraud.models import CaseKind, CaseStatus, FraudCase


def gauges() -> list[Gauge]:
    """Open fraud cases by kind (every kind present, zero included)."""
    open_cases = Gauge("yiwuyima_fraud_cases_open", "Fraud cases open for review, by kind.",
                       ("kind",))  # fmt: skip
    open_cases.values = {(k.value,): 0.0 for k in CaseKind}
    rows = db.session.execute(select(FraudCase.kind, func.count())
                              .where(FraudCase.status == CaseStatus.open)
                              .group_by(FraudCase.kind))  # fmt: skip
    for kind, n in rows:
        open_cases.values[(kind.value,)] = float(n)
    return [open_cases]
