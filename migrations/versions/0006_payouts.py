"""payouts: state machine columns, payout events

Revision ID: 0006_payouts
Revises: 0010_channel
"""

import sqlalchemy as sa
from alembic import op


revision = '0006_payouts'
down_revision = '0010_channel'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('round_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('scene', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('processing_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('provider_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('provider_paid_fen', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('provider_checked_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.alter_column('round', server_default=None)
        batch_op.alter_column('round_attempts', server_default=None)
    op.create_table('payout_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('brand_id', sa.Uuid(), nullable=False),
    sa.Column('payout_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('call', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_payout_events_brand_id_brands')),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_events_payout_id_payouts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_events'))
    )
    op.create_index('ix_payout_events_payout_at', 'payout_events', ['payout_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_payout_events_payout_at', table_name='payout_events')
    op.drop_table('payout_events')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        for name in ('provider_checked_at', 'provider_paid_fen', 'provider_status', 'expires_at',
                     'processing_at', 'scene', 'round_attempts', 'round'):
            batch_op.drop_column(name)
