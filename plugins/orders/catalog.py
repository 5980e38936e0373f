"""The catalog: product categories and products, the one place that creates and changes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core.context import Context
from core.db import get_scoped, scoped, utcnow
from core.errors import Conflict, Invalid
from plugins.orders.models import Product, ProductCategory


def create_category(session: Session, ctx: Context, data: dict[str, Any]) -> ProductCategory:
    _check_category_name(session, ctx, data["name"])
    category = ProductCategory(project_id=ctx.project_id, **data)
    session.add(category)
    session.flush()
    return category


def list_categories(ctx: Context) -> Select:
    return scoped(ProductCategory, ctx.project_id).order_by(ProductCategory.name)


def get_category(session: Session, ctx: Context, category_id: uuid.UUID) -> ProductCategory:
    return get_scoped(session, ProductCategory, ctx.project_id, category_id, what="Category")


def update_category(
    session: Session, ctx: Context, category_id: uuid.UUID, changes: dict[str, Any]
) -> ProductCategory:
    category = get_category(session, ctx, category_id)
    if "name" in changes and changes["name"] != category.name:
        _check_category_name(session, ctx, changes["name"])
    for name, value in changes.items():
        setattr(category, name, value)
    session.flush()
    return category


def delete_category(session: Session, ctx: Context, category_id: uuid.UUID) -> None:
    """Delete a category; its products stay, uncategorised."""
    session.delete(get_category(session, ctx, category_id))
    session.flush()


def _check_category_name(session: Session, ctx: Context, name: str) -> None:
    taken = session.scalar(
        select(ProductCategory.id).where(
            ProductCategory.project_id == ctx.project_id, ProductCategory.name == name
        )
    )
    if taken is not None:
        raise Conflict(f"A category named {name!r} already exists")


def create_product(session: Session, ctx: Context, data: dict[str, Any]) -> Product:
    _check_product_fields(session, ctx, data)
    product = Product(project_id=ctx.project_id, **data)
    session.add(product)
    session.flush()
    return product


def list_products(
    ctx: Context,
    *,
    q: str | None = None,
    category_id: uuid.UUID | None = None,
    include_deleted: bool = False,
) -> Select:
    statement = scoped(Product, ctx.project_id)
    if not include_deleted:
        statement = statement.where(Product.deleted_at.is_(None))
    if category_id is not None:
        statement = statement.where(Product.category_id == category_id)
    if q:
        pattern = contains_pattern(q)
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    return statement.order_by(Product.name, Product.id)


def get_product(session: Session, ctx: Context, product_id: uuid.UUID) -> Product:
    return get_scoped(session, Product, ctx.project_id, product_id, what="Product")


def update_product(
    session: Session, ctx: Context, product_id: uuid.UUID, changes: dict[str, Any]
) -> Product:
    product = get_product(session, ctx, product_id)
    if product.deleted:
        raise Conflict(f"Product {product.name!r} is deleted")
    changes = {name: value for name, value in changes.items() if name != "updated_at"}
    _check_product_fields(session, ctx, changes, product)
    for name, value in changes.items():
        setattr(product, name, value)
    session.flush()
    return product


def delete_product(session: Session, ctx: Context, product_id: uuid.UUID) -> None:
    """Soft delete: the product leaves the catalog, past orders keep pointing at it."""
    product = get_product(session, ctx, product_id)
    if product.deleted_at is None:
        product.deleted_at = utcnow()
    session.flush()


def _check_product_fields(
    session: Session, ctx: Context, data: dict[str, Any], product: Product | None = None
) -> None:
    if data.get("category_id") is not None:
        category = session.get(ProductCategory, data["category_id"])
        if category is None or category.project_id != ctx.project_id:
            raise Invalid(errors={"category_id": [f"Unknown category {data['category_id']}"]})
    sku = data.get("sku")
    if sku is not None and (product is None or product.sku != sku):
        taken = session.scalar(
            select(Product.id).where(Product.project_id == ctx.project_id, Product.sku == sku)
        )
        if taken is not None:
            raise Conflict(f"A product with SKU {sku!r} already exists")


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escaped with a backslash) for values holding ``text`` as typed."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def product_ids_by_name(
    session: Session, ctx: Context, names: Iterable[str]
) -> dict[str, uuid.UUID]:
    """The catalog product each name is (a product in the catalog before a deleted one, then
    the oldest): order lines keep their product's name, figures group by it."""
    wanted = set(names)
    if not wanted:
        return {}
    rows = session.execute(
        select(Product.name, Product.id)
        .where(Product.project_id == ctx.project_id, Product.name.in_(wanted))
        .order_by(Product.deleted_at.is_not(None), Product.created_at)
    ).all()
    ids: dict[str, uuid.UUID] = {}
    for name, product_id in rows:
        ids.setdefault(name, product_id)
    return ids
