"""persons: one background rebuild of the ANN graph per project

Revision ID: 0003_person_index_builds
Revises: 0002_person_summaries
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003_person_index_builds"
down_revision = "0002_person_summaries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_index_builds",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_person_index_builds_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_person_index_builds")),
    )


def downgrade() -> None:
    op.drop_table("person_index_builds")
