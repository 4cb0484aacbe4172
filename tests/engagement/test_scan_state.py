"""The Redis-first scan path: cached batches, the one Lua call, write-behind, Redis loss."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from tests.payload import mismatches

pytestmark = pytest.mark.usefixtures("app")


def flush(consumer: str = "tests") -> int:
    """One flush as the flusher's job runs it: flush, then commit (which acknowledges)."""
    from anticounterfeit.scans import writebehind
    from core.db import db

    moved = writebehind.flush(consumer)
    db.commit()
    return moved


def scan(raw: str, consumer: Any = None, **facts: Any) -> Any:
    """Scan through the service (no request: nothing is flushed inline)."""
    from anticounterfeit.scans.record import ScanInput, scan

    if consumer is not None:
        facts.update(consumer_id=consumer.id, consumer_brand_id=consumer.brand_id)
    return scan(ScanInput(raw=raw, **facts))


def count(model: Any) -> int:
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def stream_entries() -> list[Any]:
    from anticounterfeit.scans.state import EVENTS
    from core.broker import redis_client

    return list(redis_client().xrange(EVENTS))


def state_of(c: Any, index: int) -> Any:
    from anticounterfeit.models import CodeState
    from core.db import db

    serial = c.rows[index][0]
    return db.session.scalar(
        select(CodeState).where(CodeState.code_batch_id == c.batch.id, CodeState.serial == serial)
    )


# --- cached batches --------------------------------------------------------------------------


def test_revocation_reaches_a_cache_loaded_before_it(make_codes: Any, monkeypatch: Any) -> None:
    """Another process's cache, loaded while the batch was active, sees the revocation at its
    next scan: the Lua call finds the batch token moved, records nothing, and it reloads."""
    from anticounterfeit import service
    from anticounterfeit.models import BatchStatus
    from anticounterfeit.scans.batchcache import BatchCache
    from core.broker import redis_client
    from core.db import db

    c = make_codes()
    db.commit()
    assert scan(c.urls[0]).verdict == "authentic"
    other = BatchCache()  # the other process
    other.load(redis_client(), c.batch.code_key_id)
    service.revoke_code_batch(c.batch, "leak")
    db.commit()
    current_app.extensions["batch_cache"] = other
    assert other.get(redis_client(), c.batch.code_key_id).batches[0].status is BatchStatus.active
    loads: list[uuid.UUID] = []
    original = BatchCache.load
    monkeypatch.setattr(
        BatchCache,
        "load",
        lambda self, r, key, **kw: loads.append(key) or original(self, r, key, **kw),
    )
    before = len(stream_entries())
    result = scan(c.urls[1])
    assert result.verdict == "revoked" and result.state is None
    assert loads == [c.batch.code_key_id]  # exactly one reload, after the "stale" reply
    assert len(stream_entries()) == before + 1  # the stale attempt recorded nothing


def test_a_copy_another_thread_reloaded_meanwhile_is_reused(make_codes: Any) -> None:
    import time

    from anticounterfeit.scans.batchcache import BatchCache
    from core.broker import redis_client

    c = make_codes()
    cache, redis, key = BatchCache(), redis_client(), c.batch.code_key_id
    first = cache.load(redis, key)
    went_stale = time.monotonic()
    second = cache.load(redis, key, unless_read_after=went_stale)  # the first thread reloads
    assert second is not first and second.read_at > went_stale
    assert cache.load(redis, key, unless_read_after=went_stale) is second  # the others reuse it


