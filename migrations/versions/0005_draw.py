"""draw: each consumer's first drawing code ("new consumers only" decided atomically)

Revision ID: 0005_draw
Revises: 0007_harden
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_draw"
down_revision = "0007_harden"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_first_draws",
        sa.Column("consumer_id", sa.Uuid(), nullable=False),
        sa.Column("brand_id", sa.Uuid(), nullable=False),
        sa.Column("code_key_id", sa.Uuid(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"],
                                name=op.f("fk_campaign_first_draws_brand_id_brands")),
        sa.ForeignKeyConstraint(["code_key_id"], ["code_keys.id"],
                                name=op.f("fk_campaign_first_draws_code_key_id_code_keys")),
        sa.ForeignKeyConstraint(["consumer_id"], ["consumers.id"],
                                name=op.f("fk_campaign_first_draws_consumer_id_consumers")),
        sa.PrimaryKeyConstraint("consumer_id", name=op.f("pk_campaign_first_draws")),
    )


def downgrade() -> None:
    op.drop_table("campaign_first_draws")
