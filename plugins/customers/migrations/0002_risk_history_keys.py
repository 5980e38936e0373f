"""risk history: an integer key in insertion order, one (project_id, timestamp) index

A batch prediction appends 100,000 points at once; random UUID keys made every one of them
write to a random page of the primary-key index. The points keep their order (by time) and
everything but their key; the key was never exposed.

Revision ID: 0002_risk_history_keys
Revises: 0001_customers
Create Date: 2026-11-24 17:20:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002_risk_history_keys"
down_revision = "0001_customers"
branch_labels = None
depends_on = None

TABLE = "customer_risk_history"
SAVED = "customer_risk_history_saved"
POINT = "project_id, customer_id, score, model_version_id, timestamp"


def _point_columns() -> list[sa.Column]:
    return [
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model_version_id", sa.Uuid(), nullable=True),
        sa.Column("timestamp", core.db.UTCDateTime(timezone=True), nullable=False),
    ]


def _history(id_column: sa.Column, indexes: dict[str, list[str]]) -> None:
    op.create_table(
        TABLE,
        id_column,
        *_point_columns(),
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
    for name, columns in indexes.items():
        op.create_index(name, TABLE, columns, unique=False)


def _save_points() -> None:
    """Copy the points aside and drop the table, so it can be made again under its names."""
    op.create_table(
        SAVED,
        *_point_columns(),
    )
    op.execute(f"INSERT INTO {SAVED} ({POINT}) SELECT {POINT} FROM {TABLE}")
    op.drop_table(TABLE)


def upgrade() -> None:
    _save_points()
    _history(
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        {
            "ix_customer_risk_history_customer_time": ["customer_id", "timestamp"],
            "ix_customer_risk_history_project_time": ["project_id", "timestamp"],
        },
    )
    op.execute(f"INSERT INTO {TABLE} ({POINT}) SELECT {POINT} FROM {SAVED} ORDER BY timestamp")
    op.drop_table(SAVED)


def downgrade() -> None:
    _save_points()
    _history(
        sa.Column("id", sa.Uuid(), nullable=False),
        {
            op.f("ix_customer_risk_history_project_id"): ["project_id"],
            op.f("ix_customer_risk_history_timestamp"): ["timestamp"],
            "ix_customer_risk_history_customer_time": ["customer_id", "timestamp"],
        },
    )
    random_id = (
        "lower(hex(randomblob(16)))"
        if op.get_context().dialect.name == "sqlite"
        else "gen_random_uuid()"
    )
    op.execute(f"INSERT INTO {TABLE} (id, {POINT}) SELECT {random_id}, {POINT} FROM {SAVED}")
    op.drop_table(SAVED)
