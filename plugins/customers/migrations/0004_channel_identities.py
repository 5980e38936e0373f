"""customer channel identities: a third-party connector's senders become customers too

Customers knew only the Shopify, WhatsApp and Telegram ids (a column each), so every message
from another connector's messenger failed to find or create its customer. Other channels'
ids live in their own table, one row per (project, channel, identity).

Revision ID: 0004_channel_identities
Revises: 0003_risk_history_batches
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_channel_identities"
down_revision = "0003_risk_history_batches"
branch_labels = None
depends_on = None

TABLE = "customer_channel_identities"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "channel", "identity"),
    )
    op.create_index(f"ix_{TABLE}_customer_id", TABLE, ["customer_id"])
    op.create_index(f"ix_{TABLE}_project_id", TABLE, ["project_id"])


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_project_id", table_name=TABLE)
    op.drop_index(f"ix_{TABLE}_customer_id", table_name=TABLE)
    op.drop_table(TABLE)
