"""segments: the profile row's lists (provinces, cities, products, categories, interests)
and each segment's counts as of its last refresh

Revision ID: 0016_segments
Revises: 0015_webhooks
Create Date: 2026-11-30 05:40:00

Five list columns on ``consumer_profiles`` (PostgreSQL ``text[]`` with GIN indexes, JSON on
SQLite), backfilled from the narrow tables, so a segment is one pass over one row per consumer.
The server default only serves existing rows; the application always writes the lists.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016_segments'
down_revision = '0015_webhooks'
branch_labels = None
depends_on = None

COLUMNS = ("provinces", "cities", "product_ids", "categories", "interests")

#: column -> (narrow table, value expression, extra condition)
SOURCES = {
    "provinces": ("profile_cities", "province", "province <> ''"),
    "cities": ("profile_cities", "city", "city <> ''"),
    "product_ids": ("profile_products", "product_id", "true"),
    "categories": ("profile_products", "category", "category <> ''"),
    "interests": ("profile_interests", "interest", "true"),
}


def _backfill(postgres: bool) -> None:
    sets = []
    for column, (table, value, where) in SOURCES.items():
        if postgres:
            value = f"{value}::text" if column == "product_ids" else value
            sets.append(
                f"{column} = array(SELECT DISTINCT {value} FROM {table} t WHERE "
                f"t.consumer_id = consumer_profiles.consumer_id AND {where} ORDER BY 1)"
            )
        else:
            sets.append(
                f"{column} = (SELECT json_group_array(DISTINCT {value}) FROM {table} t "
                f"WHERE t.consumer_id = consumer_profiles.consumer_id AND {where})"
            )
    op.execute(f"UPDATE consumer_profiles SET {', '.join(sets)}")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    kind = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
    default = sa.text("'{}'") if postgres else sa.text("'[]'")
    with op.batch_alter_table('consumer_profiles', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, kind, nullable=False, server_default=default))
    _backfill(postgres)
    with op.batch_alter_table('consumer_profiles', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.create_index(
                f'ix_consumer_profiles_{column}', [column], unique=False, postgresql_using='gin'
            )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('counted_at')
        batch_op.drop_column('counts')
    with op.batch_alter_table('consumer_profiles', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.drop_index(f'ix_consumer_profiles_{column}', postgresql_using='gin')
        for column in COLUMNS:
            batch_op.drop_column(column)
