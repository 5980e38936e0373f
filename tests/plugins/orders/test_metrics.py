"""The orders plugin's metrics, each checked against a hand computation over orders made
through the API (created, then cancelled or refunded like an operator would)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from plugins.orders.models import Order

# Nine orders: under the default limit of ten created per minute.
STATUS_PLAN = ("paid", "pending", "paid", "cancel", "refund", "paid", "paid", "pending", "paid")
REVENUE_STATUSES = ("pending", "paid", "fulfilled")


@pytest.fixture
def shop_orders(store):
    """Nine orders over March 2025 (UTC), two catalog products in two categories and a
    free-text item; one cancelled and one refunded. Returns the orders as the API gave them."""
    cakes = store.client.post(
        f"{store.catalog}/categories", json={"name": "Cakes"}, headers=store.owner
    ).get_json()
    drinks = store.client.post(
        f"{store.catalog}/categories", json={"name": "Drinks"}, headers=store.owner
    ).get_json()
    tart = store.product("Lemon Tart", price=4.50, stock=1000, category_id=cakes["id"])
    coffee = store.product("Flat White", price=3.20, stock=1000, category_id=drinks["id"])
    made = []
    for index, plan in enumerate(STATUS_PLAN):
        items = [{"product_id": tart["id"], "quantity": 1 + index % 3}]
        if index % 2:
            items.append({"product_id": coffee["id"], "quantity": 2})
        if index % 4 == 0:
            items.append({"name": "Gift wrap", "quantity": 1, "price": "0.99"})
        order = store.order(
            {
                "customer_name": ("Ann", "Bob", "Cy")[index % 3],
                "provider": ("pos", "shopify")[index % 2],
                "status": "pending" if plan in ("pending", "cancel") else "paid",
                "order_date": datetime(2025, 3, 3 + index, 9 + index, 15, tzinfo=UTC).isoformat(),
                "items": items,
            }
        )
        final = {"cancel": "cancelled", "refund": "refunded"}.get(plan)
        if final:
            response = store.client.patch(
                f"{store.orders}/{order['id']}", json={"status": final}, headers=store.owner
            )
            assert response.status_code == 200, response.get_json()
            order = response.get_json()
        made.append(order)
    return made


def run(store, status=200, **body):
    if "period" not in body:
        body.update(start="2025-03-01", end="2025-03-31")
    response = store.client.post(
        f"/api/v1/metrics/{store.project['id']}/query", json=body, headers=store.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def money(value) -> float:
    return float(Decimal(str(value)))


def test_order_totals_match_a_hand_computation(store, shop_orders):
    revenue_orders = [o for o in shop_orders if o["status"] in REVENUE_STATUSES]
    revenue = sum(Decimal(str(o["total"])) for o in revenue_orders)
    by_status = Counter(o["status"] for o in shop_orders)
    names = [
        "orders",
        "paid_orders",
        "revenue",
        "average_order_value",
        "largest_order",
        "cancelled_orders",
        "cancelled_amount",
        "refunded_orders",
        "refunded_amount",
    ]
    totals = run(store, metrics=names)["totals"]
    assert totals == {
        "orders": len(shop_orders),
        "paid_orders": len(revenue_orders),
        "revenue": money(revenue),
        "average_order_value": money((revenue / len(revenue_orders)).quantize(Decimal("0.01"))),
        "largest_order": max(o["total"] for o in revenue_orders),
        "cancelled_orders": by_status["cancelled"],
        "cancelled_amount": sum(o["total"] for o in shop_orders if o["status"] == "cancelled"),
        "refunded_orders": by_status["refunded"],
        "refunded_amount": sum(o["total"] for o in shop_orders if o["status"] == "refunded"),
    }
    assert by_status["cancelled"] == 1 and by_status["refunded"] == 1


def test_items_and_product_revenue_by_product_and_category(store, shop_orders):
    quantity, line_revenue = Counter(), defaultdict(Decimal)
    orders_with, paid_orders_with = defaultdict(set), defaultdict(set)
    for order in shop_orders:
        for item in order["items"]:
            orders_with[item["name"]].add(order["id"])
            if order["status"] in REVENUE_STATUSES:
                paid_orders_with[item["name"]].add(order["id"])
                quantity[item["name"]] += item["quantity"]
                line_revenue[item["name"]] += Decimal(str(item["line_total"]))
    body = run(
        store,
        metrics=[
            "product_revenue",
            "items_sold",
            "orders_with_product",
            "paid_orders_with_product",
        ],
        group_by=["product"],
    )
    assert {r["product"]: r["items_sold"] for r in body["rows"]} == dict(quantity)
    assert {r["product"]: r["product_revenue"] for r in body["rows"]} == {
        name: money(value) for name, value in line_revenue.items()
    }
    assert {r["product"]: r["orders_with_product"] for r in body["rows"]} == {
        name: len(ids) for name, ids in orders_with.items()
    }
    assert body["rows"][0]["product"] == max(line_revenue, key=line_revenue.get)
    assert {r["product"]: r["paid_orders_with_product"] for r in body["rows"]} == {
        name: len(paid_orders_with[name]) for name in orders_with
    }
    assert body["totals"]["orders_with_product"] == len(shop_orders)
    assert body["totals"]["paid_orders_with_product"] == len(
        [o for o in shop_orders if o["status"] in REVENUE_STATUSES]
    )
    by_category = run(store, metrics=["items_sold"], group_by=["category"])["rows"]
    assert {r["category"]: r["items_sold"] for r in by_category} == {
        "Cakes": quantity["Lemon Tart"],
        "Drinks": quantity["Flat White"],
        None: quantity["Gift wrap"],
    }
    lower_case = run(store, metrics=["items_sold"], filters={"product": ["lemon tart"]})
    assert lower_case["totals"]["items_sold"] == quantity["Lemon Tart"]


def test_revenue_by_customer_status_weekday_and_hour(store, shop_orders):
    by_customer, by_weekday, by_hour = defaultdict(Decimal), defaultdict(Decimal), Counter()
    for order in shop_orders:
        when = datetime.fromisoformat(order["order_date"].replace("Z", "+00:00"))
        by_hour[when.hour] += 1
        if order["status"] in REVENUE_STATUSES:
            by_customer[order["customer"]["name"]] += Decimal(str(order["total"]))
            by_weekday[when.strftime("%A")] += Decimal(str(order["total"]))
    top = run(store, metrics=["revenue"], group_by=["customer"], limit=1)["rows"][0]
    assert top == {
        "customer": max(by_customer, key=by_customer.get),
        "revenue": money(max(by_customer.values())),
    }
    weekdays = run(store, metrics=["revenue"], group_by=["weekday"])["rows"]
    assert {r["weekday"]: r["revenue"] for r in weekdays if r["revenue"]} == {
        day: money(value) for day, value in by_weekday.items()
    }
    busiest = run(store, metrics=["orders"], group_by=["hour"], order="-orders", limit=1)["rows"]
    assert busiest[0]["orders"] == max(by_hour.values())
    statuses = run(store, metrics=["orders"], group_by=["status"])["rows"]
    assert {r["status"]: r["orders"] for r in statuses} == dict(
        Counter(o["status"] for o in shop_orders)
    )
    pending = run(store, metrics=["orders"], filters={"status": ["PENDING"]})["totals"]
    assert pending["orders"] == sum(o["status"] == "pending" for o in shop_orders)


def test_weekly_and_monthly_series_and_the_same_period_last_year(store, shop_orders):
    weeks = run(store, metrics=["orders"], group_by=["week"])["rows"]
    assert [r["week"] for r in weeks] == [
        "2025-02-24",
        "2025-03-03",
        "2025-03-10",
        "2025-03-17",
        "2025-03-24",
        "2025-03-31",
    ]
    assert sum(r["orders"] for r in weeks) == len(shop_orders)
    months = run(
        store, metrics=["revenue"], period="Q1 2025", group_by=["month"], compare="previous_year"
    )
    assert [r["month"] for r in months["rows"]] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert months["rows"][2]["revenue_previous"] == 0.0
    assert months["comparison_period"] == {
        "start": "2024-01-01",
        "end": "2024-03-31",
        "label": "Q1 2024",
    }


def test_test_orders_and_deleted_orders_count_nowhere_and_partial_refunds_come_off(app, store):
    """Like the plugin's other figures: revenue is net of refunds; test orders and orders
    deleted at their provider are kept but not counted."""
    project_id = uuid.UUID(store.project["id"])
    when = datetime(2025, 3, 5, 12, tzinfo=UTC)
    rows = [
        {"total": Decimal("40.00"), "refunded": Decimal("15.00")},
        {"total": Decimal("99.00"), "is_test": True},
        {"total": Decimal("77.00"), "deleted_at": when},
        {"total": Decimal("10.00"), "status": "refunded", "refunded": Decimal("10.00")},
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        for number, extra in enumerate(rows, start=1):
            values = {"status": "paid", **extra}
            session.add(Order(project_id=project_id, number=number, order_date=when, **values))
    totals = run(store, metrics=["orders", "revenue", "refunded_orders", "refunded_amount"])[
        "totals"
    ]
    assert totals == {
        "orders": 2,
        "revenue": 25.0,
        "refunded_orders": 2,
        "refunded_amount": 25.0,
    }


def test_a_series_too_long_to_list_is_refused(store):
    body = run(
        store,
        status=422,
        metrics=["orders"],
        period="between 1990-01-01 and 2025-01-01",
        group_by=["day"],
    )
    assert "week or month" in body["errors"]["group_by"][0]
