"""Seed 003, the retail backend: ``/register``, ``/login``, ``/dashboard/``, catalog,
``/transactions/`` and ``/memberships/``, every answer in ``{"status", "message", "data"}``,
over the ``orders``, ``memberships`` and ``analytics`` plugins' services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import jsonify
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.auth import services as auth_services
from core.auth.models import User
from core.auth.routes import RegisterSchema
from core.context import Context
from core.db import get_session
from core.errors import Invalid
from core.limits import rate_limit
from core.schemas import StrictSchema
from plugins.analytics import dashboard as analytics_dashboard
from plugins.analytics.schemas import AnalyticsDashboardArgs, AnalyticsDashboardSchema
from plugins.compat.auth import PUBLIC, log_in
from plugins.compat.base import CompatBlueprint, bound_context, require_plugin, set_session_cookie
from plugins.memberships import services as memberships
from plugins.memberships.schemas import (
    MembershipCreateSchema,
    MembershipSchema,
    MembershipUpdateSchema,
)
from plugins.orders import catalog as order_catalog
from plugins.orders import services as orders
from plugins.orders.schemas import OrderCreateSchema, ProductSchema, ProductUpdateSchema

blp = CompatBlueprint(
    "compat-003",
    __name__,
    profiles=("003",),
    style="003",
    prefixes=(
        "/register",
        "/login",
        "/dashboard",
        "/product-categories",
        "/products",
        "/transactions",
        "/memberships",
    ),
    description="users, dashboard, catalog, transactions and memberships in one envelope",
)
NO_EMAIL_DOMAIN = "users.nebulo.invalid"
"""Seed 003 registers a username only; Nebulo's accounts need an email, so such an account
gets ``<username>@users.nebulo.invalid`` (a reserved domain: no mail is ever sent to it)."""


def envelope(data_schema: Any, name: str) -> type[Schema]:
    """The schema of seed 003's ``{"status", "message", "data"}`` around ``data_schema``."""
    data = data_schema if isinstance(data_schema, fields.Field) else fields.Nested(data_schema)
    return Schema.from_dict(
        {"status": fields.String(), "message": fields.String(), "data": data},
        name=f"{name}Envelope",
    )


def success(message: str, data: Any) -> dict[str, Any]:
    return {"status": "success", "message": message, "data": data}


def context(plugin: str, permission: str) -> Context:
    require_plugin(plugin)
    return bound_context(permission)


class RetailUserSchema(Schema):
    id = fields.UUID()
    username = fields.String()
    role = fields.Constant("user")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    access_token = fields.String(metadata={"description": "login only: a bearer token"})


class CredentialsSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


