"""SQLAlchemy 2 setup: declarative base, column types, and the Flask extension.

The extension owns one engine and a session scoped to the Flask application context, so a
request, a CLI command and an RQ job each get their own session. Nothing here commits: the
request/job boundary does (see ``app.py`` and ``workers/job.py``).
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from flask.globals import app_ctx, request_ctx
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    FetchedValue,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    MappedColumn,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from core import txhooks

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention and UTC timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUID (v7 layout): unique, opaque, index-friendly for append-only tables."""
    ms = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62
    value |= rand & (2**62 - 1)
    return uuid.UUID(int=value)


def export_key() -> MappedColumn[int]:
    """The ``tx_seq`` column of an exported table: the number of the transaction that last
    wrote the row, set by the database (a default and an update trigger; see ``exports``).
    Deferred: no ORM read needs it."""
    return mapped_column(
        BigInteger, server_default=FetchedValue(), server_onupdate=FetchedValue(), deferred=True
    )


_scope_override: ContextVar[int | None] = ContextVar("db_session_scope", default=None)


def _session_scope() -> int:
    # A job's own scope, else the request's (a test's request must not share the test's
    # session), else the app context's (CLI commands, tests).
    override = _scope_override.get()
    if override is not None:
        return override
    try:  # one context lookup, not two (this runs a few times per request)
        return id(request_ctx._get_current_object())  # type: ignore[attr-defined]
    except RuntimeError:  # outside a request
        return id(app_ctx._get_current_object()) if app_ctx else 0  # type: ignore[attr-defined]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints work), and take
    # the write lock up front: SQLite allows one writer and read-then-write otherwise deadlocks.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A long read (an export stream) asks for a deferred transaction: in WAL mode it then
    # holds no lock writers wait for.
    reading = conn.get_execution_options().get("sqlite_read_only", False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def resolve_database_url(url: str, root: Path) -> str:
    """Make a relative SQLite path relative to the project root, not the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        path = root / url[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url


#: A pooled connection idle longer than this is pinged before it is used again (the server may
#: have restarted meanwhile); one checked in more recently is trusted, which spares every busy
#: request a round trip. A connection that died anyway fails its request, and SQLAlchemy then
#: invalidates every older connection of the pool, so the next checkouts reconnect.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN = "core.db.checked_in"


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN)  # None: a new connection, no need
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc  # pool retries

    return checkout


def build_engine(url: str, **options: Any) -> Engine:
    """An engine with the per-backend settings this project relies on."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            options.setdefault("poolclass", StaticPool)
        options.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options.setdefault("pool_size", int(os.environ.get("DB_POOL_SIZE", "10")))
    options.setdefault("max_overflow", 20)
    engine = create_engine(url, **options)
    if not options.get("pool_pre_ping"):  # else SQLAlchemy pings at every checkout
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def _first_row(driver: Any, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    with driver.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone() if cursor.description is not None else None
    return tuple(row) if row is not None else None


#: ``session.info`` key: the session's current transaction has used a connection.
_TOUCHED = "core.db.touched"


def _began(session: Any, _transaction: Any, _connection: Any) -> None:
    session.info[_TOUCHED] = True


def _ended(session: Any, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)


class Database:
    """The Flask extension: ``db.session`` is scoped to the current app context."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory = sessionmaker(expire_on_commit=False)
        self.session = scoped_session(self.session_factory, scopefunc=_session_scope)
        #: ``after_commit`` callbacks of units of work without a session, by scope.
        self._after: dict[int, list[Callable[[], None]]] = {}
        event.listen(self.session_factory, "after_begin", _began)
        event.listen(self.session_factory, "after_transaction_end", _ended)

    def init_app(self, app: Flask) -> None:
        """Create the engine from ``SQLALCHEMY_DATABASE_URI`` and register teardown and CLI."""
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.engine = build_engine(url, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        self.session_factory.configure(bind=self.engine)
        engine = self.engine
        # A forked child (RQ work-horse, gunicorn worker) must not reuse the parent's sockets.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        app.extensions["db"] = self
        app.teardown_request(self._remove_session)
        app.teardown_appcontext(self._remove_session)
        from core.dbcli import db_cli

        app.cli.add_command(db_cli)

    def _remove_session(self, _exc: BaseException | None) -> None:
        self._after.pop(_session_scope(), None)  # the unit of work ended without ``commit``
        self.session.remove()

    @contextmanager
    def own_session(self) -> Iterator[None]:
        """Give the enclosed unit of work (a job) a session of its own, removed at the end."""
        marker = object()
        token = _scope_override.set(id(marker))
        try:
            yield
        finally:
            self._remove_session(None)
            _scope_override.reset(token)

    @contextmanager
    def bound_to(self, connection: Connection) -> Iterator[None]:
        """Run sessions inside an outer transaction (tests): commits become savepoints."""
        self.session.remove()
        saved = dict(self.session_factory.kw)
        self.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            self.session.remove()
            self.session_factory.kw.clear()
            self.session_factory.kw.update(saved)

    def insert(self, model: Any) -> Any:
        """An ``INSERT`` for ``model`` in the bound dialect, with ``on_conflict_do_*`` (upserts)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    def in_use(self) -> bool:
        """Whether the current unit of work has a session (it may have queried or written)."""
        return bool(self.session.registry.has())

    def first_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement (``%(name)s`` placeholders) in the session's transaction on
        PostgreSQL, straight on psycopg's cursor, and return its first row (None if it returns
        none): for a hot path's statement that SQLAlchemy's statement machinery would only slow
        down (psycopg still prepares it on the server after a few runs). Not psycopg's pipeline
        mode: there it would wait for the ``BEGIN``, the statement and a sync, three round trips
        for two."""
        connection = self.session.connection()
        driver = connection.connection.driver_connection
        try:
            return _first_row(driver, sql, params)
        except psycopg.Error as exc:
            if connection.dialect.is_disconnect(exc, driver, None):  # type: ignore[arg-type]
                # What SQLAlchemy does for a lost connection when it ran the statement itself:
                # drop it and every pooled one made before it (the server went away).
                connection.invalidate(exc)
                if self.engine is not None:
                    self.engine.dispose(close=False)
            raise

    def untouched(self) -> bool:
        """Whether ``alone_row`` may run now: PostgreSQL, the session bound to the engine (not
        to a test's outer transaction), and the current unit of work has neither used a
        connection nor holds unflushed objects, so a statement committed on its own is the unit
        of work's only write so far and commits nothing else with it or before it."""
        if self.session.registry.has():  # else no session yet: nothing used, nothing pending
            session = self.session()
            if session.info.get(_TOUCHED) or session.new or session.dirty or session.deleted:
                return False
            bind = session.get_bind()
        else:
            bind = self.session_factory.kw.get("bind")
        return isinstance(bind, Engine) and bind.dialect.name == "postgresql"

    def alone_row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement as a transaction of its own and return its first row: one round
        trip (a pooled connection in autocommit: no ``BEGIN``, no ``COMMIT``), so that the
        row locks it takes are held only while PostgreSQL runs it and commits. For a unit of
        work whose only write is this statement (``untouched``); it is committed when this
        returns, whatever the unit of work does next."""
        assert self.engine is not None
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            try:
                return _first_row(driver, sql, params)
            finally:
                if not driver.closed:  # type: ignore[union-attr]
                    driver.autocommit = False  # type: ignore[union-attr]
        except psycopg.Error as exc:
            if self.engine.dialect.is_disconnect(exc, pooled.dbapi_connection, None):  # type: ignore[arg-type]
                pooled.invalidate(exc)
                self.engine.dispose(close=False)
            raise
        finally:
            pooled.close()  # back to the pool

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current unit of work commits (``commit``); never if it
        fails. With a session, the callback follows its transaction (``core.txhooks``: a
        savepoint rolled back drops it). Without one, none is begun for it (that costs a
        request more than the rest of its bookkeeping): the unit of work has written nothing
        through a session, only statements committed on their own (``alone_row``), and
        ``commit`` runs the callback (after the session's commit, if one was begun since);
        ``rollback`` or the end of the unit of work without ``commit`` drops it."""
        if self.session.registry.has():
            txhooks.on_commit(self.session(), callback)
        else:
            self._after.setdefault(_session_scope(), []).append(callback)

    def commit(self) -> None:
        """Commit the current unit of work, rolling back if the commit fails; then run what
        ``after_commit`` kept without a session. Begins no session when there is none."""
        if self.session.registry.has():
            try:
                self.session.commit()
            except BaseException:
                self.rollback()
                raise
        txhooks.run(self._after.pop(_session_scope(), []))

    def rollback(self) -> None:
        """Roll the current unit of work back (if it has a session) and drop what
        ``after_commit`` kept without one."""
        self._after.pop(_session_scope(), None)
        if self.session.registry.has():
            self.session.rollback()


db = Database()
