"""orders: the provider's own figures (subtotal, tax, shipping, discounts, refunds,
presentment currency), test and deleted orders, stock conflicts and stock held per line

Revision ID: 0002_orders_provider_figures
Revises: 0001_orders
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002_orders_provider_figures"
down_revision = "0001_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subtotal", core.db.Money(), nullable=True))
        batch_op.add_column(sa.Column("tax", core.db.Money(), nullable=True))
        batch_op.add_column(sa.Column("shipping", core.db.Money(), nullable=True))
        batch_op.add_column(sa.Column("discounts", core.db.Money(), nullable=True))
        batch_op.add_column(
            sa.Column("refunded", core.db.Money(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("presentment_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("presentment_total", core.db.Money(), nullable=True))
        batch_op.add_column(
            sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("deleted_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("provider_updated_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("stock_warning", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stock_taken", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    # The defaults only filled the existing rows; new ones get theirs from the models.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("refunded", server_default=None)
        batch_op.alter_column("is_test", server_default=None)
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.alter_column("stock_taken", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_column("stock_taken")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for column in (
            "stock_warning",
            "provider_updated_at",
            "deleted_at",
            "is_test",
            "presentment_total",
            "presentment_currency",
            "refunded",
            "discounts",
            "shipping",
            "tax",
            "subtotal",
        ):
            batch_op.drop_column(column)
