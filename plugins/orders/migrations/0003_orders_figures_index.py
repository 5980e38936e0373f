"""orders: the date index also holds refunds and the test and deleted flags, so that revenue
and order counts over a date range (net of refunds, test and deleted orders left out) are read
from the index alone

Revision ID: 0003_orders_figures_index
Revises: 0002_orders_provider_figures
"""

from alembic import op

revision = "0003_orders_figures_index"
down_revision = "0002_orders_provider_figures"
branch_labels = None
depends_on = None

INDEX = "ix_orders_project_id_order_date"
COLUMNS = ["project_id", "order_date", "status", "total"]
FIGURE_COLUMNS = ["refunded", "is_test", "deleted_at"]


def upgrade() -> None:
    op.drop_index(INDEX, table_name="orders")
    op.create_index(INDEX, "orders", COLUMNS + FIGURE_COLUMNS)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="orders")
    op.create_index(INDEX, "orders", COLUMNS)
