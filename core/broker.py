"""The Redis connection and RQ queues; embedded mode when no ``REDIS_URL`` is configured.

Embedded mode uses an in-process Redis (fakeredis) and runs jobs inline, right after the
transaction that enqueued them commits, so a demo needs no server.
"""

from __future__ import annotations

from typing import Any

import fakeredis
from flask import Flask, current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

QUEUES = ("payouts", "fraud", "default")


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
