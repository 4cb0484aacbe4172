"""claim_not_won(): how the short claim of a win gives way to the full one

Revision ID: 0020_claim_not_won
Revises: 0019_draw_indexes
Create Date: 2026-11-30 15:10:00

A winning scan whose claim is its only write first runs the short claim
(``campaigns.claim_sql.WIN``): guarded updates straight on the campaign and tier rows, the
consumer's counters, then the draw, award and payout, each step only if the one before it took.
When a step does not take (the budget, the tier, a limit, the version, the window, or the code
already drawn) it calls this function, which fails the statement with SQLSTATE P0002
(no_data_found): nothing of it is kept, and the caller runs the full claim, which decides and
records why. PostgreSQL only: the embedded database claims in a savepoint.
"""

from alembic import op

revision = '0020_claim_not_won'
down_revision = '0019_draw_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        "CREATE FUNCTION claim_not_won() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'the claim did not win as drawn: the full claim decides' "
        "USING ERRCODE = 'no_data_found'; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP FUNCTION claim_not_won()")
