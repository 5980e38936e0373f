"""reports tables

Revision ID: 0001_reports
Revises:
"""

import core.db
import sqlalchemy as sa
from alembic import op

revision = "0001_reports"
down_revision = None
branch_labels = ("reports",)
# Reports belong to a project and may name their author (core).
depends_on = ("0001_core",)


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        sa.Column("report_type", sa.String(length=40), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("next_run_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_report_schedules_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_report_schedules_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    with op.batch_alter_table("report_schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_schedules_next_run_at"), ["next_run_at"])
        batch_op.create_index(batch_op.f("ix_report_schedules_project_id"), ["project_id"])

    op.create_table(
        "reports",
        sa.Column("report_type", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("generated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("schedule_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_reports_end_not_before_start")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_reports_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_reports_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["report_schedules.id"],
            name=op.f("fk_reports_schedule_id_report_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_project_id_generated_at", ["project_id", "generated_at"]
        )
        batch_op.create_index(batch_op.f("ix_reports_project_id"), ["project_id"])
        batch_op.create_index(batch_op.f("ix_reports_schedule_id"), ["schedule_id"])


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_reports_project_id"))
        batch_op.drop_index("ix_reports_project_id_generated_at")
    op.drop_table("reports")
    with op.batch_alter_table("report_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_schedules_project_id"))
        batch_op.drop_index(batch_op.f("ix_report_schedules_next_run_at"))
    op.drop_table("report_schedules")
