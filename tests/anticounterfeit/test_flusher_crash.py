"""A flusher killed (SIGKILL) after its commit and before acknowledging: its entries stay
pending, another flusher claims them and writes them again, and nothing is stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
# The real flush job in its own process, killed the moment its transaction has committed.
DIES_AFTER_COMMIT = textwrap.dedent("""
    import os, signal
    from app import create_app
    from anticounterfeit.jobs import flush_scan_events
    from anticounterfeit.scans import writebehind

    writebehind.settle = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
    with create_app().app_context():
        flush_scan_events("doomed", more=False)
""")


@pytest.mark.slow
@pytest.mark.realservices
def test_a_flusher_killed_before_acknowledging_is_replayed(
    app: Any, committed: None, make_codes: Any, monkeypatch: Any
) -> None:
    from anticounterfeit.jobs import flush_scan_events
    from anticounterfeit.models import CodeState, ScanEvent
    from anticounterfeit.scans import writebehind
    from anticounterfeit.scans.record import ScanInput, scan
    from anticounterfeit.scans.state import EVENTS
    from core.broker import redis_client
    from core.db import db

    c = make_codes()
    db.commit()
    for url in c.urls[:3]:
        scan(ScanInput(raw=url))
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL or "",
           "PAYOUT_PROVIDER": "sandbox", "SECRET_KEY": TEST_SECRET}  # fmt: skip
    doomed = subprocess.run([sys.executable, "-c", DIES_AFTER_COMMIT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert doomed.returncode == -signal.SIGKILL, doomed.stderr

    def stored(model: Any) -> int:
        db.session.expire_all()
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)

    redis = redis_client()
    assert stored(ScanEvent) == 3  # committed...
    assert redis.xpending(EVENTS, writebehind.GROUP)["pending"] == 3  # ...never acknowledged
    monkeypatch.setattr(writebehind, "CLAIM_IDLE_MS", 0)
    assert flush_scan_events("rescuer", more=False) == 3  # claimed and written again
    assert flush_scan_events("rescuer", more=False) == 0
    assert stored(ScanEvent) == 3 and stored(CodeState) == 3
    assert redis.xlen(EVENTS) == 0 and redis.xpending(EVENTS, writebehind.GROUP)["pending"] == 0
