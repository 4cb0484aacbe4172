"""With several gunicorn workers, /metrics is the whole service's: every worker's counts add up,
whichever worker answers the scrape."""

from __future__ import annotations

import http.client
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET
from tests.core.test_metrics import sample
from tests.procfile import running

pytestmark = [pytest.mark.slow, pytest.mark.realservices]
TOKEN = "scrape-token"


def _get(base_url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """One request on a fresh connection (so the kernel may hand it to either worker)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_two_workers_counts_are_summed(app: Flask, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_99999999.db").write_bytes(b"stale from a previous run")
    env = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL), "SECRET_KEY": TEST_SECRET,
           "PAYOUT_PROVIDER": "sandbox", "WEB_CONCURRENCY": "2", "METRICS_TOKEN": TOKEN,
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "RATELIMIT_ENABLED": "false"}  # fmt: skip
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running(env, names=("web",)) as services:
        assert not (metrics_dir / "counter_99999999.db").exists()  # emptied at start
        # Which worker accepts a connection is the kernel's choice: sequential requests may all
        # go to the one that just answered. Send them eight at a time until both have counted.
        requests, deadline = 0, time.monotonic() + 60
        pids: set[int] = set()
        while len(pids) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: _get(services.base_url, "/api/v1/health")[0],
                                        range(40)))  # fmt: skip
            assert answers == [200] * 40
            requests += 40
            pids = {int(m[1]) for p in metrics_dir.glob("*.db")
                    if (m := re.match(r"\w+_(\d+)\.db$", p.name))}  # fmt: skip
        assert len(pids) >= 2, f"one worker served everything: {pids}"  # both counted some
        labels = {"endpoint": "health.health", "method": "GET"}
        for _ in range(6):  # scrapes answered by either worker all see every request
            status, text = _get(services.base_url, "/metrics", auth)
            assert status == 200
            total = sample(text, "yiwuyima_http_requests_total", status="200", **labels)
            timed = sample(text, "yiwuyima_http_request_duration_seconds_count", **labels)
            assert (total, timed) == (requests, requests)
        assert _get(services.base_url, "/metrics")[0] == 401
