"""claim_raced(): how the one-statement claim undoes itself when a concurrent first win raced it

Revision ID: 0018_claim_raced
Revises: 0014_exports
Create Date: 2026-11-30 09:30:00

The claim of a win (``campaigns.claim_sql``) runs as a transaction of its own when it is the
scan's only write. In the one race it cannot settle inside the statement (two first wins of one
consumer in one campaign at once, the second refused by a per-consumer limit after its draw row
was written as won) it calls this function, which fails the statement with SQLSTATE 40001
(serialization_failure): nothing of it is kept, and the caller runs it again, now seeing the
other win. PostgreSQL only: the embedded database claims in a savepoint.
"""

from alembic import op

revision = '0018_claim_raced'
down_revision = '0014_exports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        "CREATE FUNCTION claim_raced() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'claim raced a concurrent first win of the consumer' "
        "USING ERRCODE = 'serialization_failure'; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP FUNCTION claim_raced()")
