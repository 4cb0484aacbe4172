"""Long URLs get the JSON envelope from the Procfile's gunicorn, not its HTML page."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET
from tests.procfile import running

pytestmark = [pytest.mark.slow, pytest.mark.realservices]


def _raw_get(base_url: str, target: str) -> tuple[int, str, dict[str, object]]:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.lower().split(":", 1) for line in lines[1:] if ":" in line)
    content_type = headers.get("content-type", "").strip()
    return int(lines[0].split()[1]), content_type, json.loads(body)


def test_long_urls_are_json_at_every_layer(app: Flask) -> None:
    env = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL), "SECRET_KEY": TEST_SECRET,
           "PAYOUT_PROVIDER": "sandbox", "WEB_CONCURRENCY": "1"}  # fmt: skip
    with running(env, names=("web",)) as services:
        for length in (5_000, 8_000, 20_000):  # the app's limit, and gunicorn's own refusal
            status, content_type, body = _raw_get(
                services.base_url, "/api/v1/products?q=" + "a" * length
            )
            assert status in (400, 414) and content_type.startswith("application/json"), length
            assert body["code"] == status and body["reason"] in ("uri_too_long", "bad_request")