def test_loads_do_not_wait_for_each_other(app: Flask, make_codes: Any, monkeypatch: Any) -> None:
    """A thread reloading a key never waits for another thread's load (which may be queued for
    a pooled connection behind row locks this thread holds); a slower load that read before a
    newer copy was stored does not replace it."""
    import threading

    from anticounterfeit.scans import batchcache
    from core.broker import redis_client

    c = make_codes()
    cache, redis, key = batchcache.BatchCache(), redis_client(), c.batch.code_key_id
    stuck, release = threading.Event(), threading.Event()
    real_token = batchcache.current_token

    def token(r: Any, code_key_id: uuid.UUID) -> str:
        if threading.current_thread().name == "slow":
            stuck.set()
            assert release.wait(10)
        return real_token(r, code_key_id)

    monkeypatch.setattr(batchcache, "current_token", token)

    loaded: list[Any] = []

    def load() -> None:
        with app.app_context():
            loaded.append(cache.load(redis, key))

    slow = threading.Thread(target=load, name="slow")
    slow.start()
    try:
        assert stuck.wait(10)
        other = threading.Thread(target=load)  # while the slow load is stuck inside its own
        other.start()
        other.join(5)
        assert not other.is_alive(), "a load waited for another thread's load"
        [newer] = loaded
        assert newer.batches and newer.batches[0].id == c.batch.id
    finally:
        release.set()
        slow.join(10)
    assert len(loaded) == 2 and loaded[1] is newer  # the slow one returned the newer copy
    assert cache.get(redis, key) is newer  # the slow load read first: its copy is dropped


def test_activation_reaches_a_cache_loaded_before_it(make_codes: Any) -> None:
    from anticounterfeit import service
    from anticounterfeit.scans.batchcache import batch_cache
    from core.broker import redis_client
    from core.db import db

    c = make_codes(active=False)
    db.commit()
    assert scan(c.urls[0]).verdict == "not_activated"
    batch_cache().load(redis_client(), c.batch.code_key_id)
    service.activate_code_batch(c.batch)
    db.commit()
    result = scan(c.urls[0])
    assert result.verdict == "authentic" and result.state.scan_count == 1


def test_a_new_batch_of_a_cached_key_is_found(make_codes: Any) -> None:
    from anticounterfeit import service
    from core.db import db

    c = make_codes()
    assert scan(c.urls[0]).verdict == "authentic"  # caches the key's batches
    more = make_codes(owner=c.owner, gtin="04006381333931")
    assert more.batch.code_key_id == c.batch.code_key_id
    db.commit()
    result = scan(more.urls[0])
    assert result.verdict == "authentic" and result.batch.id == more.batch.id
    assert result.batch.product.gtin == "04006381333931"
    service.revoke_code_batch(more.batch, "x")
    assert scan(more.urls[1]).verdict == "revoked"


def test_warm_authentic_scans_cost_no_database_query(
    make_codes: Any, make_consumer: Any, flush_scans: Any
) -> None:
    from core.db import db

    c = make_codes()
    consumer = make_consumer(c.brand)
    db.commit()  # (a commit bumps the batch token of the batch just created)
    scan(c.urls[0])
    flush_scans()  # sets the "complete" marker, as the flusher does
    statements: list[str] = []
    assert db.engine is not None
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        verdicts = [scan(url, consumer).verdict for url in c.urls[1:6]]
        verdicts.append(scan(c.urls[1], consumer).verdict)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert verdicts == ["authentic"] * 5 + ["authentic_repeat"]
    assert [s for s in statements if "SAVEPOINT" not in s.upper()] == []


def test_scan_result_keeps_its_interface(make_codes: Any, make_consumer: Any) -> None:
    """What the campaigns code reads from a scan result."""
    from anticounterfeit.scans.record import Location

    c = make_codes()
    consumer = make_consumer(c.brand)
    r = scan(c.urls[0], consumer, location=Location(31.2304, 121.4737, 30))
    assert r.verdict == "authentic" and r.first_consumer_scan is True
    assert r.region.province == "上海市" and r.state.first_region == "上海市"
    assert r.consumer_id == consumer.id and isinstance(r.scan_id, uuid.UUID)
    assert r.serial == c.rows[0][0] and r.code == c.rows[0][1]
    b = r.batch
    assert (b.id, b.brand_id, b.product_id, b.code_key_id) == (
        c.batch.id, c.brand.id, c.batch.product_id, c.batch.code_key_id,
    )  # fmt: skip
    assert (b.product.id, b.product.name, b.product.gtin) == (
        c.batch.product.id, c.batch.product.name, c.batch.product.gtin,
    )  # fmt: skip
    lot = b.product_batch
    assert (lot.lot, lot.production_date, lot.expiry_date) == (
        "L2026-10A", c.batch.product_batch.production_date, c.batch.product_batch.expiry_date,
    )  # fmt: skip
    again = scan(c.urls[0], consumer)
    assert again.verdict == "authentic_repeat" and again.first_consumer_scan is False


