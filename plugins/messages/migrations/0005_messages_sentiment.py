"""messages: the sentiment of customers' messages (a compound score and its label)

Existing rows stay empty until ``nebulo messages score-sentiment`` (or its job) scores them.

Revision ID: 0005_messages_sentiment
Revises: 0004_messages_bot_templates
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_messages_sentiment"
down_revision = "0004_messages_bot_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("sentiment", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sentiment")
        batch_op.drop_column("sentiment_score")
