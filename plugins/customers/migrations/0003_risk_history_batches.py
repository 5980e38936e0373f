"""risk history: a batch prediction's points carry its job id, unique per customer

A batch prediction retried after a lost worker scored every customer again and doubled their
history. The key lets a retry skip the customers its batch already scored and forbids a
second point. Existing points belong to no batch (NULL is never a duplicate).

Revision ID: 0003_risk_history_batches
Revises: 0002_risk_history_keys
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_risk_history_batches"
down_revision = "0002_risk_history_keys"
branch_labels = None
depends_on = None

TABLE = "customer_risk_history"
INDEX = "uq_customer_risk_history_batch_customer"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("batch_job_id", sa.Uuid(), nullable=True))
    op.create_index(INDEX, TABLE, ["batch_job_id", "customer_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch_op:
        batch_op.drop_column("batch_job_id")
