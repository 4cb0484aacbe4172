"""channel: indexes for "is this code batch in the channel?" (the verdict's channel notes)

Revision ID: 0017_channel2
Revises: 0017_rollup_days
Create Date: 2026-11-30 06:45:00

``channel.verdictnotes`` asks, once a minute per batch and process, from the scan path, whether
any unit of a batch was packed or scanned in the channel: without these, the answer "no" for a
brand that uses the channel reads every one of its links.
"""

from alembic import op

revision = '0017_channel2'
down_revision = '0017_rollup_days'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('aggregations', schema=None) as batch_op:
        batch_op.create_index('ix_aggregations_child_batch', ['brand_id', 'child_batch_id'],
                              unique=False)
    with op.batch_alter_table('channel_events', schema=None) as batch_op:
        batch_op.create_index('ix_channel_events_batch', ['brand_id', 'code_batch_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_events', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_events_batch')
    with op.batch_alter_table('aggregations', schema=None) as batch_op:
        batch_op.drop_index('ix_aggregations_child_batch')
