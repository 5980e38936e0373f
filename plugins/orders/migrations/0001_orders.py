"""orders tables

Revision ID: 0001_orders
Revises:
Create Date: 2026-11-24 14:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0001_orders"
down_revision = None
branch_labels = ("orders",)
depends_on = "0001_customers"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
    ]


def _scoped(table: str) -> list:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=f"fk_{table}_project_id_projects", ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "product_categories",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        *_timestamps(),
        *_scoped("product_categories"),
        sa.UniqueConstraint("project_id", "name", name="uq_product_categories_project_id_name"),
    )
    op.create_index("ix_product_categories_project_id", "product_categories", ["project_id"])

    op.create_table(
        "products",
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("price", core.db.Money(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("deleted_at", core.db.UTCDateTime(timezone=True), nullable=True),
        *_timestamps(),
        *_scoped("products"),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["product_categories.id"],
            name="fk_products_category_id_product_categories",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("project_id", "sku", name="uq_products_project_id_sku"),
        sa.CheckConstraint("stock >= 0", name="ck_products_stock_not_negative"),
    )
    op.create_index("ix_products_project_id", "products", ["project_id"])
    op.create_index("ix_products_category_id", "products", ["category_id"])
    op.create_index("ix_products_project_id_name", "products", ["project_id", "name"])

    op.create_table(
        "order_counters",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name="pk_order_counters"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_order_counters_project_id_projects", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "orders",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_email", sa.String(length=320), nullable=True),
        sa.Column("customer_phone", sa.String(length=40), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("table_number", sa.Integer(), nullable=True),
        sa.Column("membership_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", core.db.Money(), nullable=False),
        sa.Column("order_date", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_date", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        *_timestamps(),
        *_scoped("orders"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_orders_customer_id_customers", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("project_id", "number", name="uq_orders_project_id_number"),
        sa.UniqueConstraint("project_id", "provider", "external_id", name="uq_orders_project_id_provider_external_id"),
        sa.UniqueConstraint("project_id", "idempotency_key", name="uq_orders_project_id_idempotency_key"),
        sa.CheckConstraint("total >= 0", name="ck_orders_total_not_negative"),
    )
    op.create_index("ix_orders_project_id", "orders", ["project_id"])
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_person_id", "orders", ["person_id"])
    op.create_index(
        "ix_orders_project_id_order_date", "orders", ["project_id", "order_date", "status", "total"]
    )
    op.create_index("ix_orders_project_id_status_order_date", "orders", ["project_id", "status", "order_date"])

    op.create_table(
        "order_items",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", core.db.Money(), nullable=False),
        sa.Column("line_total", core.db.Money(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        *_scoped("order_items"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_items_order_id_orders", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_order_items_product_id_products", ondelete="SET NULL"
        ),
        sa.CheckConstraint("quantity > 0", name="ck_order_items_quantity_positive"),
    )
    op.create_index("ix_order_items_project_id", "order_items", ["project_id"])
    op.create_index("ix_order_items_order_id", "order_items", ["order_id"])
    op.create_index("ix_order_items_product_id", "order_items", ["product_id"])
    op.create_index("ix_order_items_project_id_name", "order_items", ["project_id", "name"])


def downgrade() -> None:
    op.drop_table("order_items")
    op.drop_table("orders")
    op.drop_table("order_counters")
    op.drop_table("products")
    op.drop_table("product_categories")
