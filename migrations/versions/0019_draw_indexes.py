"""awards, payouts: three index writes fewer per win

Revision ID: 0019_draw_indexes
Revises: 0018_claim_raced
Create Date: 2026-11-30 09:30:00

A winning scan writes a draw, an award and a payout with every index on them. Three of those
indexes said nothing the others do not: ``ix_awards_brand_id`` and ``ix_payouts_brand_id`` are
prefixes of the export indexes (``brand_id, tx_seq, id``), and ``uq_payouts_award_id`` repeats
the primary key, a payout's id being its award's (``campaigns.payouts.payout_row``, the only
maker of payout rows); a CHECK now holds that, so one award still has at most one payout.
"""

from alembic import op

revision = '0019_draw_indexes'
down_revision = '0018_claim_raced'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awards_brand_id'))
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payouts_brand_id'))
        batch_op.drop_constraint(batch_op.f('uq_payouts_award_id'), type_='unique')
        batch_op.create_check_constraint(batch_op.f('ck_payouts_its_awards'), 'id = award_id')


def downgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payouts_its_awards'), type_='check')
        batch_op.create_unique_constraint(batch_op.f('uq_payouts_award_id'), ['award_id'])
        batch_op.create_index(batch_op.f('ix_payouts_brand_id'), ['brand_id'], unique=False)
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awards_brand_id'), ['brand_id'], unique=False)
