"""Orders (seed 000 orders, seed 003 transactions, seed 004 carts), their items and the catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, IdMixin, ProjectScoped, TimestampMixin, utcnow

ORDER_STATUSES = ("pending", "paid", "fulfilled", "cancelled", "refunded")
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "fulfilled", "cancelled"}),
    "paid": frozenset({"fulfilled", "cancelled", "refunded"}),
    "fulfilled": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
NON_REVENUE_STATUSES = ("cancelled", "refunded")
"""Orders in these statuses count as orders but bring no revenue."""
MAX_STOCK_WARNING = 1000


def counted_in_figures() -> list[Any]:
    """The conditions every figure (revenue, order counts, best sellers) puts on orders: test
    orders and orders deleted at their provider are kept but counted nowhere."""
    return [Order.is_test.is_(False), Order.deleted_at.is_(None)]


class ProductCategory(IdMixin, ProjectScoped, TimestampMixin, Base):
    __tablename__ = "product_categories"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")


class Product(IdMixin, ProjectScoped, TimestampMixin, Base):
    """A catalog product; deleting it only sets ``deleted_at`` so past orders keep their link."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("project_id", "sku"),
        Index("ix_products_project_id_name", "project_id", "name"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product_categories.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(2000), default="")
    price: Mapped[Decimal]
    stock: Mapped[int] = mapped_column(default=0)
    deleted_at: Mapped[datetime | None]

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class OrderCounter(Base):
    """The last order number handed out in a project, whose row lock serialises numbering,
    and the project's number of orders, kept by triggers on ``orders`` (migration 0004)."""

    __tablename__ = "order_counters"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)
    order_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Order(IdMixin, ProjectScoped, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        UniqueConstraint("project_id", "provider", "external_id"),
        UniqueConstraint("project_id", "idempotency_key"),
        # Every column revenue and order counts over a date range read: such a range is read
        # from the index alone, never from the table's rows (PostgreSQL: index-only scan).
        Index(
            "ix_orders_project_id_order_date",
            "project_id",
            "order_date",
            "status",
            "total",
            "refunded",
            "is_test",
            "deleted_at",
        ),
        Index("ix_orders_project_id_status_order_date", "project_id", "status", "order_date"),
        CheckConstraint("total >= 0", name="total_not_negative"),
    )

    number: Mapped[int]
    external_id: Mapped[str | None] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(32), default="manual")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    table_number: Mapped[int | None]
    membership_id: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    order_date: Mapped[datetime] = mapped_column(default=utcnow)
    fulfilled_date: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # The provider's own breakdown, in ``currency`` (the shop's); None for local orders.
    subtotal: Mapped[Decimal | None]
    tax: Mapped[Decimal | None]
    shipping: Mapped[Decimal | None]
    discounts: Mapped[Decimal | None]
    refunded: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    # What the buyer saw when they paid in another currency than the shop's.
    presentment_currency: Mapped[str | None] = mapped_column(String(3))
    presentment_total: Mapped[Decimal | None]
    is_test: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None]
    provider_updated_at: Mapped[datetime | None]
    stock_warning: Mapped[str | None] = mapped_column(String(MAX_STOCK_WARNING))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OrderItem.position",
    )

    @property
    def net_total(self) -> Decimal:
        """What the order brings once refunds are taken off."""
        return self.total - self.refunded

    @property
    def customer(self) -> dict[str, str | None]:
        return {
            "name": self.customer_name,
            "email": self.customer_email,
            "phone": self.customer_phone,
        }


class OrderItem(IdMixin, ProjectScoped, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_order_items_project_id_name", "project_id", "name"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal]
    line_total: Mapped[Decimal]
    stock_taken: Mapped[bool] = mapped_column(default=True)
    """False when the line's product was short (a provider's order) or its stock went back."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="items")
