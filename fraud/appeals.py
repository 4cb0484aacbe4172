"""A shopper's appeal against a held reward, or one rejected after review (once per award)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from campaigns.errors import UnknownAward
from campaigns.models import Award, AwardStatus
from core.db import db
from core.queries import parse_id
from fraud.errors import AlreadyAppealed, NotAppealable
from fraud.models import Appeal, CaseAward, CaseStatus, Decision, FraudCase


def _case_of(award_id: uuid.UUID) -> FraudCase | None:
    """The latest case the award was held or decided under."""
    return db.session.scalar(
        select(FraudCase).join(CaseAward, CaseAward.case_id == FraudCase.id)
        .where(CaseAward.award_id == award_id).order_by(FraudCase.opened_at.desc()).limit(1)
    )  # fmt: skip


def appeal(consumer_id: uuid.UUID, brand_id: uuid.UUID, award_id: str, message: str) -> Appeal:
    """Appeal one's own held (or review-rejected) award; the case shows it."""
    award = db.session.scalar(select(Award).where(
        Award.id == parse_id(award_id, UnknownAward), Award.consumer_id == consumer_id,
        Award.brand_id == brand_id))  # fmt: skip
    if award is None:
        raise UnknownAward()
    case = _case_of(award.id)
    decided = case is not None and case.status is CaseStatus.resolved
    rejected = (
        award.status is AwardStatus.cancelled and decided
        and case.decision in (Decision.reject, Decision.block)  # type: ignore[union-attr, operator]
    )  # fmt: skip
    if db.session.scalar(select(Appeal.id).where(Appeal.award_id == award.id)) is not None:
        raise AlreadyAppealed()
    if award.status is not AwardStatus.held and not rejected:
        raise NotAppealable()
    row = Appeal(brand_id=brand_id, award_id=award.id, consumer_id=consumer_id,
                 case_id=case.id if case else None, message=message)  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError as exc:  # the same appeal sent twice at once
        raise AlreadyAppealed() from exc
    return row
