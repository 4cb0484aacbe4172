"""Derived profiles: incremental, consent checked when the job runs, removed on withdrawal."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.profiles.conftest import SHANGHAI, consent, scan, settle

HANGZHOU = {"lat": 30.27, "lng": 120.15}


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def _profile(consumer_id: Any) -> Any:
    from core.db import db
    from profiles.models import ConsumerProfile

    db.session.expire_all()
    return db.session.get(ConsumerProfile, consumer_id)


def _rows(model: Any, consumer_id: Any) -> list[Any]:
    from core.db import db

    return list(db.session.scalars(select(model).where(model.consumer_id == consumer_id)))


def test_a_consenting_shoppers_profile_follows_their_scans(
    client: FlaskClient, make_codes: Any, make_shopper: Any, make_campaign: Any, flush_scans: Any
) -> None:
    from profiles.derived.lifecycle import stage
    from profiles.models import ProfileCity, ProfileInterest, ProfileProduct

    codes = make_codes(4)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, profiling=True)
    scan(client, shopper, codes.urls[0], location=SHANGHAI)
    settle(flush_scans)
    p = _profile(shopper.consumer.id)
    assert (p.scan_count, p.scans_90d, p.reward_scans, p.reward_ratio) == (1, 1, 0, 0.0)
    make_campaign(codes.owner)  # a cash campaign runs from now on
    scan(client, shopper, codes.urls[1], location=HANGZHOU)
    scan(client, shopper, codes.urls[1], location=HANGZHOU)  # a re-scan counts as a scan
    settle(flush_scans)
    p = _profile(shopper.consumer.id)
    assert (p.scan_count, p.scans_90d, p.reward_scans) == (3, 3, 2)
    assert p.reward_ratio == pytest.approx(2 / 3)
    assert p.first_scan_at < p.last_scan_at
    assert stage(p.first_scan_at, p.last_scan_at, p.last_scan_at) == "new"
    products = _rows(ProfileProduct, shopper.consumer.id)
    assert [(r.product_id, r.scans) for r in products] == [(codes.batch.product_id, 3)]
    cities = sorted((r.province, r.city, r.scans) for r in _rows(ProfileCity, shopper.consumer.id))
    assert cities == [("上海市", "上海市", 1), ("浙江省", "杭州市", 2)]
    assert _rows(ProfileInterest, shopper.consumer.id) == []  # the product has no category


def test_without_consent_nothing_is_derived(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from core.db import db
    from profiles.models import ConsumerProfile, ProfileScan

    codes = make_codes(2)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, marketing=True, precise_location=True, profiling=False)
    scan(client, shopper, codes.urls[0], location=SHANGHAI)
    settle(flush_scans)
    rating = {"scan_id": scan(client, shopper, codes.urls[1])["scan_id"], "rating": 2}
    settle(flush_scans)
    assert (
        client.post("/api/v1/me/feedback", json=rating, headers=shopper.headers).status_code == 201
    )
    client.put("/api/v1/me/preferences", json={"interests": ["tea"]}, headers=shopper.headers)
    settle(flush_scans)
    for model in (ConsumerProfile, ProfileScan):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_consent_is_checked_when_the_job_runs_not_when_the_scan_was_made(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from profiles.derived.scans import apply_scans

    codes = make_codes(3)
    shopper = make_shopper(codes.brand)
    ids = [uuid.UUID(scan(client, shopper, url)["scan_id"]) for url in codes.urls[:2]]
    settle(flush_scans)  # no consent when these were made and flushed: nothing
    assert _profile(shopper.consumer.id) is None
    consent(client, shopper, profiling=True)
    assert apply_scans(ids) == 2  # consent at processing time is what counts
    assert apply_scans(ids) == 0  # and each scan is applied once, however often the job runs
    assert _profile(shopper.consumer.id).scan_count == 2
    consent(client, shopper, profiling=False)  # withdrawal: the derived attributes go
    assert _profile(shopper.consumer.id) is None
    late = uuid.UUID(scan(client, shopper, codes.urls[2])["scan_id"])
    settle(flush_scans)
    assert apply_scans([late, *ids]) == 0  # a job running after the withdrawal derives nothing
    assert _profile(shopper.consumer.id) is None


def test_ratings_and_preferences_reach_the_profile(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from profiles.models import ProfileInterest

    codes = make_codes(3)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, profiling=True)
    ids = [scan(client, shopper, url)["scan_id"] for url in codes.urls[:2]]
    settle(flush_scans)
    for scan_id, rating in zip(ids, (5, 2), strict=True):
        body = {"scan_id": scan_id, "rating": rating}
        client.post("/api/v1/me/feedback", json=body, headers=shopper.headers)
    client.put("/api/v1/me/preferences", json={"interests": ["绿茶", "gift"]},
               headers=shopper.headers)  # fmt: skip
    settle(flush_scans)
    p = _profile(shopper.consumer.id)
    assert (p.rating_count, p.rating_avg) == (2, 3.5)
    stated = sorted(r.interest for r in _rows(ProfileInterest, shopper.consumer.id))
    assert stated == ["gift", "绿茶"]
    client.put("/api/v1/me/preferences", json={"interests": ["gift"]}, headers=shopper.headers)
    settle(flush_scans)
    assert [r.interest for r in _rows(ProfileInterest, shopper.consumer.id)] == ["gift"]


def test_scans_leave_the_90_day_window_incrementally(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from core.db import db, utcnow
    from profiles.derived.window import expire_window
    from profiles.models import ProfileScan

    codes = make_codes(3)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, profiling=True)
    ids = [scan(client, shopper, url)["scan_id"] for url in codes.urls]
    settle(flush_scans)
    assert _profile(shopper.consumer.id).scans_90d == 3
    old = utcnow() - timedelta(days=91)
    db.session.execute(
        update(ProfileScan).where(ProfileScan.scan_id.in_([uuid.UUID(i) for i in ids[:2]]))
        .values(at=old)
    )  # fmt: skip
    assert expire_window() == 2
    assert expire_window() == 0
    p = _profile(shopper.consumer.id)
    assert (p.scan_count, p.scans_90d) == (3, 1)


def test_retention_pseudonymises_old_scans_only(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from anticounterfeit.models import ScanEvent
    from core.db import db, utcnow
    from profiles.retention import pseudonym, pseudonymise_batch

    codes = make_codes(2)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, precise_location=True)
    old_id = scan(client, shopper, codes.urls[0], location=SHANGHAI, device_id="d-1")["scan_id"]
    new_id = scan(client, shopper, codes.urls[1], location=SHANGHAI, device_id="d-1")["scan_id"]
    settle(flush_scans)
    db.session.execute(
        update(ScanEvent).where(ScanEvent.id == uuid.UUID(old_id))
        .values(created_at=utcnow() - timedelta(days=1096))
    )  # fmt: skip
    assert pseudonymise_batch() == 1
    assert pseudonymise_batch() == 0
    db.session.expire_all()
    old, new = (
        db.session.get(ScanEvent, uuid.UUID(old_id)),
        db.session.get(ScanEvent, uuid.UUID(new_id)),
    )
    assert old is not None and new is not None
    assert (old.consumer_id, old.ip, old.lat, old.device_id) == (None, None, None, pseudonym("d-1"))
    assert old.city == "上海市"
    assert (new.consumer_id, new.device_id, new.lat) == (
        shopper.consumer.id,
        "d-1",
        SHANGHAI["lat"],
    )
