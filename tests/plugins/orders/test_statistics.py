"""The statistics endpoints give the metrics API's figures for the same period: "the last N
days" are N whole days in the project's time zone, today included, and currencies are never
added together."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.tools import ToolContext
from core.context import Context
from core.metrics.scans import ScanPlan
from plugins.orders.tools import order_stats
from tests.core.helpers import assert_error
from tests.plugins.orders.conftest import UNLIMITED_CREATES

TIMEZONE = "Pacific/Auckland"
"""Far from UTC: a local day and a UTC day split the orders differently."""


@pytest.fixture
def sales(store, make_app):
    """Orders in two currencies and every status over the last weeks, some near midnight in
    the project's zone. Returns (client, today in the project's zone, the catalog product,
    the orders as (days back, API order))."""
    response = store.client.patch(
        f"/api/v1/projects/{store.project['id']}", json={"timezone": TIMEZONE}, headers=store.owner
    )
    assert response.status_code == 200, response.get_json()
    client = make_app(**UNLIMITED_CREATES).test_client()
    zone = ZoneInfo(TIMEZONE)
    today = datetime.now(zone).date()
    tart = store.product("Lemon Tart", price=4.5, stock=100)

    def tea(quantity: int, price: float) -> dict:
        return {"name": "Tea", "quantity": quantity, "price": price}

    def tarts(quantity: int) -> dict:
        return {"product_id": tart["id"], "quantity": quantity}

    plan = [  # days back, local time, currency, items, final status
        (0, time(0, 5), "USD", [tarts(2)], "paid"),
        (1, time(23, 55), "USD", [tea(3, 2)], "paid"),
        (1, time(12), "EUR", [tea(1, 2.5)], "paid"),
        (2, time(9), "EUR", [tarts(1), tea(2, 2.5)], "fulfilled"),
        (3, time(10), "USD", [tarts(1)], "cancelled"),
        (3, time(11), "USD", [tea(4, 2)], "refunded"),
        (6, time(8), "USD", [tarts(3), tea(1, 2)], "paid"),
        (29, time(0, 5), "USD", [tarts(1)], "paid"),  # the first of the last 30 days
        (30, time(23, 55), "USD", [tarts(5)], "paid"),  # the day before them
        (40, time(12), "EUR", [tea(9, 2.5)], "paid"),
    ]
    made = []
    for days_back, at, currency, items, status in plan:
        when = datetime.combine(today - timedelta(days=days_back), at, zone)
        body = {"order_date": when.isoformat(), "currency": currency, "items": items}
        response = client.post(store.orders, json={**body, "status": "paid"}, headers=store.owner)
        assert response.status_code == 201, response.get_json()
        order = response.get_json()
        if status != "paid":
            response = client.patch(
                f"{store.orders}/{order['id']}", json={"status": status}, headers=store.owner
            )
            assert response.status_code == 200, response.get_json()
        made.append((days_back, response.get_json()))
    return client, today, tart, made


def stats(client, store, endpoint: str, **args) -> list | dict:
    query = "&".join(f"{name}={value}" for name, value in args.items())
    response = client.get(f"{store.orders}/stats/{endpoint}?{query}", headers=store.owner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def metrics(client, store, days: int, names: list[str], **query) -> dict:
    """The metrics API's answer for "past ``days`` days", the period the assistant reads too."""
    response = client.post(
        f"/api/v1/metrics/{store.project['id']}/query",
        json={"metrics": names, "period": f"past {days} days", **query},
        headers=store.owner,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("days", [1, 7, 30])
def test_the_summary_is_the_metrics_apis_figures_currencies_apart(store, sales, days):
    client, today, _, made = sales
    summary = stats(client, store, "summary", days=days)
    by_currency = metrics(
        client,
        store,
        days,
        ["orders", "paid_orders", "revenue", "average_order_value"],
        group_by=["currency"],
    )
    by_status = metrics(client, store, days, ["orders"], group_by=["status"])
    assert by_currency["period"]["start"] == (today - timedelta(days=days - 1)).isoformat()
    figures = {row["currency"]: row for row in by_currency["rows"]}
    main = max(figures, key=lambda currency: figures[currency]["orders"])
    assert summary["period_days"] == days
    assert summary["currency"] == main
    assert summary["total_orders"] == by_currency["totals"]["orders"]
    assert summary["orders_by_status"] == {
        row["status"]: row["orders"] for row in by_status["rows"] if row["orders"]
    }
    assert summary["total_revenue"] == figures[main]["revenue"]
    assert summary["average_order_value"] == figures[main]["average_order_value"]
    assert summary["other_currencies"] == {
        currency: {
            "orders": row["paid_orders"],
            "revenue": row["revenue"],
            "average_order_value": row["average_order_value"],
        }
        for currency, row in figures.items()
        if currency != main
    }
    # Whole local days: the first of them from its midnight, the day before not at all.
    assert summary["total_orders"] == len([o for back, o in made if back < days])


def test_the_30_day_summary_keeps_euros_apart_from_dollars(store, sales):
    client, *_ = sales
    summary = stats(client, store, "summary", days=30)
    euros = metrics(client, store, 30, ["revenue"], filters={"currency": ["EUR"]})
    dollars = metrics(client, store, 30, ["revenue"], filters={"currency": ["USD"]})
    assert summary["currency"] == "USD"
    assert summary["total_revenue"] == dollars["totals"]["revenue"]
    assert summary["other_currencies"]["EUR"]["revenue"] == euros["totals"]["revenue"] > 0


@pytest.mark.parametrize("days, limit", [(7, 10), (30, 2)])
def test_top_products_are_the_metrics_apis_items_sold_by_product_and_currency(
    store, sales, days, limit
):
    client, _, tart, _ = sales
    top = stats(client, store, "top-products", days=days, limit=limit)
    expected = metrics(
        client,
        store,
        days,
        ["items_sold", "product_revenue", "paid_orders_with_product"],
        group_by=["product", "currency"],
        order="-items_sold",
        limit=limit,
    )["rows"]
    assert [(t["name"], t["currency"], t["quantity"], t["revenue"], t["orders"]) for t in top] == [
        (
            row["product"],
            row["currency"],
            row["items_sold"],
            row["product_revenue"],
            row["paid_orders_with_product"],
        )
        for row in expected
    ]
    assert top
    catalog_ids = {"Lemon Tart": tart["id"], "Tea": None}  # tea is a free-text item
    assert all(t["product_id"] == catalog_ids[t["name"]] for t in top)


def test_revenue_by_day_is_the_metrics_apis_by_local_day_and_currency(store, sales):
    client, today, _, made = sales
    days = stats(client, store, "revenue-by-day", days=30)
    expected = metrics(client, store, 30, ["paid_orders", "revenue"], group_by=["day", "currency"])
    assert days == [
        {
            "date": row["day"],
            "currency": row["currency"],
            "orders": row["paid_orders"],
            "revenue": row["revenue"],
        }
        for row in expected["rows"]
        if row["paid_orders"]
    ]
    # Each order on its local day, the one just after midnight 29 days ago included.
    assert {(d["date"], d["currency"]) for d in days} == {
        ((today - timedelta(days=back)).isoformat(), o["currency"])
        for back, o in made
        if back < 30 and o["status"] not in ("cancelled", "refunded")
    }


def test_the_order_stats_tool_is_the_summary_and_best_day_read_in_one_batch(
    app, store, sales, monkeypatch
):
    client, *_ = sales
    summary = stats(client, store, "summary", days=30)
    by_day = stats(client, store, "revenue-by-day", days=30)
    batches = []
    answer_batch = ScanPlan.run

    def counted(plan: ScanPlan) -> None:
        batches.append(plan)
        answer_batch(plan)

    monkeypatch.setattr(ScanPlan, "run", counted)
    permissions = app.extensions["nebulo"].permissions_for_role("viewer")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        context = Context(project_id=uuid.UUID(store.project["id"]), permissions=permissions)
        answer = order_stats.run(ToolContext(session, context), {"days": 30})
    assert len(batches) == 1
    in_currency = [day for day in by_day if day["currency"] == summary["currency"]]
    assert answer == {**summary, "best_day": max(in_currency, key=lambda day: day["revenue"])}


def test_a_series_by_day_longer_than_the_engine_lists_is_a_422(client, store):
    longest = client.get(f"{store.orders}/stats/revenue-by-day?days=5000", headers=store.owner)
    assert longest.status_code == 200, longest.get_json()
    response = client.get(f"{store.orders}/stats/revenue-by-day?days=5001", headers=store.owner)
    assert_error(response, 422)
    assert "days" in response.get_json()["errors"]
    summary = client.get(f"{store.orders}/stats/summary?days=36500", headers=store.owner)
    assert summary.status_code == 200, summary.get_json()
