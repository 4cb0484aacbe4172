"""Fixtures for consumers: a shopper with a token, consents, scans flushed and profiled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import make_campaign  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401
from tests.workers import run_workers

SHANGHAI = {"lat": 31.2397, "lng": 121.4998, "accuracy_m": 30}  # 陆家嘴, not the city centroid


@dataclass
class Shopper:
    """A consumer and the headers that speak for them."""

    consumer: Any
    headers: dict[str, str]


@pytest.fixture
def make_shopper(make_consumer: Any, bearer: Any) -> Any:  # noqa: F811
    """Factory: a consumer of a brand with a token."""

    def make(brand: Any) -> Shopper:
        consumer = make_consumer(brand)
        return Shopper(consumer, bearer(consumer))

    return make


def settle(flush_scans: Any) -> None:
    """Move scans into the database and run the jobs they caused (inline when embedded)."""
    flush_scans()
    run_workers()


def consent(client: FlaskClient, shopper: Shopper, **purposes: bool) -> dict[str, Any]:
    """PUT the consents; the response body."""
    response = client.put("/api/v1/me/consents", json=purposes, headers=shopper.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def scan(client: FlaskClient, shopper: Shopper | None, url: str, **body: Any) -> dict[str, Any]:
    """Scan ``url`` (anonymously without a shopper); the response body."""
    headers = shopper.headers if shopper else {}
    response = client.post("/api/v1/scans", json={"code": url, **body}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()
    return data
