"""messages: the drain job that processes an integration's webhook deliveries

Revision ID: 0002_messages_processing
Revises: 0001_messages
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_messages_processing"
down_revision = "0001_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processing_job_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_column("processing_job_id")
