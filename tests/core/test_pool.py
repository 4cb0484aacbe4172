"""The PostgreSQL pool pings only connections that sat idle (``core.db.build_engine``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.realservices


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, list[int]]]:
    from core.db import build_engine

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


def test_a_connection_just_checked_in_is_not_pinged(engine: tuple[Engine, list[int]]) -> None:
    e, pings = engine
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
