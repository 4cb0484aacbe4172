"""The write-behind flusher cannot be poisoned: every kind of event PostgreSQL refuses (or that
cannot be read) goes to the dead-letter stream with its error, and the rest of its batch is
stored. Run through the real flusher, ``flask --app app scans flush``, in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def _events(redis: Any) -> list[dict[str, Any]]:
    from anticounterfeit.scans.state import EVENTS

    return [json.loads(fields[b"e"]) for _, fields in redis.xrange(EVENTS)]


def _bad_events(good: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variants of a real scan event that PostgreSQL must refuse, each under its own scan id."""
    unknown = str(uuid.uuid4())
    return {
        "nul in device": {"device": "phone\u0000x"},
        "nul in ip": {"ip": "1.2.3.4\u0000"},
        "nul in region": {"province": "\u0000上海市", "city": "上海市"},
        "nul in verdict": {"verdict": "authentic\u0000"},
        "lone surrogate in device": {"device": "\ud800phone"},
        "lone surrogate in city": {"city": "上海\udfff"},
        "device too long": {"device": "x" * 65},
        "serial out of range": {"serial": 2**70},
        "scene out of range": {"scene": 2**40},
        "time out of range": {"at": 2**62},
        "time not a number": {"at": "yesterday"},
        "serial not a number": {"serial": "twelve"},
        "id not a uuid": {"id": "not-a-uuid"},
        "unknown batch": {"batch": unknown},
        "unknown brand": {"brand": unknown},
        "unknown consumer": {"consumer": unknown},
        "nested object as device": {"device": {"a": 1}},
        "list as latitude": {"lat": [1, 2]},
    }


def _push(redis: Any, fields: dict[str, Any]) -> None:
    from anticounterfeit.scans.state import EVENTS

    redis.xadd(EVENTS, fields)


@pytest.mark.realservices
def test_every_kind_of_bad_event_is_dead_lettered_and_the_rest_stored(
    app: Any, committed: None, make_codes: Any, make_consumer: Any
) -> None:
    from anticounterfeit.models import CodeState, ScanEvent
    from anticounterfeit.scans import writebehind
    from anticounterfeit.scans.record import ScanInput, scan
    from anticounterfeit.scans.state import EVENTS
    from core.broker import redis_client
    from core.db import db

    c = make_codes(quantity=10)
    shopper = make_consumer(c.brand)
    db.commit()
    redis = redis_client()
    scan(ScanInput(raw=c.urls[0], consumer_id=shopper.id, consumer_brand_id=c.brand.id))
    [template] = _events(redis)
    bad = _bad_events(template)
    for name, change in bad.items():  # uncounted events (no seq): they only touch scan_events
        _push(redis, {"e": json.dumps({**template, "id": str(uuid.uuid4()), **change,
                                       "tag": name})})  # fmt: skip
    counted = {  # counted events (with seq) also write their code's state row
        "nul in first region": {"first_region": "x\u0000"},
        "unknown key": {"key": str(uuid.uuid4())},
        "people out of range": {"people": 2**40},
    }
    for n, (name, change) in enumerate(counted.items()):
        event = {**template, "id": str(uuid.uuid4()), "serial": c.rows[5 + n][0], **change}
        _push(redis, {"seq": 1, "e": json.dumps({**event, "tag": name})})
    unreadable = {
        "not json": {"e": "{not json"},
        "no event": {"x": "1"},
        "seq not a number": {"seq": "one", "e": json.dumps(template)},
        "a list": {"e": "[1, 2]"},
        "bytes not utf-8": {"e": b"\xff\xfe"},
    }
    for name, fields in unreadable.items():
        _push(redis, {**fields, "tag": name})
    good = [scan(ScanInput(raw=url, device_id=f"d{i}")) for i, url in enumerate(c.urls[1:5])]

    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL or "",
           "SECRET_KEY": TEST_SECRET, "PAYOUT_PROVIDER": "sandbox"}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "scans", "flush"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr

    dead = redis.xrange(writebehind.DEAD_LETTERS)
    tags = {}
    for _, fields in dead:
        raw = fields.get(b"e", b"")
        tag = fields.get(b"tag") or json.loads(raw).get("tag", "").encode()
        tags[tag.decode()] = fields[b"error"].decode()
    assert sorted(tags) == sorted([*bad, *counted, *unreadable])
    assert all(error.strip() for error in tags.values())
    stored = set(db.session.scalars(select(ScanEvent.id)))
    assert stored == {uuid.UUID(template["id"]), *(r.scan_id for r in good)}
    assert db.session.scalar(select(func.count()).select_from(CodeState)) == 5
    assert redis.xlen(EVENTS) == 0
    assert redis.xpending(EVENTS, writebehind.GROUP)["pending"] == 0
