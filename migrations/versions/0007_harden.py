"""a GTIN belongs to one brand in a deployment

Revision ID: 0007_harden
Revises: 0008_provenance
Create Date: 2026-11-30 02:20:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0007_harden'
down_revision = '0008_provenance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    shared = op.get_bind().execute(sa.text(
        "SELECT gtin FROM products GROUP BY gtin HAVING COUNT(DISTINCT brand_id) > 1 LIMIT 5"
    )).scalars().all()
    if shared:
        raise RuntimeError(
            "These GTINs are registered by more than one brand; a GTIN belongs to one brand "
            f"(GS1 company prefix). Resolve them before upgrading: {', '.join(shared)}"
        )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_products_brand_id_gtin'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_products_gtin'), ['gtin'])


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_products_gtin'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_products_brand_id_gtin'), ['brand_id', 'gtin']
        )
