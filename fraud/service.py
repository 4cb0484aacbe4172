"""Opening fraud cases (any package may) and reading them (brand console)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from accounts.models import Brand
from core.db import db, utcnow
from core.queries import get_for_brand
from core.queries import page as paginate
from fraud.errors import UnknownCase
from fraud.models import CaseKind, CaseStatus, FraudCase

MAX_SIGNALS = 200


def _find(brand_id: uuid.UUID, dedupe_key: str) -> FraudCase | None:
    case: FraudCase | None = db.session.scalar(
        select(FraudCase).where(FraudCase.brand_id == brand_id, FraudCase.dedupe_key == dedupe_key)
    )
    return case


def open_case(
    brand_id: uuid.UUID,
    kind: CaseKind | str,
    subject: str,
    signals: list[dict[str, Any]],
    *,
    dedupe_key: str,
    score: int = 100,
    band: str = "review",
    award_ids: list[str] | None = None,
) -> FraudCase:
    """Open a case, or add the signals to the case already opened under ``dedupe_key``.

    Each signal is ``{"rule", "score", "evidence": {...}}``; a case keeps its first
    ``MAX_SIGNALS`` signals (the evidence of a flood, not all of it).
    """
    case = _find(brand_id, dedupe_key)
    if case is None:
        case = FraudCase(
            brand_id=brand_id, kind=CaseKind(kind), status=CaseStatus.open, subject=subject,
            score=score, band=band, signals=signals[:MAX_SIGNALS], award_ids=award_ids or [],
            dedupe_key=dedupe_key, opened_at=utcnow(),
        )  # fmt: skip
        try:
            with db.session.begin_nested():
                db.session.add(case)
            return case
        except IntegrityError:
            case = _find(brand_id, dedupe_key)
            assert case is not None
    room = MAX_SIGNALS - len(case.signals)
    if room > 0 and signals:
        case.signals = [*case.signals, *signals[:room]]
        flag_modified(case, "signals")
        db.session.flush()
    return case


def list_cases(
    brand: Brand, page: int, page_size: int, status: str | None = None, kind: str | None = None
) -> tuple[list[FraudCase], int]:
    """A page of the brand's cases, newest first, optionally by status and kind."""
    query = select(FraudCase).where(FraudCase.brand_id == brand.id)
    if status:
        query = query.where(FraudCase.status == CaseStatus(status))
    if kind:
        query = query.where(FraudCase.kind == CaseKind(kind))
    query = query.order_by(FraudCase.opened_at.desc(), FraudCase.id.desc())
    return paginate(query, page, page_size)


def get_case(brand: Brand, case_id: str) -> FraudCase:
    """One case of the brand (404 for another brand's)."""
    case: FraudCase = get_for_brand(FraudCase, case_id, brand.id, UnknownCase)
    return case