def test_first_consumer_scan_after_an_anonymous_check(make_codes: Any, make_consumer: Any) -> None:
    c = make_codes()
    first = scan(c.urls[0], device_id="camera")
    assert first.verdict == "authentic" and first.first_consumer_scan is False
    claimed = scan(c.urls[0], make_consumer(c.brand))
    assert claimed.verdict == "authentic_repeat" and claimed.first_consumer_scan is True
    late = scan(c.urls[0], make_consumer(c.brand))
    assert late.verdict == "suspect_copy" and late.first_consumer_scan is False


def test_history_keeps_the_last_200_sightings(make_codes: Any) -> None:
    from anticounterfeit.scans.state import HISTORY_LIMIT
    from core.broker import redis_client

    c = make_codes()
    for _ in range(HISTORY_LIMIT + 5):
        last = scan(c.urls[0], device_id="shelf-phone")
    assert last.verdict == "authentic_repeat" and last.state.scan_count == HISTORY_LIMIT + 5
    key = f"scan:v1:code:{_key_id(c)}:{c.rows[0][0]}"
    lines = redis_client().get(key).split(b"\n")
    assert len(lines) == 1 + HISTORY_LIMIT
    assert redis_client().ttl(key) > 0
    suspect = scan(c.urls[0], device_id="other-phone")
    assert suspect.verdict == "suspect_copy" and suspect.assessment.people == 2


def _key_id(c: Any) -> int:
    from anticounterfeit import codes

    return codes.parse_key_id(c.rows[0][1])


# --- write-behind ----------------------------------------------------------------------------


def test_replaying_the_stream_stores_each_event_once(make_codes: Any, make_consumer: Any) -> None:
    from anticounterfeit import service
    from anticounterfeit.models import CodeState, ScanEvent
    from anticounterfeit.scans import bulkwrite

    c = make_codes()
    consumer = make_consumer(c.brand)
    scan(c.urls[0], device_id="d1")
    scan(c.urls[0], consumer, device_id="d1")
    scan(c.urls[0], make_consumer(c.brand))
    scan(c.urls[1])
    service.revoke_code_batch(c.batch, "leak")
    scan(c.urls[2])
    events = [bulkwrite.parse(fields) for _, fields in stream_entries()]
    assert len(events) == 5
    bulkwrite.write(events)
    bulkwrite.write(events)
    bulkwrite.write(list(reversed(events)))
    bulkwrite.write(events[:2])  # an older state arriving late does not move a code back
    assert count(ScanEvent) == 5 and count(CodeState) == 2
    state = state_of(c, 0)
    assert state.scan_count == 3 and state.distinct_consumers == 2 and state.is_suspect
    assert state.first_consumer_id == consumer.id
    assert state_of(c, 1).scan_count == 1 and state_of(c, 2) is None


def test_events_the_database_refuses_go_to_dead_letters(make_codes: Any) -> None:
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans import writebehind
    from core.broker import redis_client

    c = make_codes()
    scan(c.urls[0])
    ghost = scan(c.urls[1], consumer_id=uuid.uuid4(), consumer_brand_id=c.brand.id)
    scan(c.urls[2])
    assert flush() == 3
    assert count(ScanEvent) == 2
    dead = redis_client().xrange(writebehind.DEAD_LETTERS)
    assert len(dead) == 1 and str(ghost.scan_id).encode() in dead[0][1][b"e"]


def test_http_scans_are_in_the_database_after_a_flush(
    client: FlaskClient, make_codes: Any, flush_scans: Any
) -> None:
    """Embedded mode flushes inline after each request; with real Redis the flusher does."""
    from anticounterfeit.models import CodeState, ScanEvent
    from engagement.schemas import ScanResponseSchema

    c = make_codes()
    body = client.post("/api/v1/scans", json={"code": c.urls[0]}).get_json()
    assert mismatches(ScanResponseSchema(), body) == []  # built to the documented schema
    forged = client.post("/api/v1/scans", json={"code": "Z" * 20}).get_json()
    assert mismatches(ScanResponseSchema(), forged) == []
    flush_scans()
    assert count(ScanEvent) == 1 and count(CodeState) == 1
    assert len(stream_entries()) == 0


