"""exports: commit-safe export keys on exported tables, the audit log

Revision ID: 0014_exports
Revises: 0017_channel2
Create Date: 2026-11-30 05:40:00

Every exported table gets ``tx_seq``, the number of the transaction that last wrote the row,
indexed with ``(brand_id, tx_seq, id)``:

- PostgreSQL: ``pg_current_xact_id()`` (xid8, as bigint) by default on insert and by a
  ``BEFORE UPDATE`` trigger on update. Existing rows get 0 (instant: a constant default is
  metadata only), so they come first. An export page only returns rows whose transaction is
  below its snapshot's xmin (see ``exports/service.py``).
- SQLite: 0 by default, then ``AFTER INSERT`` / ``AFTER UPDATE`` triggers stamp the next value
  of the one-row ``export_clock`` (SQLite runs one writer at a time: the counter is in commit
  order).

``audit_log`` is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE.
"""

import sqlalchemy as sa
from alembic import op


revision = '0014_exports'
down_revision = '0017_channel2'
branch_labels = None
depends_on = None

TABLES = (
    'scan_events', 'awards', 'payouts', 'points_entries', 'channel_events', 'fraud_decisions',
    'feedback',
)
XID = "(pg_current_xact_id()::text::bigint)"


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _create_audit_log() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('brand_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('tx_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_audit_log_brand_id_brands')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_audit_log_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_brand_action_at', 'audit_log', ['brand_id', 'action', 'at'], unique=False)
    op.create_index('ix_audit_log_brand_at', 'audit_log', ['brand_id', 'at'], unique=False)
    op.create_index('ix_audit_log_brand_staff_at', 'audit_log', ['brand_id', 'staff_id', 'at'], unique=False)
    op.create_index('ix_audit_log_export', 'audit_log', ['brand_id', 'tx_seq', 'id'], unique=False)
    op.create_table('export_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_clock'))
    )
    op.execute("INSERT INTO export_clock (id, value) VALUES (1, 0)")


def _postgres_keys() -> None:
    op.execute(
        "CREATE FUNCTION export_restamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.tx_seq := {XID}; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    for table in (*TABLES, 'audit_log'):
        op.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS tx_seq bigint NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN tx_seq SET DEFAULT {XID}")
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_export_restamp BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION export_restamp()"
        )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )


def _sqlite_stamp(table: str) -> str:
    return (
        "BEGIN UPDATE export_clock SET value = value + 1 WHERE id = 1; "
        f"UPDATE {table} SET tx_seq = (SELECT value FROM export_clock WHERE id = 1) "
        "WHERE rowid = NEW.rowid; END"
    )


def _sqlite_keys() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN tx_seq BIGINT NOT NULL DEFAULT 0")
    for table in (*TABLES, 'audit_log'):
        op.execute(
            f"CREATE TRIGGER {table}_export_insert AFTER INSERT ON {table} " + _sqlite_stamp(table)
        )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_export_update AFTER UPDATE ON {table} "
            "WHEN NEW.tx_seq = OLD.tx_seq " + _sqlite_stamp(table)
        )


def upgrade() -> None:
    _create_audit_log()
    if _postgres():
        _postgres_keys()
    else:
        _sqlite_keys()
    for table in TABLES:
        op.create_index(f'ix_{table}_export', table, ['brand_id', 'tx_seq', 'id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f'ix_{table}_export', table_name=table)
        if _postgres():
            op.execute(f"DROP TRIGGER {table}_export_restamp ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_export_insert")
            op.execute(f"DROP TRIGGER {table}_export_update")
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('tx_seq')
    op.drop_table('export_clock')
    op.drop_table('audit_log')
    if _postgres():
        op.execute("DROP FUNCTION audit_log_append_only()")
        op.execute("DROP FUNCTION export_restamp()")
