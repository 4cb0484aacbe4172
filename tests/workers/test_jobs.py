"""Enqueue-after-commit and the job wrapper, inline (embedded) and with real RQ workers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.workers import jobs, run_workers


def recorded() -> list[str]:
    from core.broker import redis_client

    return [v.decode() for v in redis_client().lrange("test:jobs", 0, -1)]


def consumers() -> int:
    from core.db import db
    from profiles.models import Consumer

    return int(db.session.scalar(select(func.count()).select_from(Consumer)) or 0)


def test_job_enqueued_in_rolled_back_transaction_never_runs(app: Flask) -> None:
    from core.db import db
    from workers.job import enqueue_after_commit

    enqueue_after_commit(jobs.record, "rolled-back")
    db.session.rollback()
    db.commit()
    run_workers()
    assert recorded() == []


def test_a_released_savepoint_is_not_the_commit(app: Flask) -> None:
    from core.db import db
    from workers.job import enqueue_after_commit

    enqueue_after_commit(jobs.record, "too-early")
    with db.session.begin_nested():
        pass  # SQLAlchemy fires after_commit when a savepoint is released
    run_workers()
    assert recorded() == []
    db.session.rollback()
    db.commit()
    run_workers()
    assert recorded() == []


def test_job_runs_only_after_commit(app: Flask) -> None:
    from core.db import db
    from workers.job import enqueue_after_commit

    enqueue_after_commit(jobs.record, "committed")
    db.session.flush()
    assert recorded() == []
    db.commit()
    run_workers()
    assert recorded() == ["committed"]


def test_job_writes_in_its_own_transaction(app: Flask, make_brand: Any) -> None:
    from core.db import db

    brand = make_brand().brand
    db.commit()
    jobs.add_consumer(str(brand.id))
    assert consumers() == 1
    with pytest.raises(RuntimeError):
        jobs.fail_after_write(str(brand.id))
    assert consumers() == 1


def test_non_json_arguments_fail_at_enqueue(app: Flask) -> None:
    from core.broker import queue

    with pytest.raises(TypeError):
        queue("default").enqueue(jobs.record, object())


@pytest.mark.realservices
def test_real_worker_runs_committed_jobs_and_not_rolled_back_ones(
    app: Flask, committed: None, make_brand: Any
) -> None:
    from core.db import db
    from workers.job import enqueue_after_commit

    brand = make_brand().brand
    enqueue_after_commit(jobs.add_consumer, str(brand.id), queue_name="fraud")
    db.commit()
    enqueue_after_commit(jobs.record, "never")
    db.session.rollback()
    run_workers()
    assert consumers() == 1
    assert recorded() == []


def test_a_job_enqueued_in_a_rolled_back_savepoint_never_runs(app: Flask) -> None:
    """Savepoints scope after-commit work: what a rolled-back savepoint asked for is dropped."""
    from core.db import db
    from workers.job import enqueue_after_commit

    enqueue_after_commit(jobs.record, "kept")
    try:
        with db.session.begin_nested():
            enqueue_after_commit(jobs.record, "refused")
            raise RuntimeError("the guarded update was refused")
    except RuntimeError:
        pass
    with db.session.begin_nested():
        enqueue_after_commit(jobs.record, "released")  # a released savepoint's work survives
    run_workers()
    assert recorded() == []
    db.commit()
    run_workers()
    assert recorded() == ["kept", "released"]


@pytest.mark.realservices
def test_a_forked_work_horse_sends_its_writes_behind_before_it_exits(
    app: Flask, committed: None
) -> None:
    from rq import Worker
    from rq.serializers import JSONSerializer

    from core.broker import current_broker, redis_client
    from core.db import db
    from workers.job import enqueue_after_commit

    enqueue_after_commit(jobs.mark_behind, "sent")
    db.commit()
    Worker(["default"], connection=current_broker().redis, serializer=JSONSerializer).work(
        burst=True
    )
    assert redis_client().get("test:behind") == b"sent"
