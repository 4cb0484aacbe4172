"""Consents: the append-only ledger, the privacy notice, and coarse locations without consent."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.profiles.conftest import SHANGHAI, consent, scan, settle
from tests.test_app import assert_envelope


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def _ledger_size() -> int:
    from core.db import db
    from profiles.models import ConsentRecord

    return int(db.session.scalar(select(func.count()).select_from(ConsentRecord)) or 0)


def test_privacy_notice_is_versioned_and_bilingual(client: FlaskClient) -> None:
    zh = client.get("/api/v1/privacy-notice").get_json()
    en = client.get("/api/v1/privacy-notice", headers={"Accept-Language": "en"}).get_json()
    assert zh["version"] == en["version"] and zh["lang"] == "zh-CN" and en["lang"] == "en"
    assert "精确位置" in zh["text"] and "Precise location" in en["text"]


def test_consents_default_to_nothing_and_every_change_is_recorded(
    client: FlaskClient, make_brand: Any, make_shopper: Any
) -> None:
    shopper = make_shopper(make_brand().brand)
    first = client.get("/api/v1/me/consents", headers=shopper.headers).get_json()
    assert (first["profiling"], first["marketing"], first["precise_location"]) == (False,) * 3
    assert first["history"] == []
    version = client.get("/api/v1/privacy-notice").get_json()["version"]
    body = consent(client, shopper, profiling=True, marketing=True, notice_version=version)
    assert body["profiling"] and body["marketing"] and not body["precise_location"]
    assert body["notice_version"] == version
    consent(client, shopper, profiling=True)  # no change: nothing new in the ledger
    body = consent(client, shopper, marketing=False)
    history = [(h["purpose"], h["granted"], h["notice_version"]) for h in body["history"]]
    assert history == [
        ("marketing", True, version),
        ("profiling", True, version),
        ("marketing", False, version),
    ]  # fmt: skip  (one change's rows share a time; then by purpose)
    assert body["profiling"] and not body["marketing"]


@pytest.mark.parametrize(
    ("payload", "status", "reason"),
    [
        ({}, 422, "validation_error"),
        ({"profiling": "yes"}, 422, "validation_error"),
        ({"profiling": 1}, 422, "validation_error"),
        ({"profiling": True, "sell_my_data": True}, 422, "validation_error"),
        ({"profiling": True, "notice_version": "1999-01-01"}, 409, "notice_outdated"),
    ],
)
def test_bad_consent_changes_write_nothing(
    client: FlaskClient, make_brand: Any, make_shopper: Any, payload: Any, status: int, reason: str
) -> None:
    shopper = make_shopper(make_brand().brand)
    response = client.put("/api/v1/me/consents", json=payload, headers=shopper.headers)
    assert_envelope(response, status, reason)
    assert _ledger_size() == 0


def test_staff_cannot_change_or_read_consents(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    owner = make_brand()
    analyst = make_staff(owner.brand, "analyst")
    for who in (analyst, owner):
        response = client.put("/api/v1/me/consents", json={"profiling": True}, headers=bearer(who))
        assert_envelope(response, 403, "wrong_token_kind")
        response = client.get("/api/v1/me/consents", headers=bearer(who))
        assert_envelope(response, 403, "wrong_token_kind")
    assert _ledger_size() == 0


def _stored_points(consumer_id: Any = None) -> list[tuple[float | None, float | None, Any]]:
    from anticounterfeit.models import ScanEvent
    from core.db import db

    rows = db.session.execute(
        select(ScanEvent.lat, ScanEvent.lng, ScanEvent.city).where(
            ScanEvent.consumer_id == consumer_id if consumer_id else ScanEvent.consumer_id.is_(None)
        )
    )
    return [tuple(r) for r in rows]


def test_without_precise_location_coordinates_are_stored_at_the_city(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from anticounterfeit.geo import city_point, region_for

    codes = make_codes(6)
    coarse = make_shopper(codes.brand)
    precise = make_shopper(codes.brand)
    consent(client, precise, precise_location=True)
    scan(client, coarse, codes.urls[0], location=SHANGHAI)
    scan(client, precise, codes.urls[1], location=SHANGHAI)
    scan(client, None, codes.urls[2], location=SHANGHAI)  # anonymous: nobody consented
    settle(flush_scans)
    region = region_for(SHANGHAI["lat"], SHANGHAI["lng"])
    assert region is not None
    centre = city_point(region)
    assert centre is not None and centre != (SHANGHAI["lat"], SHANGHAI["lng"])
    assert _stored_points(coarse.consumer.id) == [(*centre, "上海市")]
    assert _stored_points(None) == [(*centre, "上海市")]
    assert _stored_points(precise.consumer.id) == [(SHANGHAI["lat"], SHANGHAI["lng"], "上海市")]


def test_redis_sightings_are_coarse_too(
    client: FlaskClient, make_codes: Any, make_shopper: Any
) -> None:
    """The code's state in Redis (what verdicts compare) never holds the precise point."""
    from core.broker import redis_client

    codes = make_codes(2)
    shopper = make_shopper(codes.brand)
    scan(client, shopper, codes.urls[0], location=SHANGHAI)
    dump = b"".join(redis_client().dump(key) or b"" for key in redis_client().scan_iter("scan:*"))
    assert str(SHANGHAI["lat"]).encode() not in dump
    assert str(SHANGHAI["lng"]).encode() not in dump


def test_verdicts_still_work_at_city_precision(
    client: FlaskClient, make_codes: Any, make_shopper: Any
) -> None:
    codes = make_codes(3)
    a, b = make_shopper(codes.brand), make_shopper(codes.brand)
    # A camera check and the same person's logged-in scan in one city: an honest re-scan.
    scan(client, None, codes.urls[0], location=SHANGHAI, device_id="phone-1")
    assert scan(client, a, codes.urls[0], location=SHANGHAI)["verdict"] == "authentic_repeat"
    # Two people: a copy, wherever they are.
    assert scan(client, b, codes.urls[0], location=SHANGHAI)["verdict"] == "suspect_copy"
    # One consumer in Shanghai, then in Urumqi ten seconds later: too far to be one item.
    scan(client, a, codes.urls[1], location=SHANGHAI)
    urumqi = {"lat": 43.80, "lng": 87.60, "accuracy_m": 10}
    assert scan(client, b, codes.urls[1], location=urumqi)["verdict"] == "suspect_copy"


def test_withdrawing_precise_location_coarsens_what_was_stored(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    from anticounterfeit.geo import city_point, region_for

    codes = make_codes(2)
    shopper = make_shopper(codes.brand)
    consent(client, shopper, precise_location=True)
    scan(client, shopper, codes.urls[0], location=SHANGHAI)
    settle(flush_scans)
    assert _stored_points(shopper.consumer.id) == [(SHANGHAI["lat"], SHANGHAI["lng"], "上海市")]
    consent(client, shopper, precise_location=False)
    settle(flush_scans)
    region = region_for(SHANGHAI["lat"], SHANGHAI["lng"])
    assert region is not None
    assert _stored_points(shopper.consumer.id) == [(*city_point(region), "上海市")]  # type: ignore[misc]
