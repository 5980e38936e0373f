"""/api/v1/orders/<project_id>/... and /api/v1/catalog/<project_id>/...: views over services."""

from __future__ import annotations

from uuid import UUID

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, fields, validate

from core.context import project_context
from core.db import get_session
from core.limits import rate_limit
from core.pagination import paginate
from core.schemas import MessageSchema, PageArgs, StrictSchema
from plugins.orders import carts, catalog, services, statistics
from plugins.orders.listing import order_page_json
from plugins.orders.schemas import (
    BulkCartProductsResultSchema,
    BulkCartProductsSchema,
    BulkItemsResultSchema,
    BulkItemsSchema,
    CartCreateSchema,
    CategorySchema,
    CategoryUpdateSchema,
    DailyArgs,
    DaysArgs,
    OrderCreateSchema,
    OrderListArgs,
    OrderSchema,
    OrderUpdateSchema,
    ProductListArgs,
    ProductSchema,
    ProductUpdateSchema,
    RevenueDaySchema,
    SummarySchema,
    TopProductsArgs,
    TopProductSchema,
)

orders_blp = Blueprint(
    "orders", __name__, url_prefix="/orders", description="Orders, transactions and carts"
)
catalog_blp = Blueprint(
    "catalog", __name__, url_prefix="/catalog", description="Product categories and products"
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class IdempotencyHeader(StrictSchema):
    class Meta:
        unknown = EXCLUDE

    idempotency_key = fields.String(
        data_key=IDEMPOTENCY_HEADER,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A retried create with the same key returns the first order"},
    )


@orders_blp.route("/<uuid:project_id>")
class Orders(MethodView):
    # An instance, not the class: webargs would build the schema again on every request of
    # the busiest read
    @orders_blp.arguments(OrderListArgs(), location="query")
    @orders_blp.response(200, OrderSchema(many=True))
    def get(self, args, project_id: UUID):
        """Orders, newest first; filters: status, provider, customer, person, days, dates, text."""
        ctx = project_context(project_id, "view_order")
        return current_app.response_class(
            order_page_json(get_session(), ctx, args), mimetype="application/json"
        )

    @rate_limit("NEBULO_RATE_LIMIT_CREATE_ORDER")
    @orders_blp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
    @orders_blp.arguments(OrderCreateSchema)
    @orders_blp.response(201, OrderSchema)
    def post(self, data, project_id: UUID, idempotency_key: str | None = None):
        """Create an order (seed 000 or seed 003 shape); catalog items take stock."""
        session = get_session()
        ctx = project_context(project_id, "create_order")
        order = services.create_order(session, ctx, data, idempotency_key=idempotency_key)
        session.commit()
        return order


@orders_blp.route("/<uuid:project_id>/<uuid:order_id>")
class OrderItemView(MethodView):
    @orders_blp.response(200, OrderSchema)
    def get(self, project_id: UUID, order_id: UUID):
        """One order with its items."""
        return services.get_order(
            get_session(), project_context(project_id, "view_order"), order_id
        )

    @orders_blp.arguments(OrderUpdateSchema)
    @orders_blp.response(200, OrderSchema)
    def patch(self, changes, project_id: UUID, order_id: UUID):
        """Change the status (409 when the transition is not allowed) or the fulfilled date."""
        session = get_session()
        order = services.update_order(
            session, project_context(project_id, "update_order"), order_id, changes
        )
        session.commit()
        return order

    @orders_blp.response(200, MessageSchema)
    def delete(self, project_id: UUID, order_id: UUID):
        """Delete an order; a pending order gives its stock back."""
        session = get_session()
        services.delete_order(session, project_context(project_id, "delete_order"), order_id)
        session.commit()
        return {"message": "Order deleted successfully."}


@orders_blp.route("/<uuid:project_id>/<uuid:order_id>/items/bulk")
class OrderItemsBulk(MethodView):
    @orders_blp.arguments(BulkItemsSchema)
    @orders_blp.response(201, BulkItemsResultSchema)
    def post(self, data, project_id: UUID, order_id: UUID):
        """Add several items to a pending order at once: all of them or none."""
        session = get_session()
        ctx = project_context(project_id, "update_order")
        order, created = services.add_items(session, ctx, order_id, data["items"])
        session.commit()
        return {"created_count": created, "order": order}


@orders_blp.route("/<uuid:project_id>/carts")
class Carts(MethodView):
    @rate_limit("NEBULO_RATE_LIMIT_CREATE_ORDER")
    @orders_blp.arguments(CartCreateSchema)
    @orders_blp.response(201, OrderSchema)
    def post(self, data, project_id: UUID):
        """Open a cart (seed 004): a pending order of a person of this project at a table."""
        session = get_session()
        ctx = project_context(project_id, "create_order")
        order = carts.create_cart(
            session, ctx, data["person_id"], data.get("table_number"), data.get("items", ())
        )
        session.commit()
        return order


@orders_blp.route("/<uuid:project_id>/cart-products/bulk")
class CartProductsBulk(MethodView):
    @orders_blp.arguments(BulkCartProductsSchema)
    @orders_blp.response(201, BulkCartProductsResultSchema)
    def post(self, data, project_id: UUID):
        """Seed 004's bulk cart products: one unit of a product per line, into pending carts
        of this project; all of them or none."""
        session = get_session()
        ctx = project_context(project_id, "update_order")
        added = carts.add_cart_products(session, ctx, data["cart_products"])
        session.commit()
        return carts.cart_products_result(ctx, added)


@orders_blp.route("/<uuid:project_id>/stats/summary")
class OrderSummary(MethodView):
    @orders_blp.arguments(DaysArgs, location="query")
    @orders_blp.response(200, SummarySchema)
    def get(self, args, project_id: UUID):
        """Orders, revenue, orders by status and average order value over the last ``days``.

        The figures are the metrics API's (``orders``, ``paid_orders``, ``revenue``,
        ``average_order_value``) for the period "past N days": ``days`` whole days in the
        project's time zone, today included (not ``days`` times 24 hours back from now).
        """
        return statistics.order_summary(
            get_session(), project_context(project_id, "view_order"), args["days"]
        )


@orders_blp.route("/<uuid:project_id>/stats/top-products")
class TopProducts(MethodView):
    @orders_blp.arguments(TopProductsArgs, location="query")
    @orders_blp.response(200, TopProductSchema(many=True))
    def get(self, args, project_id: UUID):
        """Best-selling products by quantity over the last ``days``.

        The metrics API's ``items_sold``, ``product_revenue`` and ``paid_orders_with_product``
        by product and currency for "past N days": ``days`` whole days in the project's time
        zone, today included. A product is an item's name; ``product_id`` is the catalog
        product of that name.
        """
        ctx = project_context(project_id, "view_order")
        return statistics.top_products(get_session(), ctx, args["days"], args["limit"])


@orders_blp.route("/<uuid:project_id>/stats/revenue-by-day")
class RevenueByDay(MethodView):
    @orders_blp.arguments(DailyArgs, location="query")
    @orders_blp.response(200, RevenueDaySchema(many=True))
    def get(self, args, project_id: UUID):
        """Orders and revenue per day over the last ``days``.

        The metrics API's ``paid_orders`` and ``revenue`` by day and currency for "past N
        days": ``days`` whole days in the project's time zone (days in that zone too), today
        included; days without orders bringing revenue are left out.
        """
        return statistics.revenue_by_day(
            get_session(), project_context(project_id, "view_order"), args["days"]
        )


# ---- catalog -------------------------------------------------------------------------------


@catalog_blp.route("/<uuid:project_id>/categories")
class Categories(MethodView):
    @catalog_blp.arguments(PageArgs, location="query")
    @catalog_blp.response(200, CategorySchema(many=True))
    def get(self, args, project_id: UUID):
        """Product categories by name."""
        return paginate(
            get_session(), catalog.list_categories(project_context(project_id, "view_order")), args
        )

    @catalog_blp.arguments(CategorySchema)
    @catalog_blp.response(201, CategorySchema)
    def post(self, data, project_id: UUID):
        """Create a category (names are unique per project)."""
        session = get_session()
        category = catalog.create_category(
            session, project_context(project_id, "manage_catalog"), data
        )
        session.commit()
        return category


@catalog_blp.route("/<uuid:project_id>/categories/<uuid:category_id>")
class CategoryView(MethodView):
    @catalog_blp.response(200, CategorySchema)
    def get(self, project_id: UUID, category_id: UUID):
        """One category."""
        return catalog.get_category(
            get_session(), project_context(project_id, "view_order"), category_id
        )

    @catalog_blp.arguments(CategoryUpdateSchema)
    @catalog_blp.response(200, CategorySchema)
    def patch(self, changes, project_id: UUID, category_id: UUID):
        """Rename or describe a category."""
        session = get_session()
        ctx = project_context(project_id, "manage_catalog")
        category = catalog.update_category(session, ctx, category_id, changes)
        session.commit()
        return category

    @catalog_blp.response(204)
    def delete(self, project_id: UUID, category_id: UUID):
        """Delete a category; its products stay, uncategorised."""
        session = get_session()
        catalog.delete_category(session, project_context(project_id, "manage_catalog"), category_id)
        session.commit()


@catalog_blp.route("/<uuid:project_id>/products")
class Products(MethodView):
    @catalog_blp.arguments(ProductListArgs, location="query")
    @catalog_blp.response(200, ProductSchema(many=True))
    def get(self, args, project_id: UUID):
        """Products by name; ``q`` searches name and SKU; ``include_deleted`` shows deleted ones."""
        ctx = project_context(project_id, "view_order")
        statement = catalog.list_products(
            ctx,
            q=args.get("q"),
            category_id=args.get("category_id"),
            include_deleted=args["include_deleted"],
        )
        return paginate(get_session(), statement, args)

    @catalog_blp.arguments(ProductSchema)
    @catalog_blp.response(201, ProductSchema)
    def post(self, data, project_id: UUID):
        """Create a product (SKUs are unique per project)."""
        session = get_session()
        product = catalog.create_product(
            session, project_context(project_id, "manage_catalog"), data
        )
        session.commit()
        return product


@catalog_blp.route("/<uuid:project_id>/products/<uuid:product_id>")
class ProductView(MethodView):
    @catalog_blp.response(200, ProductSchema)
    def get(self, project_id: UUID, product_id: UUID):
        """One product, deleted or not (see ``deleted``)."""
        return catalog.get_product(
            get_session(), project_context(project_id, "view_order"), product_id
        )

    @catalog_blp.arguments(ProductUpdateSchema)
    @catalog_blp.response(200, ProductSchema)
    def put(self, changes, project_id: UUID, product_id: UUID):
        """Change a product (seed 003 uses PUT; PATCH does the same)."""
        return self._update(changes, project_id, product_id)

    @catalog_blp.arguments(ProductUpdateSchema)
    @catalog_blp.response(200, ProductSchema)
    def patch(self, changes, project_id: UUID, product_id: UUID):
        """Change a product's name, SKU, category, price or stock."""
        return self._update(changes, project_id, product_id)

    @catalog_blp.response(204)
    def delete(self, project_id: UUID, product_id: UUID):
        """Soft-delete a product: it leaves the catalog, past orders keep it."""
        session = get_session()
        catalog.delete_product(session, project_context(project_id, "manage_catalog"), product_id)
        session.commit()

    @staticmethod
    def _update(changes, project_id: UUID, product_id: UUID):
        session = get_session()
        product = catalog.update_product(
            session, project_context(project_id, "manage_catalog"), product_id, changes
        )
        session.commit()
        return product
