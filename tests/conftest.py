"""Test fixtures: one app and schema per session, one rolled-back transaction per test.

The backend comes from the environment, so the same suite runs embedded (default: SQLite in
memory, in-process Redis) and against the real servers:

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yiwuyima_test \
    TEST_REDIS_URL=redis://127.0.0.1:6379/15 pytest

Tests marked ``realservices`` need PostgreSQL and Redis and are skipped in the embedded run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

pytest_plugins = ["tests.fakewechat.fixtures"]

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://")
REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
REAL_SERVICES = DATABASE_URL.startswith("postgresql") and REDIS_URL is not None
TEST_SECRET = "test-secret-key-not-for-production"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests that need the real servers when the run is embedded."""
    if REAL_SERVICES:
        return
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL")
    for item in items:
        if "realservices" in item.keywords:
            item.add_marker(skip)


def _fresh_postgres_database(url: str) -> None:
    """Drop and recreate the test database so every session starts from an empty schema."""
    import psycopg

    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def test_config(**overrides: Any) -> dict[str, Any]:
    """The configuration every test app uses."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": TEST_SECRET,
        "PUBLIC_BASE_URL": "https://qr.example.test",
        "RATELIMIT_ENABLED": True,
        "WECHAT_TIMEOUT_SECONDS": 1.0,
        "WECHAT_APPID": None,
        "WECHAT_SECRET": None,
        "PAYOUT_PROVIDER": "sandbox",
        **overrides,
    }


@pytest.fixture(scope="session")
def app(fake_wechat_server: Any) -> Iterator[Flask]:
    """The application, with its schema migrated once for the whole session."""
    from app import create_app
    from core.db import db
    from core.dbcli import upgrade

    if DATABASE_URL.startswith("postgresql"):
        _fresh_postgres_database(DATABASE_URL)
    application = create_app(test_config(WECHAT_API_BASE_URL=fake_wechat_server.base_url))
    with application.app_context():
        assert db.engine is not None
        with db.engine.begin() as conn:
            upgrade(connection=conn)
    yield application
    assert db.engine is not None
    db.engine.dispose()


@pytest.fixture(autouse=True)
def _transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test that uses the app in a transaction rolled back at the end."""
    if "app" not in request.fixturenames or "committed" in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    from core.db import db

    assert db.engine is not None
    with application.app_context():
        _flush_redis()
        connection = db.engine.connect()
        outer = connection.begin()
        try:
            with db.bound_to(connection):
                yield
        finally:
            outer.rollback()
            connection.close()


def _flush_redis() -> None:
    """Empty Redis and the in-process caches that mirror the database."""
    from flask import current_app

    from app import init_caches
    from core import behind
    from core.broker import redis_client

    behind.flush()  # an earlier test's writes behind land before, not in this test's Redis
    redis_client().flushdb()
    init_caches(current_app._get_current_object())  # type: ignore[attr-defined]


@pytest.fixture
def committed(app: Flask) -> Iterator[None]:
    """For tests about real commits and concurrency: no outer transaction; tables emptied after."""
    from core.db import Base, db

    with app.app_context():
        _flush_redis()
        yield
        db.session.remove()
        assert db.engine is not None
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # The audit log refuses DELETE (append-only); TRUNCATE is the owner's reset.
                conn.execute(text("TRUNCATE audit_log"))
            for table in reversed(Base.metadata.sorted_tables):
                if table.name != "export_clock":  # its one row is the SQLite export counter
                    conn.execute(text(f'DELETE FROM "{table.name}"'))


@pytest.fixture
def flush_scans() -> Callable[[], int]:
    """Move pending scan events into the database now (embedded mode already did, inline)."""

    def flush() -> int:
        from anticounterfeit.scans import writebehind
        from core.db import db

        total = 0
        while moved := writebehind.flush("tests"):
            db.commit()  # the flusher's unit of work: acknowledged once committed
            total += moved
        return total

    return flush


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def make_brand() -> Callable[..., Any]:
    """Factory: a brand with its owner (returns the owner; ``owner.brand`` is the brand)."""
    from accounts import service

    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, **overrides: Any) -> Any:
        n = next(counter)
        slug = slug or f"brand-{n}"
        owner = service.create_brand(
            slug,
            overrides.pop("name", f"Brand {n}"),
            overrides.pop("owner_email", f"owner@{slug}.test"),
            overrides.pop("owner_password", "correct-horse"),
        )
        if overrides:
            service.update_brand(owner.brand, service.BrandUpdate.of(**overrides))
        return owner

    return make


@pytest.fixture
def make_staff() -> Callable[..., Any]:
    """Factory: a staff user of a brand with a role."""
    from accounts import service
    from accounts.models import Role

    counter = iter(range(1, 10_000))

    def make(brand: Any, role: str = "marketer", **overrides: Any) -> Any:
        n = next(counter)
        email = overrides.pop("email", f"{role}{n}@{brand.slug}.test")
        return service.create_staff(
            brand, email, overrides.pop("password", "correct-horse"), Role(role)
        )

    return make


@pytest.fixture
def bearer() -> Callable[[Any], dict[str, str]]:
    """Authorization headers for a staff user or a consumer."""
    from accounts.models import StaffUser
    from accounts.service import issue_staff_token
    from profiles.service import issue_consumer_token

    def headers(who: Any) -> dict[str, str]:
        token = issue_staff_token(who) if isinstance(who, StaffUser) else issue_consumer_token(who)
        return {"Authorization": f"Bearer {token.access_token}"}

    return headers
