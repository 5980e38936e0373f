"""analytics tables: the sales forecast, its days, segmentation runs and customers' segments

Revision ID: 0001_analytics
Revises:
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = "0001_analytics"
down_revision = None
branch_labels = ("analytics",)
# The tables belong to projects (core).
depends_on = ("0001_core",)


def upgrade() -> None:
    op.create_table(
        "sales_forecast_days",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revenue", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("low_80", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("high_80", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("low_95", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("high_95", core.db.Money(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_sales_forecast_days_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "starts_at", name=op.f("pk_sales_forecast_days")),
    )
    op.create_table(
        "sales_forecasts",
        sa.Column("model_name", sa.String(length=40), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("backtest", sa.JSON(), nullable=False),
        sa.Column("history_start", sa.Date(), nullable=False),
        sa.Column("history_end", sa.Date(), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("fitted_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stale_since", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refit_queued_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_sales_forecasts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_forecasts")),
        sa.UniqueConstraint("project_id", name=op.f("uq_sales_forecasts_project_id")),
    )
    with op.batch_alter_table("sales_forecasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_forecasts_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "segment_runs",
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_segment_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_runs")),
    )
    with op.batch_alter_table("segment_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_runs_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "ix_segment_runs_project_id_created_at", ["project_id", "created_at"], unique=False
        )

    op.create_table(
        "customer_segments",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", core.db.Money(precision=14, scale=2), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_customer_segments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["segment_runs.id"],
            name=op.f("fk_customer_segments_run_id_segment_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "customer_name", name=op.f("pk_customer_segments")),
    )
    with op.batch_alter_table("customer_segments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_segments_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_segments_project_id"))

    op.drop_table("customer_segments")
    with op.batch_alter_table("segment_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_runs_project_id_created_at")
        batch_op.drop_index(batch_op.f("ix_segment_runs_project_id"))

    op.drop_table("segment_runs")
    with op.batch_alter_table("sales_forecasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_forecasts_project_id"))

    op.drop_table("sales_forecasts")
    op.drop_table("sales_forecast_days")
