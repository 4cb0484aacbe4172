"""``GET /metrics``: Prometheus text, counted figures and figures read at scrape time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.campaigns.conftest import make_campaign  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_token(app: Flask) -> Iterator[dict[str, str]]:
    saved = app.config.get("METRICS_TOKEN")
    app.config["METRICS_TOKEN"] = TOKEN
    yield {"Authorization": f"Bearer {TOKEN}"}
    app.config["METRICS_TOKEN"] = saved


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition (None: absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        found = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if not found or found[1] != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found[3] or ""))
        if all(have.get(k) == v for k, v in labels.items()) and len(have) == len(labels):
            return float(found[4])
    return None


def scrape(client: FlaskClient, headers: dict[str, str]) -> str:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.get_data(as_text=True)


def test_scans_by_verdict_and_request_latency_by_endpoint(
    client: FlaskClient, metrics_token: dict[str, str], make_codes: Any  # noqa: F811
) -> None:
    before = scrape(client, metrics_token)
    c = make_codes()
    client.post("/api/v1/scans", json={"code": c.urls[0]})
    client.post("/api/v1/scans", json={"code": "NOT-OURS-AT-ALL"})
    client.post("/api/v1/scans", json={"code": "NOT-OURS-EITHER"})
    after = scrape(client, metrics_token)

    def grew(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("yiwuyima_scans_total", verdict="authentic") == 1
    assert grew("yiwuyima_scans_total", verdict="counterfeit") == 2
    endpoint = {"endpoint": "engagement.create_scan", "method": "POST"}
    assert grew("yiwuyima_http_request_duration_seconds_count", **endpoint) == 3
    assert grew("yiwuyima_http_request_duration_seconds_bucket", le="+Inf", **endpoint) == 3
    assert grew("yiwuyima_http_requests_total", status="200", **endpoint) == 3


def test_gauges_read_at_scrape_time(client: FlaskClient, metrics_token: dict[str, str],
                                    make_brand: Any) -> None:  # fmt: skip
    from fraud import cases

    before = scrape(client, metrics_token)
    owner = make_brand()
    cases.open_external(owner.brand.id, "device", "dev-m", [])
    after = scrape(client, metrics_token)
    assert sample(after, "yiwuyima_fraud_cases_open", kind="device") == (
        (sample(before, "yiwuyima_fraud_cases_open", kind="device") or 0) + 1)
    for source in ("scans", "payouts", "fraud", "webhooks", "queues"):
        assert sample(after, "yiwuyima_metrics_source_up", source=source) == 1, source
    assert sample(after, "yiwuyima_scan_stream_entries", stream="events") is not None
    assert sample(after, "yiwuyima_webhook_deliveries", status="pending") is not None


@pytest.mark.realservices
def test_queue_depths_and_payouts_by_status(client: FlaskClient, metrics_token: dict[str, str],
                                            make_codes: Any, make_campaign: Any,  # noqa: F811
                                            make_consumer: Any, bearer: Any,  # noqa: F811
                                            ) -> None:  # fmt: skip
    from core.broker import queue
    from tests.campaigns.conftest import scan_as

    c = make_codes()
    make_campaign(c.owner)
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    queue("default").enqueue("campaigns.jobs.expire_points")
    text = scrape(client, metrics_token)
    assert sample(text, "yiwuyima_queue_jobs", queue="default", state="queued") == 1
    assert sample(text, "yiwuyima_payouts", status="pending") == 1
    assert sample(text, "yiwuyima_payouts_amount_fen", status="pending") == 88


def test_a_token_is_required_when_set(app: Flask, client: FlaskClient,
                                      metrics_token: dict[str, str]) -> None:  # fmt: skip
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.get_json()["reason"] == "unauthenticated"


def test_production_without_a_token_refuses(app: Flask, client: FlaskClient) -> None:
    saved = app.config["REDIS_URL"], app.config.get("METRICS_TOKEN")
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", METRICS_TOKEN=None)
    try:
        answer = client.get("/metrics")
        assert (answer.status_code, answer.get_json()["reason"]) == (403, "metrics_token_required")
        app.config["REDIS_URL"] = None  # embedded (make run): open
        assert client.get("/metrics").status_code == 200
    finally:
        app.config.update(REDIS_URL=saved[0], METRICS_TOKEN=saved[1])