@blp.route("/register")
class Register(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(CredentialsSchema)
    @blp.response(201, envelope(RetailUserSchema, "RetailUser"))
    @rate_limit("auth")
    def post(self, data):
        """Create an account by username; a username that is an email is its email too."""
        username = data["username"].strip()
        email = username if "@" in username else f"{username}@{NO_EMAIL_DOMAIN}"
        checked = RegisterSchema().validate(
            {"email": email, "password": data["password"]}
            | ({} if "@" in username else {"username": username})
        )
        if checked:
            raise Invalid(errors={"username": checked.get("username") or checked.get("email")})
        session = get_session()
        user = auth_services.register_user(
            session,
            email=email,
            password=data["password"],
            username=None if "@" in username else username,
        )
        session.commit()
        return success("User registered successfully", retail_user(user))


def retail_user(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username or user.email,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }


@blp.route("/login")
class Login(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(CredentialsSchema)
    @blp.response(200, envelope(RetailUserSchema, "RetailLogin"))
    @rate_limit("auth")
    def post(self, data):
        """Log in by username: the user, a bearer token and a session cookie."""
        user, tokens = log_in(data["username"], data["password"])
        body = envelope(RetailUserSchema, "RetailLogin")().dump(
            success(
                "User logged in successfully",
                {**retail_user(user), "access_token": tokens["access_token"]},
            )
        )
        return set_session_cookie(jsonify(body), tokens["access_token"])


@blp.route("/dashboard/")
class Dashboard(MethodView):
    @blp.arguments(AnalyticsDashboardArgs, location="query")
    @blp.response(200, envelope(AnalyticsDashboardSchema, "RetailDashboard"))
    def get(self, args):
        """Sales, transactions, products sold, new memberships and the newest segmentation of
        ``model`` (kmeans or dbscan) over ``start_date``..``end_date``."""
        ctx = context("analytics", "view_segments")
        figures = analytics_dashboard.dashboard(
            get_session(), ctx, args.get("start_date"), args.get("end_date"), args["model"]
        )
        return success("Dashboard data retrieved successfully", figures)


class RetailCategorySchema(Schema):
    id = fields.UUID()
    name = fields.String()
    description = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RetailProductSchema(Schema):
    id = fields.UUID()
    category_id = fields.UUID(allow_none=True)
    name = fields.String()
    description = fields.String()
    stock = fields.Integer()
    price = fields.Float()
    deleted = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


@blp.route("/product-categories/")
class Categories(MethodView):
    @blp.response(
        200, envelope(fields.List(fields.Nested(RetailCategorySchema)), "RetailCategories")
    )
    def get(self):
        """Every product category."""
        ctx = context("orders", "view_order")
        rows = get_session().scalars(order_catalog.list_categories(ctx)).all()
        return success("Product categories retrieved successfully", rows)


PRODUCTS = envelope(fields.List(fields.Nested(RetailProductSchema)), "RetailProducts")
PRODUCT = envelope(RetailProductSchema, "RetailProduct")


@blp.route("/products/")
class Products(MethodView):
    @blp.response(200, PRODUCTS)
    def get(self):
        """Every product that is not deleted."""
        ctx = context("orders", "view_order")
        rows = get_session().scalars(order_catalog.list_products(ctx)).all()
        return success("Products retrieved successfully", rows)

    @blp.arguments(ProductSchema)
    @blp.response(201, PRODUCT)
    def post(self, data):
        """Create a product."""
        ctx = context("orders", "manage_catalog")
        session = get_session()
        product = order_catalog.create_product(session, ctx, data)
        session.commit()
        return success("Product created successfully", product)


@blp.route("/products/<uuid:product_id>")
class ProductItem(MethodView):
    @blp.response(200, PRODUCT)
    def get(self, product_id: UUID):
        """One product."""
        ctx = context("orders", "view_order")
        return success("Product found", order_catalog.get_product(get_session(), ctx, product_id))

    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, PRODUCT)
    def put(self, changes, product_id: UUID):
        """Change a product (``updated_at`` is accepted and ignored); a deleted one is 409."""
        ctx = context("orders", "manage_catalog")
        session = get_session()
        product = order_catalog.update_product(session, ctx, product_id, changes)
        session.commit()
        return success("Product updated successfully", product)

    @blp.response(200, envelope(fields.Boolean(), "RetailDeleted"))
    def delete(self, product_id: UUID):
        """Delete a product (soft: its orders keep it)."""
        ctx = context("orders", "manage_catalog")
        session = get_session()
        order_catalog.delete_product(session, ctx, product_id)
        session.commit()
        return success("Product deleted successfully", True)


class RetailTransactionSchema(Schema):
    id = fields.UUID()
    customer_id = fields.UUID(allow_none=True)
    membership_id = fields.UUID(allow_none=True)
    date = fields.DateTime(attribute="order_date")
    total_amount = fields.Float(attribute="total")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RetailDetailSchema(Schema):
    id = fields.UUID()
    transaction_id = fields.UUID(attribute="order_id")
    product_id = fields.UUID(allow_none=True)
    quantity = fields.Integer()
    price_per_unit = fields.Float(attribute="unit_price")
    total_amount = fields.Float(attribute="line_total")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


DETAIL_COLUMNS = (
    "id",
    "order_id",
    "product_id",
    "quantity",
    "unit_price",
    "line_total",
    "created_at",
)


@blp.route("/transactions/")
class Transactions(MethodView):
    @blp.response(
        200, envelope(fields.List(fields.Nested(RetailTransactionSchema)), "RetailTransactions")
    )
    def get(self):
        """Every transaction (order), newest first."""
        ctx = context("orders", "view_order")
        rows = get_session().scalars(orders.list_orders(ctx, {})).all()
        return success("Transactions retrieved successfully", rows)

    @blp.arguments(OrderCreateSchema)
    @blp.response(201, envelope(RetailTransactionSchema, "RetailTransaction"))
    def post(self, data):
        """Create a transaction: customer, membership, date and ``transaction_details``."""
        ctx = context("orders", "create_order")
        session = get_session()
        order = orders.create_order(session, ctx, data)
        session.commit()
        return success("Transaction created successfully", order)


@blp.route("/transactions/<uuid:transaction_id>")
class TransactionItem(MethodView):
    @blp.response(200, envelope(fields.List(fields.Nested(RetailDetailSchema)), "RetailDetails"))
    def get(self, transaction_id: UUID):
        """A transaction's details (its lines)."""
        ctx = context("orders", "view_order")
        order = orders.get_order(get_session(), ctx, transaction_id)
        details = [
            {
                **{name: getattr(item, name) for name in DETAIL_COLUMNS},
                "updated_at": item.created_at,  # a line is never changed after it is made
            }
            for item in order.items
        ]
        return success("Transaction details retrieved successfully", details)


MEMBERSHIP = envelope(MembershipSchema, "RetailMembership")


@blp.route("/memberships/")
class Memberships(MethodView):
    @blp.response(200, envelope(fields.List(fields.Nested(MembershipSchema)), "RetailMemberships"))
    def get(self):
        """Every membership, newest period first."""
        ctx = context("memberships", "view_memberships")
        session = get_session()
        rows = session.scalars(memberships.list_memberships(session, ctx, {})).all()
        return success("Memberships retrieved successfully", rows)

    @blp.arguments(MembershipCreateSchema)
    @blp.response(201, MEMBERSHIP)
    def post(self, data):
        """Add a membership; it may not overlap another of the same customer (409)."""
        ctx = context("memberships", "manage_memberships")
        session = get_session()
        membership = memberships.create_membership(session, ctx, data)
        session.commit()
        return success("Membership created successfully", membership)


@blp.route("/memberships/<uuid:membership_id>")
class MembershipItem(MethodView):
    @blp.response(200, MEMBERSHIP)
    def get(self, membership_id: UUID):
        """One membership."""
        ctx = context("memberships", "view_memberships")
        membership = memberships.get_membership(get_session(), ctx, membership_id)
        return success("Membership found", membership)

    @blp.arguments(MembershipUpdateSchema)
    @blp.response(200, MEMBERSHIP)
    def put(self, changes, membership_id: UUID):
        """Change the period and tier."""
        ctx = context("memberships", "manage_memberships")
        session = get_session()
        membership = memberships.update_membership(session, ctx, membership_id, changes)
        session.commit()
        return success("Membership updated successfully", membership)

    @blp.response(200, envelope(fields.Boolean(), "RetailMembershipDeleted"))
    def delete(self, membership_id: UUID):
        """Delete a membership."""
        ctx = context("memberships", "manage_memberships")
        session = get_session()
        memberships.delete_membership(session, ctx, membership_id)
        session.commit()
        return success("Membership deleted successfully", True)
