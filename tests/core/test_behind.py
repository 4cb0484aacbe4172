"""Redis writes behind the request (``core.behind``): queued, sent in one pipeline by a thread
of the process, read back by the process that queued them, sent at an orderly exit."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core import behind
from tests.conftest import REDIS_URL


class Counted:
    """A Redis client (fakeredis) that records each pipeline it executes, and can be broken or
    slowed (its next pipeline)."""

    def __init__(self) -> None:
        self.redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        self.pipelines: list[list[str]] = []
        self.slow = 0.0
        self.broken = False
        self.sending = threading.Event()
        real_pipeline = self.redis.pipeline

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = real_pipeline(*args, **kwargs)
            real_execute = pipe.execute

            def execute(*a: Any, **k: Any) -> Any:
                self.pipelines.append([str(c[0][0]) for c in pipe.command_stack])
                self.sending.set()
                delay, self.slow = self.slow, 0.0  # only the next pipeline is slow
                time.sleep(delay)
                if self.broken:
                    raise RedisConnectionError("connection reset by peer")
                return real_execute(*a, **k)

            pipe.execute = execute
            return pipe

        self.redis.pipeline = pipeline  # type: ignore[method-assign]


@pytest.fixture
def counted() -> Iterator[Counted]:
    behind.flush()
    yield Counted()
    behind.flush()


def _until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_burst_of_writes_goes_in_one_pipeline_after_the_delay(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behind, "DELAY", 0.3)
    redis = counted.redis
    for n in range(50):
        behind.later(redis, lambda pipe, n=n: pipe.setbit("t:bits", n, 1))
    assert redis.bitcount("t:bits") == 0 and counted.pipelines == []  # queued, not sent
    assert _until(lambda: redis.bitcount("t:bits") == 50)
    assert counted.pipelines == [["SETBIT"] * 50]


def test_a_process_reads_its_own_writes_in_the_same_round_trip(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behind, "DELAY", 60.0)  # the thread would send them a minute later
    redis, other = counted.redis, fakeredis.FakeRedis(server=fakeredis.FakeServer())
    behind.later(redis, lambda pipe: pipe.setbit("t:bits", 3, 1))
    behind.later(other, lambda pipe: pipe.set("t:other", "1"))
    assert behind.read(redis, lambda pipe: pipe.getbit("t:bits", 3)) == 1
    assert counted.pipelines == [["SETBIT", "GETBIT"]]
    assert other.get("t:other") is None  # another client's writes stay queued
    behind.flush()
    assert other.get("t:other") == b"1"


def test_a_read_waits_for_a_batch_in_flight(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread has taken the write and is still sending it: the read must not overtake it."""
    monkeypatch.setattr(behind, "DELAY", 0.0)
    counted.slow = 0.3
    redis = counted.redis
    behind.later(redis, lambda pipe: pipe.set("t:key", "written"))
    assert counted.sending.wait(5)  # the batch is on its way, for 0.3 s more
    assert behind.read(redis, lambda pipe: pipe.get("t:key")) == b"written"


def test_a_failed_send_is_logged_and_dropped(
    counted: Counted, caplog: pytest.LogCaptureFixture
) -> None:
    counted.broken = True
    behind.later(counted.redis, lambda pipe: pipe.set("t:key", "1"))
    behind.flush()
    assert "Redis writes behind failed" in caplog.text
    counted.broken = False
    behind.flush()  # nothing left to send
    assert counted.redis.get("t:key") is None and len(counted.pipelines) == 1


def test_a_forked_child_starts_with_nothing_queued(
    counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behind, "DELAY", 60.0)
    behind.later(counted.redis, lambda pipe: pipe.set("t:parent", "1"))
    pid = os.fork()
    if pid == 0:  # the child: the parent's write is the parent's to send
        q = behind._queue
        os._exit(0 if q.items == [] and q.thread is None and not q.lock.locked() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    behind.flush()
    assert counted.redis.get("t:parent") == b"1" and len(counted.pipelines) == 1


@pytest.mark.realservices
def test_an_orderly_exit_sends_what_is_queued() -> None:
    assert REDIS_URL is not None
    redis = Redis.from_url(REDIS_URL)
    redis.delete("t:at-exit")
    script = (
        "import sys; from redis import Redis; from core import behind\n"
        "behind.DELAY = 60.0\n"
        f"behind.later(Redis.from_url({REDIS_URL!r}), lambda p: p.set('t:at-exit', 'sent'))\n"
        "sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))  # fmt: skip
    assert redis.get("t:at-exit") == b"sent"
    redis.delete("t:at-exit")
