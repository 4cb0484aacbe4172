"""Feedback (once per own genuine scan) and preferences."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.profiles.conftest import scan, settle
from tests.test_app import assert_envelope


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def _feedback_count() -> int:
    from core.db import db
    from profiles.models import Feedback

    return int(db.session.scalar(select(func.count()).select_from(Feedback)) or 0)


def _rate(client: FlaskClient, headers: dict[str, str], scan_id: str, **body: Any) -> Any:
    payload = {"scan_id": scan_id, "rating": 5, **body}
    return client.post("/api/v1/me/feedback", json=payload, headers=headers)


def test_rating_a_scan_once(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    codes = make_codes(2)
    shopper = make_shopper(codes.brand)
    scan_id = scan(client, shopper, codes.urls[0])["scan_id"]
    settle(flush_scans)
    response = _rate(client, shopper.headers, scan_id, rating=4, tags=["香", "fresh"],
                     comment="好喝")  # fmt: skip
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["rating"] == 4 and body["tags"] == ["香", "fresh"] and body["comment"] == "好喝"
    assert body["scan_id"] == scan_id and body["product_id"] == str(codes.batch.product_id)
    assert_envelope(_rate(client, shopper.headers, scan_id, rating=1), 409, "already_rated")
    assert _feedback_count() == 1


def test_repeat_scan_can_be_rated_but_not_a_copy(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    codes = make_codes(2)
    a, b = make_shopper(codes.brand), make_shopper(codes.brand)
    scan(client, a, codes.urls[0])
    repeat = scan(client, a, codes.urls[0])
    copy = scan(client, b, codes.urls[0])
    assert (repeat["verdict"], copy["verdict"]) == ("authentic_repeat", "suspect_copy")
    settle(flush_scans)
    assert _rate(client, a.headers, repeat["scan_id"]).status_code == 201
    assert_envelope(_rate(client, b.headers, copy["scan_id"]), 409, "scan_not_rateable")
    assert _feedback_count() == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"rating": 0}, "validation_error"),
        ({"rating": 6}, "validation_error"),
        ({"rating": 4.5}, "validation_error"),
        ({"rating": "5"}, "validation_error"),
        ({"tags": ["x" * 33]}, "validation_error"),
        ({"tags": [str(i) for i in range(11)]}, "validation_error"),
        ({"comment": "x" * 1001}, "validation_error"),
        ({"stars": 5}, "validation_error"),
    ],
)
def test_bad_ratings_are_refused(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any,
    body: dict[str, Any], reason: str,
) -> None:  # fmt: skip
    codes = make_codes(1)
    shopper = make_shopper(codes.brand)
    scan_id = scan(client, shopper, codes.urls[0])["scan_id"]
    settle(flush_scans)
    assert_envelope(_rate(client, shopper.headers, scan_id, **body), 422, reason)
    assert _feedback_count() == 0


def test_no_rating_for_another_consumers_or_a_counterfeit_or_an_unknown_scan(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    codes = make_codes(2)
    owner, other = make_shopper(codes.brand), make_shopper(codes.brand)
    theirs = scan(client, owner, codes.urls[0])["scan_id"]
    fake = scan(client, other, "https://qr.example.test/c/AAAAAAAAAAAAAAAAAAAA")
    assert fake["verdict"] == "counterfeit"
    settle(flush_scans)
    for scan_id in (theirs, fake["scan_id"], "not-a-uuid", "01234567-89ab-7def-8123-456789abcdef"):
        assert_envelope(_rate(client, other.headers, scan_id), 404, "scan_not_found")
    assert _feedback_count() == 0


def test_a_staff_token_cannot_rate(
    client: FlaskClient, make_codes: Any, make_shopper: Any, bearer: Any, flush_scans: Any
) -> None:
    codes = make_codes(1)
    shopper = make_shopper(codes.brand)
    scan_id = scan(client, shopper, codes.urls[0])["scan_id"]
    settle(flush_scans)
    assert_envelope(_rate(client, bearer(codes.owner), scan_id), 403, "wrong_token_kind")
    assert _feedback_count() == 0


def test_preferences_are_replaced_and_read_back(
    client: FlaskClient, make_codes: Any, make_shopper: Any
) -> None:
    codes = make_codes(1)
    shopper = make_shopper(codes.brand)
    wish = {"product_id": str(codes.batch.product_id), "text": "小包装"}
    body = {"interests": ["绿茶", "gifts", "绿茶"], "wishes": [wish, {"text": "桂花味"}]}
    response = client.put("/api/v1/me/preferences", json=body, headers=shopper.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    got = client.get("/api/v1/me/preferences", headers=shopper.headers).get_json()
    assert got["interests"] == ["绿茶", "gifts"]
    assert got["wishes"] == [wish, {"product_id": None, "text": "桂花味"}]
    client.put("/api/v1/me/preferences", json={"interests": []}, headers=shopper.headers)
    got = client.get("/api/v1/me/preferences", headers=shopper.headers).get_json()
    assert got["interests"] == [] and got["wishes"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"interests": ["x"] * 21},
        {"interests": [""]},
        {"interests": "tea"},
        {"wishes": [{"product_id": "not-an-id", "text": "x"}]},
        {"wishes": [{"product_id": "01234567-89ab-7def-8123-456789abcdef", "text": "x"}]},
        {"wishes": [{"text": ""}]},
        {"wishes": [{"text": "x"}] * 11},
        {"likes": ["tea"]},
    ],
)
def test_bad_preferences_write_nothing(
    client: FlaskClient, make_codes: Any, make_shopper: Any, body: dict[str, Any]
) -> None:
    from core.db import db
    from profiles.models import Preference

    shopper = make_shopper(make_codes(1).brand)
    response = client.put("/api/v1/me/preferences", json=body, headers=shopper.headers)
    assert response.status_code == 422
    assert response.get_json()["reason"] in ("validation_error", "unknown_product")
    assert db.session.scalar(select(func.count()).select_from(Preference)) == 0


def test_a_wish_cannot_name_another_brands_product(
    client: FlaskClient, make_codes: Any, make_shopper: Any
) -> None:
    mine, theirs = make_codes(1), make_codes(1)  # another brand: another GTIN
    shopper = make_shopper(mine.brand)
    body = {"wishes": [{"product_id": str(theirs.batch.product_id), "text": "x"}]}
    response = client.put("/api/v1/me/preferences", json=body, headers=shopper.headers)
    assert_envelope(response, 422, "unknown_product")
