"""After-commit Redis commands: sent only for what committed, all of a transaction in one
pipeline (``core.txhooks.redis_on_commit``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask


def test_a_transactions_redis_commands_go_in_one_pipeline_after_its_commit(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import txhooks
    from core.broker import redis_client
    from core.db import db

    redis = redis_client()
    pipelines: list[int] = []
    real_pipeline = redis.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(1)
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(redis, "pipeline", counted)
    session, replies = db.session(), list[Any]()
    txhooks.redis_on_commit(session, lambda p: p.set("t:flag", "1", nx=True), then=replies.append)
    txhooks.redis_on_commit(session, lambda p: p.setbit("t:bits", 7, 1))
    with db.session.begin_nested() as savepoint:  # undone: its command is never sent
        txhooks.redis_on_commit(session, lambda p: p.set("t:undone", "1"))
        savepoint.rollback()
    assert redis.get("t:flag") is None and pipelines == []  # nothing before the commit
    db.commit()
    assert pipelines == [1] and replies == [True]
    assert redis.get("t:flag") == b"1" and redis.getbit("t:bits", 7) == 1
    assert redis.get("t:undone") is None
    txhooks.redis_on_commit(session, lambda p: p.set("t:rolled-back", "1"))
    db.session.rollback()
    assert redis.get("t:rolled-back") is None and pipelines == [1]


def test_a_lone_command_goes_without_a_pipeline_and_its_error_is_its_reply(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from core import txhooks
    from core.broker import redis_client
    from core.db import db

    redis = redis_client()
    monkeypatch.setattr(redis, "pipeline", lambda *a, **k: pytest.fail("no pipeline for one"))
    replies: list[Any] = []
    txhooks.redis_on_commit(db.session(), lambda c: c.set("t:one", "1", nx=True),
                            then=replies.append)  # fmt: skip
    db.commit()
    assert replies == [True] and redis.get("t:one") == b"1"

    redis.set("t:text", "not a number")
    txhooks.redis_on_commit(db.session(), lambda c: c.incr("t:text"), then=replies.append)
    db.commit()  # the commit stands; the failed command is logged, its ``then`` not run
    assert replies == [True] and "after-commit Redis command failed" in caplog.text
