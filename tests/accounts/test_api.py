"""Staff login, tokens, roles and brand isolation."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from tests.test_app import assert_envelope


def login(client: FlaskClient, email: str, password: str = "correct-horse", **kw: Any) -> Any:
    return client.post("/api/v1/auth/token", json={"email": email, "password": password}, **kw)


def test_staff_login(client: FlaskClient, make_brand: Any) -> None:
    owner = make_brand("acme")
    response = login(client, "OWNER@acme.test")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 43200
    assert body["staff"] == {"id": str(owner.id), "brand": "acme", "role": "owner"}
    me = client.get("/api/v1/brand", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["slug"] == "acme"


def test_wrong_password_and_unknown_email(client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    assert_envelope(login(client, "owner@acme.test", "wrong-pass"), 401, "invalid_credentials")
    assert_envelope(login(client, "nobody@acme.test"), 401, "invalid_credentials")


def test_repeated_failures_lock_the_account(client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    for _ in range(5):
        assert login(client, "owner@acme.test", "wrong-pass").status_code == 401
    locked = login(client, "owner@acme.test")  # even the right password, for a while
    assert_envelope(locked, 429, "rate_limited")
    assert int(locked.headers["Retry-After"]) > 0


def test_login_rate_limit_per_ip(client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    statuses = [
        login(client, f"x{n}@acme.test", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert (
        login(client, "owner@acme.test", environ_base={"REMOTE_ADDR": "10.9.9.8"}).status_code
        == 200
    )


def test_missing_malformed_tampered_tokens(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    owner = make_brand("acme")
    assert_envelope(client.get("/api/v1/brand"), 401, "unauthenticated")
    assert_envelope(
        client.get("/api/v1/brand", headers={"Authorization": "Basic x"}), 401, "invalid_token"
    )
    token = bearer(owner)["Authorization"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert_envelope(
        client.get("/api/v1/brand", headers={"Authorization": tampered}), 401, "invalid_token"
    )


def test_expired_token(client: FlaskClient, make_brand: Any, bearer: Any, monkeypatch: Any) -> None:
    owner = make_brand("acme")
    headers = bearer(owner)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 12 * 3600 + 5)
    assert_envelope(client.get("/api/v1/brand", headers=headers), 401, "token_expired")


def test_consumer_token_on_staff_endpoint(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from core.db import db
    from profiles.models import Consumer

    brand = make_brand("acme").brand
    consumer = Consumer(brand_id=brand.id)
    db.session.add(consumer)
    db.session.flush()
    assert_envelope(client.get("/api/v1/brand", headers=bearer(consumer)), 403, "wrong_token_kind")


def test_roles(client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any) -> None:
    brand = make_brand("acme").brand
    analyst = make_staff(brand, "analyst")
    assert client.get("/api/v1/brand", headers=bearer(analyst)).status_code == 200
    denied = client.patch("/api/v1/brand", json={"name": "X"}, headers=bearer(analyst))
    assert_envelope(denied, 403, "role_forbidden")
    assert_envelope(client.get("/api/v1/staff", headers=bearer(analyst)), 403, "role_forbidden")


def test_owner_manages_staff(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand("acme")
    created = client.post(
        "/api/v1/staff",
        json={"email": "m@acme.test", "password": "long-enough", "role": "marketer"},
        headers=bearer(owner),
    )
    assert created.status_code == 201 and "password" not in created.get_json()
    listing = client.get("/api/v1/staff?page_size=1", headers=bearer(owner))
    assert listing.status_code == 200 and len(listing.get_json()) == 1
    assert '"total": 2' in listing.headers["X-Pagination"]
    marketer_token = login(client, "m@acme.test", "long-enough").get_json()["access_token"]
    staff_id = created.get_json()["id"]
    assert (
        client.post(f"/api/v1/staff/{staff_id}/deactivate", headers=bearer(owner)).status_code
        == 200
    )
    stale = client.get("/api/v1/brand", headers={"Authorization": f"Bearer {marketer_token}"})
    assert_envelope(stale, 401, "invalid_token")


def test_duplicate_staff_email_is_409(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand("acme")
    body = {"email": "owner@acme.test", "password": "long-enough", "role": "analyst"}
    assert_envelope(
        client.post("/api/v1/staff", json=body, headers=bearer(owner)), 409, "email_taken"
    )


def test_other_brands_staff_is_404(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    acme, other = make_brand("acme"), make_brand("other")
    foreign = make_staff(other.brand, "analyst")
    response = client.post(f"/api/v1/staff/{foreign.id}/deactivate", headers=bearer(acme))
    assert_envelope(response, 404, "not_found")
    assert_envelope(
        client.post("/api/v1/staff/not-a-uuid/deactivate", headers=bearer(acme)), 404, "not_found"
    )


def test_credentials_are_encrypted_and_write_only(
    app: Flask, client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from core.db import db

    owner = make_brand("acme")
    response = client.patch(
        "/api/v1/brand",
        json={"wechat_appid": "wx123", "wechat_secret": "top-secret-value"},
        headers=bearer(owner),
    )
    assert response.status_code == 200
    creds = response.get_json()["credentials"]
    assert creds["wechat_appid"] == "wx123" and creds["wechat_secret"] is True
    raw = db.session.execute(
        text("SELECT wechat_secret FROM brands WHERE slug = 'acme'")
    ).scalar_one()
    assert "top-secret-value" not in raw and len(raw) > 40


def test_nothing_written_on_invalid_input(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from accounts.models import StaffUser
    from core.db import db

    owner = make_brand("acme")
    before = db.session.scalar(select(func.count()).select_from(StaffUser))
    bad = client.post(
        "/api/v1/staff",
        json={"email": "x@acme.test", "password": "short", "role": "marketer"},
        headers=bearer(owner),
    )
    assert_envelope(bad, 422, "validation_error")
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == before
