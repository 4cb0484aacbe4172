"""The write-behind flusher: one commit per flush job, refusals isolated (bisect, dead letters),
transient failures retried, listeners unable to block it, and the index rebuilt in pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.engagement.test_scan_state import flush, scan, stream_entries

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture(autouse=True)
def _no_inline_flush(monkeypatch: Any) -> None:
    """Only the test flushes (embedded mode would also flush inline at each commit)."""
    from anticounterfeit.scans import record

    monkeypatch.setattr(record, "_flush_after_commit", lambda: None)


def count(model: Any) -> int:
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_flush_job_commits_once_whatever_the_batch(make_codes: Any, monkeypatch: Any) -> None:
    from anticounterfeit.jobs import flush_scan_events
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans import writebehind

    # The jobs listeners send after the commit (fraud checks) are units of work of their own,
    # run inline in embedded mode: they are not the flush's commits.
    monkeypatch.setattr(writebehind, "_listeners", {})
    c = make_codes()
    for url in c.urls[:5]:
        scan(url)
    commits: list[bool] = []

    def committed(session: Session) -> None:
        if not session.in_nested_transaction():
            commits.append(True)

    event.listen(Session, "after_commit", committed)
    try:
        moved = flush_scan_events("tests", count=4, more=False)
    finally:
        event.remove(Session, "after_commit", committed)
    assert moved == 4 and len(commits) == 1
    assert count(ScanEvent) == 4 and len(stream_entries()) == 1  # acknowledged after the commit


def _refuse(monkeypatch: Any, poisoned: set[str]) -> list[int]:
    """Make the bulk write refuse any batch holding one of ``poisoned``; the sizes tried."""
    from anticounterfeit.scans import bulkwrite, writebehind

    writes: list[int] = []
    real_write = bulkwrite.write

    def picky(events: Any) -> None:
        writes.append(len(events))
        if any(str(e.get("id")) in poisoned for e in events):
            raise ValueError("refused")
        real_write(events)

    monkeypatch.setattr(writebehind, "write", picky)
    return writes


def test_bisecting_isolates_each_refused_event(make_codes: Any, monkeypatch: Any) -> None:
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans import writebehind
    from core.broker import redis_client

    c = make_codes()
    results = [scan(url) for url in c.urls[:16]]
    _refuse(monkeypatch, {str(results[i].scan_id) for i in (0, 5, 6, 15)})
    assert flush() == 16
    assert count(ScanEvent) == 12
    dead = redis_client().xrange(writebehind.DEAD_LETTERS)
    assert sorted(f[b"error"] for _, f in dead) == [b"ValueError: refused"] * 4
    assert len(stream_entries()) == 0


def test_one_bad_event_costs_a_logarithmic_number_of_tries(
    make_codes: Any, monkeypatch: Any
) -> None:
    c = make_codes(quantity=32)
    results = [scan(url) for url in c.urls]
    writes = _refuse(monkeypatch, {str(results[17].scan_id)})
    assert flush() == 32
    assert len(writes) == 1 + 2 * 5  # the batch, then both halves at each of log2(32) levels


def test_a_database_outage_is_retried_not_dead_lettered(make_codes: Any, monkeypatch: Any) -> None:
    from anticounterfeit.scans import writebehind
    from core.broker import redis_client
    from core.db import db

    c = make_codes()
    scan(c.urls[0])

    def down(_events: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(writebehind, "write", down)
    with pytest.raises(OperationalError):
        writebehind.flush("tests")
    db.session.rollback()
    assert redis_client().xlen(writebehind.DEAD_LETTERS) == 0
    assert len(stream_entries()) == 1  # still pending: the next flush (or a rescuer) retries


def test_a_failing_listener_cannot_stop_the_flush(make_codes: Any, monkeypatch: Any) -> None:
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans import writebehind
    from core.broker import redis_client

    def broken(_events: Any) -> None:
        raise KeyError("surprise")

    monkeypatch.setitem(writebehind._listeners, "broken", broken)
    c = make_codes()
    for url in c.urls[:3]:
        scan(url)
    assert flush() == 3
    assert count(ScanEvent) == 3 and len(stream_entries()) == 0
    [(_, letter)] = redis_client().xrange(writebehind.DEAD_LETTERS)
    assert letter[b"listener"] == b"broken" and b"surprise" in letter[b"error"]


def _bits(redis: Any, c: Any, n: int) -> list[int]:
    from anticounterfeit.scans.state import scanned_key

    return [redis.getbit(scanned_key(c.batch.id), i) for i in range(n)]


def test_the_index_is_rebuilt_in_pages_and_resumed_where_it_stopped(
    make_codes: Any, monkeypatch: Any
) -> None:
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans import index
    from anticounterfeit.scans.state import COMPLETE, scanned_key
    from core.broker import redis_client

    c = make_codes()
    for url in c.urls[:5]:
        scan(url)
    assert flush() == 5
    redis = redis_client()
    monkeypatch.setattr(index, "REBUILD_PAGE", 2)
    monkeypatch.setattr(index, "REBUILD_SLICE_SECONDS", 0)  # one page per flush
    redis.delete(COMPLETE, scanned_key(c.batch.id))  # Redis lost the index

    scan(c.urls[5])  # scans go on meanwhile, and so do flushes
    assert flush() == 1 and count(ScanEvent) == 6
    first_page = [i for i, bit in enumerate(_bits(redis, c, 6)) if bit]
    assert redis.get(COMPLETE) is None and len(first_page) == 3  # 2 rebuilt + the new scan's
    for i in first_page[:2]:
        redis.setbit(scanned_key(c.batch.id), i, 0)  # to see whether a page is done again
    assert [flush() for _ in range(4)] == [0, 0, 0, 0]  # a later flusher, from the same point
    assert redis.get(COMPLETE).decode() == index.run_id(redis)
    assert sum(_bits(redis, c, 6)) == 4  # every code, except the two undone ones: not redone


def test_a_rebuild_begun_for_another_redis_starts_over(make_codes: Any, monkeypatch: Any) -> None:
    from anticounterfeit.scans import index
    from anticounterfeit.scans.state import COMPLETE, scanned_key
    from core.broker import redis_client

    c = make_codes()
    for url in c.urls[:3]:
        scan(url)
    flush()
    redis = redis_client()
    monkeypatch.setattr(index, "REBUILD_PAGE", 1)
    monkeypatch.setattr(index, "REBUILD_SLICE_SECONDS", 0)
    redis.delete(COMPLETE, scanned_key(c.batch.id))
    index.ensure_complete(redis)
    index.ensure_complete(redis)
    redis.delete(scanned_key(c.batch.id))  # lost again, under a new server
    monkeypatch.setattr(index, "run_id", lambda _redis: "failed-over")
    assert [index.ensure_complete(redis) for _ in range(5)] == [True] * 4 + [False]
    assert redis.get(COMPLETE) == b"failed-over" and sum(_bits(redis, c, 3)) == 3
