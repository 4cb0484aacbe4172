"""The PostgreSQL pool pings only connections that sat idle (``core.db.build_engine``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.realservices


@pytest.fixture
def engine(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, list[int]]]:
    from core.db import build_engine  # (``app``: the session's test database exists)

    engine = build_engine(DATABASE_URL, pool_size=1, max_overflow=0)
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield engine, pings
    engine.dispose()


def _pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_connection_just_checked_in_is_not_pinged(
    engine: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    e, pings = engine
    monkeypatch.setattr("core.db.PING_AFTER_IDLE_SECONDS", 60.0)  # however slow the machine
    first = _pid(e)
    assert [_pid(e) for _ in range(5)] == [first] * 5
    assert pings == []  # pool_pre_ping would have pinged five times: a round trip each


def test_an_idle_dead_connection_is_replaced(
    engine: tuple[Engine, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    e, pings = engine
    first = _pid(e)
    dsn = make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as admin:  # the server drops the connection
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    monkeypatch.setattr("core.db.PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long"
    second = _pid(e)
    assert second != first and pings == [1]


def test_first_row_runs_in_the_sessions_transaction(committed: None) -> None:
    """``first_row`` opens the transaction with its statement: a rollback undoes it."""
    from core.db import db

    assert db.first_row("SELECT 1", {}) == (1,)  # the transaction's first statement
    db.session.execute(text("CREATE TEMP TABLE t_first_row (n int) ON COMMIT DROP"))
    assert db.first_row("INSERT INTO t_first_row VALUES (%(n)s) RETURNING n", {"n": 7}) == (7,)
    db.session.rollback()
    assert db.first_row("SELECT to_regclass('pg_temp.t_first_row') IS NULL", {}) == (True,)
    db.session.rollback()


def test_first_row_drops_the_pool_only_when_the_server_went_away(committed: None) -> None:
    from core.db import db

    assert db.engine is not None
    pool = db.engine.pool
    db.session.execute(text("SET LOCAL statement_timeout = 1"))
    with pytest.raises(psycopg.errors.QueryCanceled):  # an OperationalError, not a lost server
        db.first_row("SELECT pg_sleep(1)", {})
    db.session.rollback()
    assert db.engine.pool is pool
    (pid,) = db.first_row("SELECT pg_backend_pid()", {}) or (0,)  # the session keeps it
    dsn = make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        db.first_row("SELECT 1", {})
    db.session.rollback()
    assert db.engine.pool is not pool  # every older connection is dropped
    assert db.first_row("SELECT 1", {}) == (1,)
    db.session.rollback()


def test_untouched_until_the_unit_of_work_uses_a_connection(committed: None) -> None:
    """``alone_row`` may run only while the unit of work has written nothing else."""
    from campaigns.models import Draw
    from core.db import db

    db.session.remove()
    assert db.untouched()
    assert not db.in_use()  # asking made no session (the winning path asks twice per draw)
    db.session.execute(text("SELECT 1"))
    assert not db.untouched()  # a connection is in the transaction now
    db.commit()
    assert db.untouched()
    db.session.add(Draw())  # pending, not flushed: a commit would write it
    assert not db.untouched()
    db.session.rollback()
    assert db.untouched()


def test_untouched_is_false_inside_a_tests_outer_transaction(app: Flask) -> None:
    """Bound to a connection (the rolled-back test transaction), nothing may commit on its own."""
    from core.db import db

    assert not db.untouched()


def test_alone_row_commits_on_its_own_in_one_round_trip(committed: None) -> None:
    from core.db import db

    db.session.execute(text("CREATE TABLE t_alone (n int)"))
    db.commit()
    try:
        assert db.alone_row("INSERT INTO t_alone VALUES (%(n)s) RETURNING n", {"n": 3}) == (3,)
        assert db.alone_row("INSERT INTO t_alone VALUES (%(n)s)", {"n": 4}) is None
        db.session.rollback()  # the unit of work's rollback does not undo them
        assert db.session.execute(text("SELECT sum(n) FROM t_alone")).scalar() == 7
        db.session.rollback()
        # Its pooled connection went back in autocommit off, with no transaction open.
        with db.engine.connect() as conn:  # type: ignore[union-attr]
            driver = conn.connection.driver_connection
            assert driver.autocommit is False  # type: ignore[union-attr]
    finally:
        db.session.rollback()
        db.session.execute(text("DROP TABLE t_alone"))
        db.commit()
