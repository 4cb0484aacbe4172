"""scan_rollup_days: the scan rollups without the hour, what reports but group_by=hour read

Revision ID: 0017_rollup_days
Revises: 0016_segments
Create Date: 2026-11-30 06:30:00

Filled from ``scan_rollups`` (summed over the hours); kept by the write-behind and the rebuild
sweep from then on.
"""

import sqlalchemy as sa
from alembic import op

revision = '0017_rollup_days'
down_revision = '0016_segments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scan_rollup_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('province', sa.String(length=50), nullable=False),
    sa.Column('city', sa.String(length=50), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('scans', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_scan_rollup_days_brand_id_brands')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_scan_rollup_days_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_rollup_days'))
    )
    with op.batch_alter_table('scan_rollup_days', schema=None) as batch_op:
        batch_op.create_index('uq_scan_rollup_days_key', ['brand_id', 'day', 'product_id', 'province', 'city', 'verdict'], unique=True)
    op.execute(
        "INSERT INTO scan_rollup_days (brand_id, day, product_id, province, city, verdict, scans) "
        "SELECT brand_id, day, product_id, province, city, verdict, sum(scans) FROM scan_rollups "
        "GROUP BY brand_id, day, product_id, province, city, verdict"
    )


def downgrade() -> None:
    with op.batch_alter_table('scan_rollup_days', schema=None) as batch_op:
        batch_op.drop_index('uq_scan_rollup_days_key')
    op.drop_table('scan_rollup_days')
