"""Real RQ workers (``flask worker webhooks`` in a subprocess) deliver, retry and recover."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.payouts.workers import ROOT, children
from tests.webhooks.receiver import verify

pytestmark = [pytest.mark.slow, pytest.mark.realservices]


@pytest.fixture
def worker(app: Any, committed: None, hook_config: Any, tmp_path: Path) -> Iterator[Path]:
    """One worker process on the webhooks queue, retrying after 1 s, 2 s, 2 s."""
    from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET

    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL),
           "SECRET_KEY": TEST_SECRET, "PAYOUT_PROVIDER": "sandbox", "PYTHONPATH": str(ROOT),
           "WEBHOOK_ALLOW_LOOPBACK": "true", "WEBHOOK_TIMEOUT_SECONDS": "1",
           "WEBHOOK_RETRY_SCHEDULE": "1,2,2", "LOG_FORMAT": "json"}  # fmt: skip
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker",
                                 "webhooks"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield log
    finally:
        helpers = children(proc.pid)  # RQ's scheduler process, a work-horse
        proc.terminate()  # warm shutdown: RQ stops its scheduler too
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for pid in helpers:  # whatever outlived its parent
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _delivery(delivery_id: Any) -> Any:
    from core.db import db
    from exports.webhooks.models import WebhookDelivery

    db.session.remove()
    return db.session.get(WebhookDelivery, delivery_id)


def test_a_worker_retries_a_failing_and_hanging_receiver_until_it_answers(
    worker: Path, make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    from core.db import db
    from exports.webhooks import service

    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    secret = hook.secret
    delivery = service.ping(owner.brand, str(hook.id))
    receiver.plan = [500, ("hang", 3), 200]
    db.commit()  # the job is sent now, to the worker
    got = receiver.wait_for(3, timeout=60)
    done = _until(lambda: (d := _delivery(delivery.id)).status.value == "succeeded" and d)
    assert done.attempts == 3 and len(receiver.received) == 3
    assert {g.headers["x-delivery-id"] for g in got} == {str(delivery.id)}
    assert all(verify(secret, g.body, g.headers["x-signature"]) for g in got)
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9 + 0.9, gaps  # 1 s, then the 1 s timeout + 2 s
    detail = service.get_delivery(owner.brand, str(hook.id), str(delivery.id))[1]
    assert [a.status_code for a in detail] == [500, None, 200]
    assert "timeout" in (detail[1].error or "").lower()


def test_the_sweep_sends_a_delivery_whose_job_was_lost_once(
    worker: Path, make_brand: Any, make_hook: Any, receiver: Any, monkeypatch: Any
) -> None:
    from core.broker import queue
    from core.db import db, utcnow
    from exports.webhooks import events, service
    from exports.webhooks.jobs import deliver, sweep_deliveries

    owner = make_brand()
    hook = make_hook(owner, receiver.url)
    with monkeypatch.context() as patch:  # Redis unreachable at commit: the job is lost
        patch.setattr(events, "enqueue_after_commit", lambda *a, **k: None)
        delivery = service.ping(owner.brand, str(hook.id))
        db.commit()
    time.sleep(1)
    assert receiver.received == []
    assert sweep_deliveries() == 0  # not lost yet: its job may still be on its way
    row = _delivery(delivery.id)
    row.next_attempt_at = utcnow() - timedelta(minutes=5)
    db.commit()
    assert sweep_deliveries() == 1
    queue("webhooks").enqueue(deliver, str(delivery.id))  # a second copy (a doubled sweep)
    receiver.wait_for(1)
    _until(lambda: _delivery(delivery.id).status.value == "succeeded")
    time.sleep(1.5)
    assert len(receiver.received) == 1  # two jobs, one POST
    body = json.loads(receiver.received[0].body)
    assert body["id"] == str(delivery.id)
