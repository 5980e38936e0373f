"""Seed 003's dashboard, the forecast tool and metric, and the demo's forecast and segments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from assistant.tools import ToolContext
from core.context import Context
from core.errors import Invalid
from plugins.analytics import segments, tools
from plugins.analytics.models import CustomerSegment, SalesForecast, SegmentRun
from plugins.orders.importing import NewOrder
from plugins.orders.services import ItemLine
from tests.plugins.analytics.conftest import sales_history
from tests.plugins.analytics.test_segments import run

TODAY = date.today()


def test_the_dashboard_adds_up_the_periods_sales_and_the_latest_segments(shop):
    noon = datetime.combine(TODAY - timedelta(days=3), datetime.min.time(), UTC) + timedelta(
        hours=12
    )
    shop.add_orders(
        [
            NewOrder(noon, [ItemLine("Mug", 2, Decimal("12.50")), ItemLine("Tea", 1, Decimal(4))]),
            NewOrder(noon, [ItemLine("Tea", 3, Decimal(4))], customer_name="Ana"),
            NewOrder(noon - timedelta(days=40), [ItemLine("Tea", 1, Decimal(4))]),  # before
            NewOrder(noon, [ItemLine("Tea", 5, Decimal(4))], status="cancelled"),
        ]
    )
    start, end = (TODAY - timedelta(days=7)).isoformat(), TODAY.isoformat()
    response = shop.client.get(
        f"{shop.url}/dashboard?start_date={start}&end_date={end}&model=kmeans", headers=shop.owner
    )
    assert response.status_code == 200, response.get_json()
    board = response.get_json()
    assert board["total_sales"] == 41.0
    assert board["total_transactions"] == 3  # the cancelled one is a transaction, not a sale
    assert board["products_sold"] == 6
    assert board["new_memberships"] == 0
    assert board["customer_segments"] is None  # nothing segmented yet

    shop.add_orders(sales_history(200))
    summary = run(shop)
    board = shop.client.get(f"{shop.url}/dashboard", headers=shop.owner).get_json()
    assert board["end_date"] == TODAY.isoformat()
    assert board["customer_segments"]["segmentation"] == summary["segmentation"]
    assert board["customer_segments"]["evaluation"] == summary["evaluation"]


def test_bad_dashboard_queries_get_a_422(shop):
    for query in (
        "start_date=2026-02-30",
        f"start_date={TODAY}&end_date={TODAY - timedelta(days=1)}",
        "model=hierarchical",
        "days=7",
    ):
        response = shop.client.get(f"{shop.url}/dashboard?{query}", headers=shop.owner)
        assert response.status_code == 422, query


@pytest.fixture
def as_viewer(app, shop):
    def call(tool, **arguments):
        permissions = app.extensions["nebulo"].registry.permissions_for_role("viewer")
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            context = Context(project_id=shop.project_id, permissions=permissions)
            return tool.run(ToolContext(session, context), arguments)

    return call


def test_the_forecast_tool_totals_the_coming_days(shop, as_viewer):
    shop.add_orders(sales_history(150))
    shop.fit()
    answer = as_viewer(tools.sales_forecast, days=7)
    assert answer["from"] == TODAY.isoformat()
    assert len(answer["days"]) == 7 and "predictions" not in answer  # the days' figures, once
    assert answer["total"] == pytest.approx(sum(d["revenue"] for d in answer["days"]), abs=0.05)
    assert answer["model"] in answer["backtest"]["candidates"]
    with pytest.raises(Invalid):
        as_viewer(tools.sales_forecast, days=0)


def test_the_forecast_revenue_metric_sums_the_stored_days(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    week = [(TODAY + timedelta(days=n)).isoformat() for n in range(7)]
    predicted = shop.client.get(
        f"{shop.url}/predict-sales?" + "&".join(f"future_dates={d}" for d in week),
        headers=shop.owner,
    ).get_json()
    response = shop.client.get(
        f"/api/v1/metrics/{shop.project['id']}/query",
        query_string={"metrics": "forecast_revenue", "start": week[0], "end": week[-1]},
        headers=shop.owner,
    )
    assert response.status_code == 200, response.get_json()
    total = response.get_json()["totals"]["forecast_revenue"]
    assert total == pytest.approx(sum(predicted["predictions"]), abs=0.05)


def test_the_demo_brings_a_forecast_and_meaningful_segments(app):
    from core.demo import load_demo_data
    from core.projects.models import Project

    with app.app_context():
        assert load_demo_data(app, "demo-analytics@example.com", "a demo password")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = session.scalar(select(Project).where(Project.name == "Demo Store"))
        fitted = session.scalar(select(SalesForecast).where(SalesForecast.project_id == project.id))
        segmented = session.scalar(select(SegmentRun).where(SegmentRun.project_id == project.id))
        named = set(
            session.scalars(
                select(CustomerSegment.segment).where(CustomerSegment.run_id == segmented.id)
            )
        )
    assert fitted.history_days >= 300
    candidates = fitted.backtest["candidates"]
    assert candidates[fitted.model_name] <= candidates["seasonal_naive"]
    assert segmented.algorithm == "kmeans" and segmented.customers >= segments.MIN_CUSTOMERS
    assert len(named) >= 6  # the demo's customers spread over the grid
    assert segmented.evaluation["silhouette_score"] > 0.2
