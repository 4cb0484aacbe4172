"""The Redis connection and RQ queues; embedded mode when no ``REDIS_URL`` is configured.

Embedded mode uses an in-process Redis (fakeredis) and runs jobs inline, right after the
transaction that enqueued them commits, so a demo needs no server.
"""

from __future__ import annotations

import logging
from typing import Any

import click
import fakeredis
from flask import Flask, current_app
from redis import Redis
from redis.exceptions import ResponseError
from rq import Queue
from rq.serializers import JSONSerializer

QUEUES = ("payouts", "fraud", "webhooks", "default")
log = logging.getLogger(__name__)


class UnsafeRedis(click.ClickException):
    """Redis is configured so that it may silently drop keys the service relies on."""


def check_no_eviction(redis: Redis) -> str | None:
    """Refuse a Redis whose ``maxmemory-policy`` is not ``noeviction``; the policy, or None if
    the server does not say (``CONFIG`` disabled, as on some managed services: warned).

    An evicted key is not a cache miss here: a "scanned" bitmap or code state evicted re-marks
    codes as never scanned (a copied code looks genuine again), an evicted stream loses scans,
    an evicted budget counter is re-seeded late. The start-up commands call this (the web
    processes through ``gunicorn.conf.py``, ``flask worker``, ``scheduler``, ``scans flush``).
    """
    try:
        reply: Any = redis.config_get("maxmemory-policy")
    except ResponseError as exc:
        log.warning("cannot read Redis maxmemory-policy (%s): it must be noeviction", exc)
        return None
    policy = reply.get("maxmemory-policy")
    policy = policy.decode() if isinstance(policy, bytes) else policy
    if policy != "noeviction":
        raise UnsafeRedis(
            f"Redis maxmemory-policy is {policy!r}: it must be 'noeviction' (an evicted key "
            "silently re-marks codes as never scanned). Run: CONFIG SET maxmemory-policy "
            "noeviction (and set it in redis.conf)."
        )
    return str(policy)


class Broker:
    """Flask extension holding the Redis client and the RQ queues."""

    def __init__(self) -> None:
        self.redis: Redis | None = None
        self.embedded = True
        self.queues: dict[str, Queue] = {}

    def init_app(self, app: Flask) -> None:
        """Connect to ``REDIS_URL`` (lazily: redis-py connects on first use) or go embedded."""
        url = app.config.get("REDIS_URL")
        self.embedded = not url
        self.redis = (
            self._connect(url) if url else fakeredis.FakeRedis(server=fakeredis.FakeServer())
        )
        self.queues = {
            name: Queue(
                name, connection=self.redis, is_async=not self.embedded, serializer=JSONSerializer
            )
            for name in QUEUES
        }
        app.extensions["broker"] = self

    @staticmethod
    def _connect(url: str) -> Redis:
        return Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )


broker = Broker()


def check_current_redis() -> None:
    """``check_no_eviction`` for the current app's Redis (nothing to check in embedded mode)."""
    ext = current_broker()
    if not ext.embedded and ext.redis is not None:
        check_no_eviction(ext.redis)


def current_broker() -> Broker:
    """The current app's broker."""
    ext: Broker = current_app.extensions["broker"]
    return ext


def redis_client() -> Redis:
    """The current app's Redis client (real, or in-process in embedded mode)."""
    client = current_broker().redis
    assert client is not None
    return client


def queue(name: str) -> Queue:
    """One of the RQ queues of ``workers.QUEUES``."""
    return current_broker().queues[name]


def job_options(**options: Any) -> dict[str, Any]:
    """Enqueue options that only make sense with real workers (dropped when inline)."""
    return {} if current_broker().embedded else options
