"""The Alembic migrations create exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask


def test_models_and_migrations_agree(app: Flask) -> None:
    from core.db import Base, db

    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, Base.metadata)
    assert diff == []
