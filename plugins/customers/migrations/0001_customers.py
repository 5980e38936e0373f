"""customers tables

Revision ID: 0001_customers
Revises:
Create Date: 2026-11-24 14:10:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0001_customers"
down_revision = None
branch_labels = ("customers",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("tenure", sa.Integer(), nullable=True),
        sa.Column("balance", core.db.Money(), nullable=True),
        sa.Column("products", sa.Integer(), nullable=True),
        sa.Column("credit_card", sa.Boolean(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("salary", core.db.Money(), nullable=True),
        sa.Column("credit_score", sa.Integer(), nullable=True),
        sa.Column("geography", sa.String(length=64), nullable=True),
        sa.Column("gender", sa.String(length=32), nullable=True),
        sa.Column("churned", sa.Boolean(), nullable=True),
        sa.Column("shopify_customer_id", sa.String(length=64), nullable=True),
        sa.Column("whatsapp_phone", sa.String(length=16), nullable=True),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("risk_tier", sa.String(length=8), nullable=True),
        sa.Column("last_updated", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_customers_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("project_id", "email", name=op.f("uq_customers_project_id_email")),
        sa.UniqueConstraint(
            "project_id", "shopify_customer_id", name=op.f("uq_customers_project_id_shopify_customer_id")
        ),
        sa.UniqueConstraint("project_id", "whatsapp_phone", name=op.f("uq_customers_project_id_whatsapp_phone")),
        sa.UniqueConstraint(
            "project_id", "telegram_chat_id", name=op.f("uq_customers_project_id_telegram_chat_id")
        ),
    )
    op.create_index(op.f("ix_customers_project_id"), "customers", ["project_id"], unique=False)
    op.create_index(op.f("ix_customers_phone"), "customers", ["phone"], unique=False)
    op.create_index("ix_customers_project_risk", "customers", ["project_id", "risk_score"], unique=False)

    op.create_table(
        "churn_model_versions",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.LargeBinary(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("feature_importance", sa.JSON(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("training_rows", sa.Integer(), nullable=False),
        sa.Column("trained_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_churn_model_versions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_churn_model_versions")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_churn_model_versions_project_id_version")),
    )
    op.create_index(
        op.f("ix_churn_model_versions_project_id"), "churn_model_versions", ["project_id"], unique=False
    )

    op.create_table(
        "customer_risk_history",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model_version_id", sa.Uuid(), nullable=True),
        sa.Column("timestamp", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_risk_history_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["churn_model_versions.id"],
            name=op.f("fk_customer_risk_history_model_version_id_churn_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_customer_risk_history_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_risk_history")),
    )
    op.create_index(
        op.f("ix_customer_risk_history_project_id"), "customer_risk_history", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_customer_risk_history_timestamp"), "customer_risk_history", ["timestamp"], unique=False
    )
    op.create_index(
        "ix_customer_risk_history_customer_time",
        "customer_risk_history",
        ["customer_id", "timestamp"],
        unique=False,
    )

    op.create_table(
        "customer_alerts",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("alert_type", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=False),
        sa.Column("was_sent", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_alerts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_customer_alerts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_alerts")),
    )
    op.create_index(op.f("ix_customer_alerts_customer_id"), "customer_alerts", ["customer_id"], unique=False)
    op.create_index(op.f("ix_customer_alerts_created_at"), "customer_alerts", ["created_at"], unique=False)
    op.create_index(op.f("ix_customer_alerts_project_id"), "customer_alerts", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_table("customer_alerts")
    op.drop_table("customer_risk_history")
    op.drop_table("churn_model_versions")
    op.drop_table("customers")