# --- Redis losing its data -------------------------------------------------------------------


def test_after_redis_loses_its_data_scans_continue_from_the_database(
    make_codes: Any, make_consumer: Any, flush_scans: Any
) -> None:
    from anticounterfeit.scans import index
    from anticounterfeit.scans.state import COMPLETE
    from core.broker import redis_client

    c = make_codes()
    alice, bob = make_consumer(c.brand), make_consumer(c.brand)
    first = scan(c.urls[0], alice, device_id="a")
    scan(c.urls[0], alice, device_id="a")
    scan(c.urls[1], device_id="b")
    flush_scans()
    redis = redis_client()
    assert redis.get(COMPLETE) is not None
    redis.flushdb()  # Redis restarted without its data; this process's caches survive

    again = scan(c.urls[0], alice, device_id="a")
    assert again.verdict == "authentic_repeat" and again.first_consumer_scan is False
    assert again.state.scan_count == 3
    assert again.state.first_scanned_at == first.state.first_scanned_at
    assert scan(c.urls[0], bob).verdict == "suspect_copy"
    assert scan(c.urls[1], device_id="b").verdict == "authentic_repeat"
    assert scan(c.urls[2]).verdict == "authentic"  # never scanned: still a first scan

    flush_scans()  # the flusher rebuilds the index and sets the marker again
    assert redis.get(COMPLETE).decode() == index.run_id(redis)
    assert state_of(c, 0).scan_count == 4 and state_of(c, 0).distinct_consumers == 2
    assert scan(c.urls[3]).verdict == "authentic"


def test_an_expired_code_state_is_read_back_from_the_database(
    make_codes: Any, flush_scans: Any
) -> None:
    from anticounterfeit import codes
    from core.broker import redis_client

    c = make_codes()
    scan(c.urls[0], device_id="a")
    flush_scans()
    key_id = codes.parse_key_id(c.rows[0][1])
    assert redis_client().delete(f"scan:v1:code:{key_id}:{c.rows[0][0]}") == 1  # TTL ran out
    result = scan(c.urls[0], device_id="z")  # the bit says "scanned before": not a first scan
    assert result.verdict == "suspect_copy" and result.state.scan_count == 2


def test_a_restarted_redis_is_noticed_by_its_run_id(
    make_codes: Any, flush_scans: Any, monkeypatch: Any
) -> None:
    from anticounterfeit.scans import index
    from anticounterfeit.scans.state import COMPLETE
    from core.broker import redis_client

    c = make_codes()
    scan(c.urls[0])
    flush_scans()
    redis = redis_client()
    assert index.ensure_complete(redis) is False
    monkeypatch.setattr(index, "run_id", lambda _redis: "another-server")
    assert index.ensure_complete(redis) is True
    assert redis.get(COMPLETE) == b"another-server"


# --- concurrency against the real servers ----------------------------------------------------


def _scan_in_thread(app: Flask, raw: str, consumer: Any) -> Any:
    from core.db import db

    with app.app_context(), db.own_session():
        return scan(raw, consumer)


@pytest.mark.realservices
def test_fifty_simultaneous_logged_in_first_scans(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, flush_scans: Any
) -> None:
    """One code, 50 consumers at once: one authentic, one first consumer scan, one state."""
    from anticounterfeit.models import CodeState, ScanEvent
    from core.db import db

    c = make_codes()
    consumers = [make_consumer(c.brand) for _ in range(50)]
    db.commit()
    flush_scans()  # the "complete" marker: the normal path, not the reseeding one
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda x: _scan_in_thread(app, c.urls[0], x), consumers))
    assert [r.verdict for r in results].count("authentic") == 1
    firsts = [r for r in results if r.first_consumer_scan]
    assert len(firsts) == 1 and firsts[0].verdict == "authentic"
    assert sorted(r.state.scan_count for r in results) == list(range(1, 51))
    assert flush_scans() == 50
    state = db.session.scalar(select(CodeState))
    assert state.scan_count == 50 and state.distinct_consumers == 50
    assert state.first_consumer_id == firsts[0].consumer_id
    assert count(ScanEvent) == 50 and count(CodeState) == 1


