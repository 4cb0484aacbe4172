"""The shopper's voice: ratings of their own genuine scans, and preferences for what comes next."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.auth import ConsumerIdentity
from anticounterfeit.models import CodeBatch, Product, ScanEvent
from anticounterfeit.verdicts import Verdict
from core.db import db, utcnow
from core.queries import parse_id
from profiles.errors import AlreadyRated, ScanNotFound, ScanNotRateable, UnknownProduct
from profiles.inputs import PreferencesInput, RatingInput
from profiles.models.voice import Feedback, Preference
from workers.job import enqueue_after_commit

#: A rating is about the product in hand: only scans that verified it as genuine qualify.
RATEABLE = (Verdict.authentic.value, Verdict.authentic_repeat.value)


def _own_scan(consumer: ConsumerIdentity, scan_id: str) -> tuple[ScanEvent, uuid.UUID]:
    row = db.session.execute(
        select(ScanEvent, CodeBatch.product_id)
        .join(CodeBatch, CodeBatch.id == ScanEvent.code_batch_id)
        .where(
            ScanEvent.id == parse_id(scan_id, ScanNotFound),
            ScanEvent.brand_id == consumer.brand_id,
            ScanEvent.consumer_id == consumer.consumer_id,
        )
    ).first()
    if row is None:  # unknown, another consumer's, or counterfeit (never recorded as a scan)
        raise ScanNotFound()
    return row[0], row[1]


def rate(consumer: ConsumerIdentity, body: RatingInput) -> Feedback:
    """``POST /api/v1/me/feedback``: once per scan of one's own, of a genuine code."""
    scan, product_id = _own_scan(consumer, body.scan_id)
    if scan.verdict not in RATEABLE:
        raise ScanNotRateable(verdict=scan.verdict)
    if db.session.scalar(select(Feedback.id).where(Feedback.scan_id == scan.id)) is not None:
        raise AlreadyRated()
    feedback = Feedback(
        brand_id=consumer.brand_id, consumer_id=consumer.consumer_id, scan_id=scan.id,
        product_id=product_id, rating=body.rating, tags=list(body.tags),
        comment=body.comment, created_at=utcnow(),
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(feedback)
    except IntegrityError as exc:  # the same scan rated concurrently
        raise AlreadyRated() from exc
    _profile_voice_changed(consumer.consumer_id)
    return feedback


def preferences(consumer_id: uuid.UUID) -> Preference | None:
    """The consumer's stated preferences, if any."""
    return db.session.get(Preference, consumer_id)


def set_preferences(consumer: ConsumerIdentity, body: PreferencesInput) -> Preference:
    """``PUT /api/v1/me/preferences``: replace interests and wishes."""
    wishes = [
        {"product_id": _brand_product(consumer, w.product_id), "text": w.text} for w in body.wishes
    ]
    interests = list(dict.fromkeys(body.interests))  # de-duplicated, in order
    pref = db.session.get(Preference, consumer.consumer_id)
    if pref is None:
        pref = Preference(consumer_id=consumer.consumer_id, brand_id=consumer.brand_id)
        db.session.add(pref)
    pref.interests, pref.wishes, pref.updated_at = interests, wishes, utcnow()
    db.session.flush()
    _profile_voice_changed(consumer.consumer_id)
    return pref


def _brand_product(consumer: ConsumerIdentity, product_id: str | None) -> str | None:
    if product_id is None:
        return None
    pid = parse_id(product_id, UnknownProduct)
    found = db.session.scalar(
        select(Product.id).where(Product.id == pid, Product.brand_id == consumer.brand_id)
    )
    if found is None:
        raise UnknownProduct(product_id=product_id)
    return str(pid)


def preferences_payload(pref: Preference | None) -> dict[str, Any]:
    """The preferences as the API shows them."""
    if pref is None:
        return {"interests": [], "wishes": [], "updated_at": None}
    return {"interests": pref.interests, "wishes": pref.wishes, "updated_at": pref.updated_at}


def _profile_voice_changed(consumer_id: uuid.UUID) -> None:
    from profiles.derived.jobs import refresh_voice_job

    enqueue_after_commit(refresh_voice_job(), str(consumer_id))
