"""Delivery attempts against a real HTTP receiver on loopback: signed, one id across retries,
retried on schedule, timeouts recorded, redirects not followed, SSRF checked again."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from typing import Any

import pytest

from tests.webhooks.receiver import verify


def _ping(owner: Any, hook: Any) -> Any:
    from exports.webhooks import service

    return service.ping(owner.brand, str(hook.id))


def _deliver(delivery: Any) -> str | None:
    from exports.webhooks.jobs import deliver

    return deliver(str(delivery.id))


def _reload(delivery: Any) -> Any:
    from core.db import db
    from exports.webhooks.models import WebhookDelivery

    row = db.session.get(WebhookDelivery, delivery.id, populate_existing=True)
    assert row is not None
    return row


def _attempts(delivery: Any) -> list[Any]:
    from sqlalchemy import select

    from core.db import db
    from exports.webhooks.models import WebhookAttempt

    return list(db.session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number)))  # fmt: skip


def _make_due(delivery: Any) -> None:
    """Time passes: the scheduled retry is due now."""
    from core.db import db, utcnow

    row = _reload(delivery)
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.flush()


def test_a_delivery_is_signed_with_the_secret_and_verifiable(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    delivery = _ping(owner, hook)
    assert _deliver(delivery) == "succeeded"
    (got,) = receiver.wait_for(1)
    assert verify(hook.secret, got.body, got.headers["x-signature"])
    assert not verify("whsec_another", got.body, got.headers["x-signature"])
    assert not verify(hook.secret, got.body + b" ", got.headers["x-signature"])
    document = json.loads(got.body)
    assert got.headers["x-delivery-id"] == document["id"] == str(delivery.id)
    assert (document["event"], document["brand_id"]) == ("webhook.ping", str(owner.brand.id))
    assert got.headers["content-type"].startswith("application/json")
    assert got.path == "/hooks?x=1"
    (attempt,) = _attempts(delivery)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, None)
    assert attempt.address == "127.0.0.1" and attempt.duration_ms >= 0


def test_a_failing_receiver_is_retried_on_schedule_under_one_delivery_id(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    from core.db import utcnow

    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    delivery = _ping(owner, hook)
    receiver.plan = [500, 503, 200]
    before = utcnow()
    assert _deliver(delivery) == "pending"
    row = _reload(delivery)
    wait = (row.next_attempt_at - before).total_seconds()
    assert 55 <= wait <= 65, wait  # first retry after 60 s (WEBHOOK_RETRY_SCHEDULE 60,300,900)
    assert (row.attempts, row.last_status_code, row.last_error) == (1, 500, "HTTP 500")
    assert _deliver(delivery) is None  # a copy of the job before it is due: nothing sent
    assert len(receiver.received) == 1
    _make_due(delivery)
    before = utcnow()
    assert _deliver(delivery) == "pending"
    wait = (_reload(delivery).next_attempt_at - before).total_seconds()
    assert 295 <= wait <= 305, wait
    _make_due(delivery)
    assert _deliver(delivery) == "succeeded"
    assert _deliver(delivery) == "succeeded"  # a late copy of the job: nothing sent
    got = receiver.wait_for(3)
    assert len(got) == 3
    assert {g.headers["x-delivery-id"] for g in got} == {str(delivery.id)}
    assert {g.body for g in got} == {got[0].body}
    assert all(verify(hook.secret, g.body, g.headers["x-signature"]) for g in got)
    assert [a.status_code for a in _attempts(delivery)] == [500, 503, 200]


def test_retries_stop_after_the_schedule(make_brand: Any, make_hook: Any, receiver: Any) -> None:
    owner = make_brand()
    delivery = _ping(owner, make_hook(owner, receiver.url))
    receiver.default = 500
    for _ in range(3):
        assert _deliver(delivery) == "pending"
        _make_due(delivery)
    assert _deliver(delivery) == "failed"
    row = _reload(delivery)
    assert (row.attempts, row.next_attempt_at) == (4, None)
    _make_due(delivery)
    assert _deliver(delivery) == "failed" and len(receiver.received) == 4


def test_the_default_schedule_retries_for_a_day_first_within_two_minutes() -> None:
    from exports.webhooks.delivery import RETRY_SCHEDULE

    assert RETRY_SCHEDULE[0] <= 120
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    assert 23 * 3600 <= sum(RETRY_SCHEDULE) <= 25 * 3600


def test_a_receiver_that_never_answers_is_a_recorded_timeout(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    owner = make_brand()
    delivery = _ping(owner, make_hook(owner, receiver.url))
    receiver.plan = [("hang", 4)]
    assert _deliver(delivery) == "pending"
    (attempt,) = _attempts(delivery)
    assert attempt.status_code is None and "timeout" in (attempt.error or "").lower()
    assert 900 <= attempt.duration_ms < 3000, attempt.duration_ms  # WEBHOOK_TIMEOUT_SECONDS 1
    assert _reload(delivery).next_attempt_at is not None


def test_a_slow_receiver_within_the_timeout_is_a_success(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    owner = make_brand()
    delivery = _ping(owner, make_hook(owner, receiver.url))
    receiver.plan = [("slow", 0.6)]
    assert _deliver(delivery) == "succeeded"
    (attempt,) = _attempts(delivery)
    assert attempt.status_code == 200 and attempt.duration_ms >= 550


def test_redirects_are_not_followed(make_brand: Any, make_hook: Any, receiver: Any) -> None:
    owner = make_brand()
    delivery = _ping(owner, make_hook(owner, receiver.url))
    receiver.plan = [302]
    assert _deliver(delivery) == "pending"
    assert (_reload(delivery).last_status_code, len(receiver.received)) == (302, 1)


def test_dns_rebinding_is_refused_at_delivery(
    make_brand: Any, make_hook: Any, receiver: Any, monkeypatch: Any
) -> None:
    from exports.webhooks import urls

    answers = [ipaddress.ip_address("93.184.216.34")]
    monkeypatch.setattr(urls, "resolve", lambda host, port: answers)
    owner = make_brand()
    hook = make_hook(owner, f"http://hooks.example.test:{receiver.port}/in")
    delivery = _ping(owner, hook)
    answers[:] = [ipaddress.ip_address("10.0.0.9")]  # the name now points inside
    assert _deliver(delivery) == "pending"
    (attempt,) = _attempts(delivery)
    assert "webhook_url_forbidden" in (attempt.error or "") and attempt.address is None
    answers[:] = [ipaddress.ip_address("169.254.169.254")]
    _make_due(delivery)
    assert _deliver(delivery) == "pending"
    assert "metadata" in (_reload(delivery).last_error or "")
    assert receiver.received == []


def test_the_request_goes_to_the_checked_address_not_a_new_lookup(
    make_brand: Any, make_hook: Any, receiver: Any, monkeypatch: Any
) -> None:
    from exports.webhooks import urls

    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[Any]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(urls, "resolve", resolve)
    owner = make_brand()
    hook = make_hook(owner, f"http://hooks.example.test:{receiver.port}/in")  # not in any DNS
    delivery = _ping(owner, hook)
    lookups.clear()
    assert _deliver(delivery) == "succeeded"
    assert lookups == ["hooks.example.test"]  # one lookup, checked, then connected to
    (got,) = receiver.received
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}" and got.path == "/in"


def test_redelivery_sends_again_under_the_same_id(
    client: Any, make_brand: Any, make_hook: Any, receiver: Any, bearer: Any
) -> None:
    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    delivery = _ping(owner, hook)
    assert _deliver(delivery) == "succeeded"
    base = f"/api/v1/webhooks/{hook.id}/deliveries"
    answer = client.post(f"{base}/{delivery.id}/redeliver", headers=bearer(owner))
    assert answer.status_code == 202 and answer.get_json()["id"] == str(delivery.id)
    if len(receiver.received) < 2:  # real Redis: the job was queued, run it here
        assert _deliver(delivery) == "succeeded"
    first, second = receiver.wait_for(2)
    assert first.headers["x-delivery-id"] == second.headers["x-delivery-id"] == str(delivery.id)
    assert first.body == second.body
    listed = client.get(base, headers=bearer(owner)).get_json()
    assert [d["id"] for d in listed] == [str(delivery.id)]
    assert listed[0]["attempts"] == 2 and listed[0]["status"] == "succeeded"
    detail = client.get(f"{base}/{delivery.id}", headers=bearer(owner)).get_json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [200, 200]
    assert json.loads(detail["body"])["id"] == str(delivery.id)


def test_disabling_a_webhook_cancels_what_is_pending(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    from exports.webhooks import service
    from exports.webhooks.errors import WebhookDisabled

    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    delivery = _ping(owner, hook)
    service.update_webhook(owner.brand, str(hook.id), service.WebhookPatch.of(active=False))
    assert _reload(delivery).status.value == "cancelled"
    assert _deliver(delivery) == "cancelled" and receiver.received == []
    with pytest.raises(WebhookDisabled):
        service.redeliver(owner.brand, str(hook.id), str(delivery.id))