@pytest.mark.realservices
def test_simultaneous_anonymous_and_logged_in_scans_make_one_first_consumer_scan(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, flush_scans: Any
) -> None:
    from anticounterfeit.models import CodeState
    from core.db import db

    c = make_codes()
    consumers: list[Any] = [make_consumer(c.brand) for _ in range(20)] + [None] * 20
    db.commit()
    with ThreadPoolExecutor(16) as pool:  # no marker yet: every thread reseeds from PostgreSQL
        results = list(pool.map(lambda x: _scan_in_thread(app, c.urls[1], x), consumers))
    assert [r.verdict for r in results].count("authentic") == 1
    firsts = [r for r in results if r.first_consumer_scan]
    assert len(firsts) == 1 and firsts[0].consumer_id is not None
    flush_scans()
    state = db.session.scalar(select(CodeState))
    assert state.scan_count == 40 and state.first_consumer_id == firsts[0].consumer_id


def test_flush_command(app: Flask, make_codes: Any) -> None:
    from anticounterfeit.models import ScanEvent
    from core.broker import current_broker

    c = make_codes()
    scan(c.urls[0])
    result = app.test_cli_runner().invoke(args=["scans", "flush"])
    if current_broker().embedded:
        assert result.exit_code != 0 and "embedded" in result.output
        return
    assert result.exit_code == 0, result.output
    assert "flushed 1 scan events" in result.output and count(ScanEvent) == 1


def test_the_ip_and_device_limits_take_one_call(monkeypatch: Any) -> None:
    from core.broker import redis_client
    from core.errors import RateLimited
    from core.ratelimit import Limit, hit_all

    redis = redis_client()
    per_ip, per_device = Limit("t-ip", 3, 60), Limit("t-device", 1, 60)
    hit_all(redis, [(Limit("t-warm", 9, 60), "w")])  # the script is loaded once, first
    calls: list[Any] = []
    original = redis.evalsha
    monkeypatch.setattr(redis, "evalsha", lambda *a: calls.append(a) or original(*a))
    hit_all(redis, [(per_ip, "1.2.3.4"), (per_device, "phone")])
    with pytest.raises(RateLimited) as limited:
        hit_all(redis, [(per_ip, "1.2.3.4"), (per_device, "phone")])
    assert len(calls) == 2 and 0 < limited.value.retry_after <= 60
    assert redis.get("rl:t-ip:1.2.3.4") == b"2" and redis.get("rl:t-device:phone") == b"2"


def test_a_released_savepoint_does_not_bump_the_batch_token_early(make_codes: Any) -> None:
    """Issue 9 item 3: the after-commit bump waits for the real commit (through txhooks).

    Fired at a savepoint's release instead, another process could reload before the commit,
    see the batch still active, and serve the revoked batch as active until its copy aged out.
    """
    from anticounterfeit import service
    from anticounterfeit.scans.state import version_key
    from core.broker import redis_client
    from core.db import db

    c = make_codes()
    db.commit()
    redis, key = redis_client(), version_key(c.batch.code_key_id)
    service.revoke_code_batch(c.batch, "recalled")
    at_change = redis.get(key)
    with db.session.begin_nested():
        pass  # e.g. an audit write in its own savepoint, released before the request commits
    assert redis.get(key) == at_change
    db.commit()
    assert redis.get(key) != at_change  # bumped again once the revocation is committed


def test_flush_listeners_see_each_stored_event_once_and_only_committed_work_is_sent(
    make_codes: Any, monkeypatch: Any
) -> None:
    """Listeners get the events a flush stores (not those refused) inside its transaction."""
    from anticounterfeit.scans import writebehind
    from core import txhooks
    from core.db import db

    seen: list[str] = []
    sent: list[int] = []

    def listener(events: Any) -> None:
        seen.extend(str(e.get("id")) for e in events)
        txhooks.on_commit(db.session(), lambda: sent.append(len(events)))

    monkeypatch.setitem(writebehind._listeners, "test", listener)
    c = make_codes()
    results = [scan(url) for url in c.urls[:3]]
    assert flush() == 3
    assert sorted(seen) == sorted(str(r.scan_id) for r in results)
    assert sent == [3]
    assert flush() == 0 and len(seen) == 3
