"""Jobs used by the worker tests (importable by RQ by their dotted path)."""

from __future__ import annotations

import uuid

from core.broker import redis_client
from core.db import db
from profiles.models import Consumer
from workers.job import job


@job
def record(value: str) -> None:
    """Append ``value`` to a Redis list the test reads."""
    redis_client().rpush("test:jobs", value)


@job
def add_consumer(brand_id: str) -> str:
    """Write a row in the job's own transaction."""
    consumer = Consumer(brand_id=uuid.UUID(brand_id))
    db.session.add(consumer)
    db.session.flush()
    return str(consumer.id)


@job
def fail_after_write(brand_id: str) -> None:
    """Write, then fail: the job's transaction must roll back."""
    db.session.add(Consumer(brand_id=uuid.UUID(brand_id)))
    db.session.flush()
    raise RuntimeError("job failed")


@job
def mark_behind(value: str) -> None:
    """Queue a Redis write behind (``core.behind``) and return at once. Run by a forked RQ
    work-horse only: the child's thread would send it a minute later, but the work-horse ends
    with ``os._exit`` as soon as the job returns."""
    from core import behind

    behind.DELAY = 60.0
    behind.later(redis_client(), lambda pipe: pipe.set("test:behind", value))
