"""default project: a membership may be its user's default project

Revision ID: 0005_default_project
Revises: 0004_invitations
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_default_project"
down_revision = "0004_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_column("is_default")
