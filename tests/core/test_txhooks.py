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


def test_after_commit_without_a_session_begins_none_and_waits_for_the_commit(
    app: Flask,
) -> None:
    """``db.after_commit`` in a unit of work with no session (its writes, if any, committed on
    their own): no session is begun for it; ``commit`` runs it, ``rollback`` or the end of the
    unit of work drops it."""
    from sqlalchemy import text

    from core.db import db

    ran: list[str] = []
    db.session.remove()
    db.after_commit(lambda: ran.append("committed"))
    assert not db.in_use() and ran == []
    db.commit()
    assert ran == ["committed"] and not db.in_use()
    db.commit()  # once
    db.after_commit(lambda: ran.append("rolled back"))
    db.rollback()
    db.commit()
    assert ran == ["committed"]
    with app.test_request_context():  # a request that ends without its commit
        db.after_commit(lambda: ran.append("abandoned"))
    assert not db._after  # kept by no scope (another request could reuse its scope's id)
    with app.test_request_context():
        db.commit()
    assert ran == ["committed"]
    db.after_commit(lambda: ran.append("then a session"))  # a session begun since: after it
    db.session.execute(text("SELECT 1"))
    db.commit()
    assert ran == ["committed", "then a session"]


def test_after_commit_with_a_session_follows_its_transaction(app: Flask) -> None:
    from sqlalchemy import text

    from core.db import db

    ran: list[str] = []
    db.session.execute(text("SELECT 1"))
    db.after_commit(lambda: ran.append("kept"))
    with db.session.begin_nested() as savepoint:
        db.after_commit(lambda: ran.append("undone"))
        savepoint.rollback()
    db.commit()
    assert ran == ["kept"]
