"""One delivery attempt: check the URL again, POST the signed body to the checked address,
record what happened, and decide when to try again.

Deliveries are at least once: a receiver deduplicates by ``X-Delivery-Id``, which is the
delivery row's id and so the same on every retry and redelivery of one event.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from flask import current_app
from urllib3.exceptions import HTTPError, TimeoutError

from core.db import db, utcnow
from exports.webhooks import urls
from exports.webhooks.errors import WebhookUrlForbidden, WebhookUrlUnresolvable
from exports.webhooks.models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery

#: Seconds to wait after the 1st, 2nd, ... failed attempt: about a day in all (23.9 h), the
#: first retry within two minutes. ``WEBHOOK_RETRY_SCHEDULE`` overrides it (comma-separated).
RETRY_SCHEDULE = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800)
USER_AGENT = "yiwuyima-webhooks/1"
RESPONSE_CHARS = 1000


@dataclass(frozen=True)
class Outcome:
    """What one POST gave: a status code, or an error (never both)."""

    status_code: int | None
    error: str | None
    duration_ms: int
    address: str | None = None
    response: str | None = None

    @property
    def ok(self) -> bool:
        """The receiver took it (2xx)."""
        return self.status_code is not None and 200 <= self.status_code < 300


def signature(secret: str, payload: bytes) -> str:
    """The ``X-Signature`` header: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def retry_schedule() -> tuple[int, ...]:
    """The delays between attempts (configurable for tests and operators)."""
    value = current_app.config.get("WEBHOOK_RETRY_SCHEDULE")
    if not value:
        return RETRY_SCHEDULE
    return tuple(int(v) for v in str(value).split(",") if v.strip())


def allow_loopback() -> bool:
    """``WEBHOOK_ALLOW_LOOPBACK``: tests and single-host setups."""
    return bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK"))


def _timeout() -> urllib3.Timeout:
    seconds = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 5.0)
    return urllib3.Timeout(connect=min(seconds, 3.0), read=seconds, total=seconds * 2)


def _pool(target: urls.Target) -> urllib3.HTTPConnectionPool:
    address = str(target.address)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, target.port, server_hostname=target.host, assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED", ca_certs=current_app.config.get("WEBHOOK_CA_BUNDLE"),
            retries=False, maxsize=1,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(address, target.port, retries=False, maxsize=1)


def post(url: str, payload: bytes, headers: dict[str, str]) -> Outcome:
    """Check ``url`` now and POST to the address checked; redirects are not followed."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = urls.check(url, allow_loopback=allow_loopback())
    except (WebhookUrlForbidden, WebhookUrlUnresolvable) as refused:
        return Outcome(None, f"{refused.reason}: {refused.message}"[:500], took())
    pool = _pool(target)
    try:
        response = pool.urlopen("POST", target.path, body=payload,
                                headers={**headers, "Host": target.host_header},
                                redirect=False, retries=False, timeout=_timeout(),
                                preload_content=False, assert_same_host=False)  # fmt: skip
        try:
            text = response.read(RESPONSE_CHARS, decode_content=False)
        finally:
            response.release_conn()
        return Outcome(response.status, None, took(), str(target.address),
                       text.decode("utf-8", "replace")[:RESPONSE_CHARS])  # fmt: skip
    except TimeoutError as exc:
        return Outcome(None, f"timeout: {exc}"[:500], took(), str(target.address))
    except (HTTPError, OSError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], took(), str(target.address))
    finally:
        pool.close()


def headers_for(hook: Webhook, delivery: WebhookDelivery, payload: bytes) -> dict[str, str]:
    """The headers of every attempt of ``delivery``."""
    return {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
        "X-Delivery-Id": str(delivery.id), "X-Event": delivery.event,
        "X-Signature": signature(hook.secret, payload),
    }  # fmt: skip


def attempt(hook: Webhook, delivery: WebhookDelivery) -> Outcome:
    """POST the delivery once and record the attempt; returns the outcome."""
    payload = delivery.body.encode("utf-8")
    outcome = post(hook.url, payload, headers_for(hook, delivery, payload))
    record(delivery, outcome, utcnow())
    return outcome


def record(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    """Write the attempt and move the delivery: succeeded, retry later, or failed for good."""
    delivery.attempts += 1
    db.session.add(WebhookAttempt(
        brand_id=delivery.brand_id, delivery_id=delivery.id, number=delivery.attempts, at=now,
        address=outcome.address, status_code=outcome.status_code,
        duration_ms=outcome.duration_ms, error=outcome.error, response=outcome.response,
    ))  # fmt: skip
    delivery.last_attempt_at, delivery.last_status_code = now, outcome.status_code
    delivery.last_error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status_code}")
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.succeeded, now, None)  # fmt: skip
        return
    schedule = retry_schedule()
    delivery.failures += 1
    if delivery.failures > len(schedule):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.failed, None
        return
    delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.failures - 1])
