"""messages: customer conversations (the WhatsApp window, handoffs, bot outcomes), WhatsApp
message templates, the bot's settings and the provider webhook's registration state

Revision ID: 0004_messages_bot_templates
Revises: 0003_messages_types_media_edits
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004_messages_bot_templates"
down_revision = "0003_messages_types_media_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_conversations",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handed_off_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        sa.Column("handoff_note", sa.String(length=500), nullable=True),
        sa.Column("handoff_count", sa.Integer(), nullable=False),
        sa.Column("first_response_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_responder", sa.String(length=8), nullable=True),
        sa.Column("bot_replies", sa.Integer(), nullable=False),
        sa.Column("human_replies", sa.Integer(), nullable=False),
        sa.Column("out_of_hours_replied_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopened_from_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_channel_conversations_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_channel_conversations_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_channel_conversations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reopened_from_id"],
            ["channel_conversations.id"],
            name=op.f("fk_channel_conversations_reopened_from_id_channel_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_conversations")),
    )
    with op.batch_alter_table("channel_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_channel_conversations_contact",
            ["integration_id", "contact", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_channel_conversations_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_channel_conversations_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "ix_channel_conversations_project_opened", ["project_id", "opened_at"], unique=False
        )

    op.create_table(
        "message_templates",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("provider_template_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("rejected_reason", sa.String(length=200), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("synced_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_message_templates_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_message_templates_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint(
            "integration_id",
            "name",
            "language",
            name=op.f("uq_message_templates_integration_id_name_language"),
        ),
    )
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_templates_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_templates_project_id"), ["project_id"], unique=False
        )

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bot_settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(
            sa.Column("webhook_state", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_messages_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_conversation_id_channel_conversations"),
            "channel_conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # The defaults only filled the existing rows; new ones get theirs from the models.
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.alter_column("bot_settings", server_default=None)
        batch_op.alter_column("webhook_state", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_conversation_id_channel_conversations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id"))
        batch_op.drop_column("conversation_id")

    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_column("webhook_state")
        batch_op.drop_column("bot_settings")

    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_templates_project_id"))
        batch_op.drop_index(batch_op.f("ix_message_templates_integration_id"))

    op.drop_table("message_templates")
    with op.batch_alter_table("channel_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_conversations_project_opened")
        batch_op.drop_index(batch_op.f("ix_channel_conversations_project_id"))
        batch_op.drop_index(batch_op.f("ix_channel_conversations_customer_id"))
        batch_op.drop_index("ix_channel_conversations_contact")

    op.drop_table("channel_conversations")
