"""messages: message types, media references, chosen options, replies, group chats, edits
and the reasons a delivery was skipped

Revision ID: 0003_messages_types_media_edits
Revises: 0002_messages_processing
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003_messages_types_media_edits"
down_revision = "0002_messages_processing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reply_option", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("chat_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chat_title", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("edited_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("edit_history", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_index(
            "ix_messages_project_id_chat_id", ["project_id", "chat_id"], unique=False
        )
    with op.batch_alter_table("inbound_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("skip_reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    # The defaults only filled the existing rows; new ones get theirs from the models.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("edit_history", server_default=None)
    with op.batch_alter_table("inbound_deliveries", schema=None) as batch_op:
        batch_op.alter_column("skip_reasons", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("inbound_deliveries", schema=None) as batch_op:
        batch_op.drop_column("skip_reasons")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_project_id_chat_id")
        for column in (
            "edit_history",
            "edited_at",
            "chat_title",
            "chat_id",
            "details",
            "in_reply_to",
            "reply_option",
            "media",
        ):
            batch_op.drop_column(column)
