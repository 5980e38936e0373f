"""persons: cached ai_summary per person

Revision ID: 0002_person_summaries
Revises: 0001_persons
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002_person_summaries"
down_revision = "0001_persons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_summaries",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("facts_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_person_summaries_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_summaries")),
    )


def downgrade() -> None:
    op.drop_table("person_summaries")
