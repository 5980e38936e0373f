"""memberships tables

Revision ID: 0001_memberships
Revises:
"""

import core.db
import sqlalchemy as sa
from alembic import op

revision = "0001_memberships"
down_revision = None
branch_labels = ("memberships",)
# Memberships belong to a project (core) and to a customer (the customers plugin).
depends_on = ("0001_core", "0001_customers")


def upgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("start_period", sa.Date(), nullable=False),
        sa.Column("end_period", sa.Date(), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=False),
        sa.Column("expired_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_period > start_period", name=op.f("ck_memberships_end_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_memberships_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_memberships_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_customer_id"), ["customer_id"])
        batch_op.create_index(batch_op.f("ix_memberships_project_id"), ["project_id"])

    op.create_table(
        "membership_tiers",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_membership_tiers_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_tiers")),
        sa.UniqueConstraint(
            "project_id", "name", name=op.f("uq_membership_tiers_project_id_name")
        ),
    )
    with op.batch_alter_table("membership_tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_tiers_project_id"), ["project_id"])


def downgrade() -> None:
    with op.batch_alter_table("membership_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_tiers_project_id"))
    op.drop_table("membership_tiers")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_project_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_customer_id"))
    op.drop_table("memberships")
