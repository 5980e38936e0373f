"""persons tables

Revision ID: 0001_persons
Revises:
Create Date: 2026-11-30 21:40:00
"""
from alembic import op
import sqlalchemy as sa
import core.db


revision = "0001_persons"
down_revision = None
branch_labels = ("persons",)
depends_on = "0001_core"


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=32), nullable=True),
        sa.Column("emotion", sa.String(length=32), nullable=True),
        sa.Column("body_type", sa.String(length=32), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("image_key", sa.String(length=200), nullable=True),
        sa.Column("biometrics_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("entry_time", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_time", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        _project_fk("persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_index(op.f("ix_persons_project_id"), "persons", ["project_id"], unique=False)
    op.create_index(op.f("ix_persons_biometrics_at"), "persons", ["biometrics_at"], unique=False)
    op.create_table(
        "person_visits",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("entry_time", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exit_time", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_returning", sa.Boolean(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=32), nullable=True),
        sa.Column("emotion", sa.String(length=32), nullable=True),
        sa.Column("body_type", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_visits_person_id_persons"), ondelete="CASCADE"
        ),
        _project_fk("person_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_visits")),
    )
    op.create_index(op.f("ix_person_visits_project_id"), "person_visits", ["project_id"], unique=False)
    op.create_index(op.f("ix_person_visits_person_id"), "person_visits", ["person_id"], unique=False)
    op.create_index(
        "ix_person_visits_project_entry", "person_visits", ["project_id", "entry_time"], unique=False
    )
    op.create_table(
        "person_gallery_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        _project_fk("person_gallery_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_gallery_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_person_gallery_changes_project_id_id",
        "person_gallery_changes",
        ["project_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_person_gallery_changes_project_id_created_at",
        "person_gallery_changes",
        ["project_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("person_gallery_changes")
    op.drop_table("person_visits")
    op.drop_table("persons")
