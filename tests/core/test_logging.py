"""Request ids (X-Request-Id, the error envelope, the jobs a request enqueued) and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.payouts.workers import ROOT

SCHEDULER = [sys.executable, "-m", "flask", "--app", "app", "scheduler", "--once"]


def test_an_incoming_request_id_is_kept_and_returned(client: FlaskClient) -> None:
    answer = client.get("/api/v1/health", headers={"X-Request-Id": "lb-7f3a.42:x_y"})
    assert answer.headers["X-Request-Id"] == "lb-7f3a.42:x_y"


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 65, "semi;colon", "é"])
def test_a_missing_or_unsafe_request_id_is_replaced(client: FlaskClient,
                                                    given: str | None) -> None:  # fmt: skip
    headers = {"X-Request-Id": given} if given is not None else {}
    made = client.get("/api/v1/health", headers=headers).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made) and made != given
    assert client.get("/api/v1/health").headers["X-Request-Id"] != made  # one per request


def test_the_error_envelope_carries_the_request_id(client: FlaskClient, make_brand: Any,
                                                   bearer: Any) -> None:  # fmt: skip
    headers = {**bearer(make_brand()), "X-Request-Id": "req-404"}
    answer = client.get("/api/v1/webhooks/not-an-id", headers=headers)
    assert answer.status_code == 404
    assert answer.get_json()["request_id"] == "req-404" == answer.headers["X-Request-Id"]
    made = client.post("/api/v1/scans", data="{", content_type="application/json")
    assert made.status_code == 400
    assert made.get_json()["request_id"] == made.headers["X-Request-Id"]


def test_log_records_carry_the_request_id_as_json(app: Flask, caplog: Any) -> None:
    from core.logging import JsonFormatter

    log = logging.getLogger("tests.logging")
    with app.test_request_context(headers={"X-Request-Id": "req-json"}):
        app.preprocess_request()
        with caplog.at_level(logging.INFO):
            log.info("hello %s", "世界", extra={"scan_id": "s-1"})
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("failed")
    hello, failed = (json.loads(JsonFormatter().format(r)) for r in caplog.records[-2:])
    assert hello["request_id"] == "req-json" and hello["message"] == "hello 世界"
    assert (hello["level"], hello["logger"], hello["scan_id"]) == ("INFO", "tests.logging", "s-1")
    assert failed["request_id"] == "req-json" and "ValueError: boom" in failed["exception"]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "after", (), None)
    assert json.loads(JsonFormatter().format(outside))["request_id"] is None


@pytest.mark.realservices
def test_jobs_carry_the_request_id_of_the_request_that_enqueued_them(
    app: Flask, client: FlaskClient, make_brand: Any, bearer: Any, caplog: Any
) -> None:
    from core.broker import queue
    from tests.webhooks.receiver import Receiver, start
    from tests.workers import run_workers

    receiver = start(Receiver())
    saved = app.config.get("WEBHOOK_ALLOW_LOOPBACK")
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    try:
        owner = make_brand()
        hook = client.post("/api/v1/webhooks", headers=bearer(owner),
                           json={"url": receiver.url, "events": ["webhook.ping"]}).get_json()
        answer = client.post(f"/api/v1/webhooks/{hook['id']}/ping",
                             headers={**bearer(owner), "X-Request-Id": "req-ping-1"})
        assert answer.status_code == 202 and answer.get_json()["request_id"] == "req-ping-1"
        (job,) = queue("webhooks").get_jobs()
        assert job.meta["request_id"] == "req-ping-1"
        with caplog.at_level(logging.INFO, logger="exports.webhooks.jobs"):
            run_workers()
        lines = [r for r in caplog.records if r.name == "exports.webhooks.jobs"]
        assert lines and {getattr(r, "request_id", None) for r in lines} == {"req-ping-1"}
    finally:
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = saved
        assert receiver.server is not None
        receiver.server.shutdown()


@pytest.mark.realservices
def test_the_cli_logs_one_json_object_per_line(app: Flask) -> None:
    from core.broker import redis_client
    from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET

    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL),
           "SECRET_KEY": TEST_SECRET, "PAYOUT_PROVIDER": "sandbox", "LOG_FORMAT": "json",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(SCHEDULER, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "the scheduler logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["message"].startswith("enqueued sweep") for e in entries)
    redis_client().flushdb()  # the sweeps are due again
    text_env = {**env, "LOG_FORMAT": "text"}
    done = subprocess.run(SCHEDULER, cwd=ROOT, env=text_env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0
    assert re.search(r"^\S+ \S+ INFO workers.sweeps \[-\] enqueued sweep", done.stderr, re.M)


def test_gunicorn_access_lines_carry_the_request_id_of_their_response() -> None:
    """gunicorn writes its access line after the request's context is gone (the Procfile's
    JSON log config turns the access log on): the id comes from the response's header."""
    import io
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from core.logging import JsonFormatter

    cfg = Config()
    cfg.set("accesslog", "-")
    log = Logger(cfg)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log.access_log.handlers = [handler]
    resp = SimpleNamespace(status="200 OK", headers=[("X-Request-Id", "req-7f3a")], sent=2)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/api/v1/health", "SERVER_PROTOCOL": "HTTP/1.1"}
    log.access(resp, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=3))
    line = json.loads(out.getvalue())
    assert line["logger"] == "gunicorn.access" and "/api/v1/health" in line["message"]
    assert line["request_id"] == "req-7f3a"
