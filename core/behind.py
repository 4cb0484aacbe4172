"""Redis writes behind the request: marks that may trail it by a few milliseconds.

Some Redis writes only spare work later (a code's settled bit spares its next scans a
PostgreSQL query). Waiting for their reply costs the request a round trip and, under load, the
thread switches around it: measured on a winning scan, more than a tenth of its throughput.
``later`` queues such a write and returns; one daemon thread per process sends what is queued,
in one pipeline per Redis client, ``DELAY`` seconds after the first write of a batch (it sleeps
while nothing is queued, so an idle process never wakes).

A write queued here must tolerate three things:

- **being late**: another process may read before it lands (up to ``DELAY`` plus a round trip).
  This process never does: ``read`` sends the queued writes ahead of its read, in one pipeline,
  after any batch the thread is sending has landed.
- **being lost**: what is queued when a process is killed is never sent (an orderly exit sends
  it, ``atexit``), and a failed send is logged and dropped, like any after-commit effect.
- **being reordered** against other writes to the same key: only idempotent marks belong here.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from redis import Redis

log = logging.getLogger(__name__)

#: How long the thread waits after a batch's first write before sending the batch.
DELAY = 0.02

#: Queues one command on the pipeline it is given (``lambda pipe: pipe.setbit(key, n, 1)``).
Command = Callable[[Any], object]


class _Queue:
    """The writes queued in this process, and the thread that sends them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = threading.Condition(self.lock)  # writes are waiting: the thread's cue
        self.landed = threading.Condition(self.lock)  # a batch in flight has been sent
        self.items: list[tuple[Redis, Command]] = []
        self.sending = 0  # batches taken but not sent yet
        self.thread: threading.Thread | None = None


_queue = _Queue()


def _forked() -> None:
    """A forked child starts empty: the parent sends its own writes, and a lock the parent
    held at the fork would never be released in the child."""
    global _queue
    _queue = _Queue()


os.register_at_fork(after_in_child=_forked)


def later(client: Redis, command: Command) -> None:
    """Queue one idempotent write to ``client``; it is sent within ``DELAY`` (plus a round
    trip), in one pipeline with the others."""
    q = _queue
    with q.lock:
        if q.thread is None:
            q.thread = threading.Thread(target=_run, args=(q,), name="redis-behind", daemon=True)
            q.thread.start()
        q.items.append((client, command))
        if len(q.items) == 1:
            q.queued.notify()


def read(client: Redis, command: Command) -> Any:
    """Run ``command`` (a read) on ``client`` after every write this process queued for it:
    one pipeline, the queued writes first. Returns the read's reply (raises its error)."""
    writes = _take(_queue, client)
    pipe = client.pipeline(transaction=False)
    for _, write in writes:
        write(pipe)
    command(pipe)
    *replies, reply = pipe.execute(raise_on_error=False)
    _log_failures(replies)
    if isinstance(reply, Exception):
        raise reply
    return reply


def flush() -> None:
    """Send every queued write now, from this thread, once any batch in flight has landed: when
    this returns, every write queued before it was sent (exit, tests)."""
    _send(_take(_queue))


def _take(q: _Queue, client: Redis | None = None) -> list[tuple[Redis, Command]]:
    """The writes queued (for ``client``, else all), taken off the queue once no batch is in
    flight."""
    with q.lock:
        while q.sending:
            q.landed.wait()
        mine = [item for item in q.items if client is None or item[0] is client]
        if mine:
            q.items = [item for item in q.items if client is not None and item[0] is not client]
        return mine


def _run(q: _Queue) -> None:
    while True:
        with q.lock:
            while not q.items:
                q.queued.wait()
            # Let the batch fill (a write queued after a ``flush`` emptied it ends this early).
            q.queued.wait(timeout=DELAY)
            batch, q.items = q.items, []
            q.sending += 1
        try:
            _send(batch)
        finally:
            with q.lock:
                q.sending -= 1
                q.landed.notify_all()


def _send(batch: list[tuple[Redis, Command]]) -> None:
    by_client: dict[int, tuple[Redis, list[Command]]] = {}
    for client, command in batch:
        by_client.setdefault(id(client), (client, []))[1].append(command)
    for client, commands in by_client.values():
        try:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                command(pipe)
            _log_failures(pipe.execute(raise_on_error=False))
        except Exception:
            log.exception("%d Redis writes behind failed", len(commands))


def _log_failures(replies: list[Any]) -> None:
    for reply in replies:
        if isinstance(reply, Exception):
            log.error("a Redis write behind failed: %s", reply)


atexit.register(flush)
