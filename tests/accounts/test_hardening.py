"""Accounts under attack: lockout per (account, IP), the last owner, the operator's reset."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.test_app import assert_envelope


def login(
    client: FlaskClient, email: str, password: str = "correct-horse", ip: str = "10.0.0.1"
) -> Any:
    body = {"email": email, "password": password}
    return client.post("/api/v1/auth/token", json=body, environ_base={"REMOTE_ADDR": ip})


def test_an_attacker_cannot_lock_the_owner_out(client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    for _ in range(5):
        assert login(client, "owner@acme.test", "guess", ip="203.0.113.9").status_code == 401
    assert_envelope(login(client, "owner@acme.test", ip="203.0.113.9"), 429, "rate_limited")
    assert login(client, "owner@acme.test", ip="198.51.100.7").status_code == 200


def test_the_delay_grows_with_each_failure(client: FlaskClient, make_brand: Any) -> None:
    from accounts import lockout
    from core.broker import redis_client

    make_brand("acme")
    redis = redis_client()
    lock_key = "rl:login-lock:owner@acme.test|203.0.113.9"
    delays = []
    for _ in range(3):
        while login(client, "owner@acme.test", "guess", ip="203.0.113.9").status_code == 401:
            pass
        delays.append(int(redis.ttl(lock_key)))
        redis.delete(lock_key)  # the lock expires
    assert delays[0] <= lockout.BASE_DELAY < delays[1] <= 2 * lockout.BASE_DELAY < delays[2]
    assert lockout.delay_after(100) == lockout.MAX_DELAY


def test_a_good_login_forgets_the_failures(client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    for _ in range(4):
        login(client, "owner@acme.test", "guess")
    assert login(client, "owner@acme.test").status_code == 200
    for _ in range(4):
        assert login(client, "owner@acme.test", "guess").status_code == 401
    assert login(client, "owner@acme.test").status_code == 200


def test_the_last_owner_cannot_be_deactivated(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    owner = make_brand("acme")
    marketer = make_staff(owner.brand, "marketer")
    alone = client.post(f"/api/v1/staff/{owner.id}/deactivate", headers=bearer(owner))
    assert_envelope(alone, 409, "last_owner")
    assert (
        client.post(f"/api/v1/staff/{marketer.id}/deactivate", headers=bearer(owner)).status_code
        == 200
    )
    second = make_staff(owner.brand, "owner")
    assert (
        client.post(f"/api/v1/staff/{owner.id}/deactivate", headers=bearer(second)).status_code
        == 200
    )
    assert_envelope(
        client.post(f"/api/v1/staff/{second.id}/deactivate", headers=bearer(second)),
        409, "last_owner",
    )  # fmt: skip


def test_operator_resets_a_password(app: Flask, client: FlaskClient, make_brand: Any) -> None:
    make_brand("acme")
    for _ in range(6):
        login(client, "owner@acme.test", "guess")
    assert login(client, "owner@acme.test").status_code == 429
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["staff", "reset-password", "OWNER@acme.test", "--password", "a-new-password"]
    )
    assert result.exit_code == 0, result.output
    assert '"email": "owner@acme.test"' in result.output
    assert login(client, "owner@acme.test", "a-new-password").status_code == 200
    assert login(client, "owner@acme.test").status_code == 401
    unknown = runner.invoke(args=["staff", "reset-password", "x@y.z", "--password", "long-enough"])
    assert unknown.exit_code != 0 and "not_found" in unknown.output
