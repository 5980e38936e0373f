"""The metrics layer: a plugin's metric through the hook, the engine's rules (tenancy, time
zones across daylight saving, refusals listing what exists) and the REST API (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.metrics import Dimension, Metric
from plugins.orders.models import Order
from tests.core.helpers import assert_error, make_plugin

ORDER_NUMBERS = itertools.count(1)
orders_table = Order.__table__


def add_orders(app, project_id: str, rows) -> None:
    """Real order rows: (UTC time, status, total[, provider, customer])."""
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        for when, status, total, *rest in rows:
            provider, customer = (list(rest) + [None, None])[:2]
            session.add(
                Order(
                    project_id=uuid.UUID(project_id),
                    number=next(ORDER_NUMBERS),
                    status=status,
                    total=Decimal(total),
                    order_date=when,
                    provider=provider or "pos",
                    customer_name=customer or "Ann",
                )
            )


def query(client, project, headers, status=200, params="", **body):
    response = client.post(
        f"/api/v1/metrics/{project['id']}/query{params}", json=body, headers=headers
    )
    if status != 200:
        return assert_error(response, status)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def set_timezone(client, project, owner, timezone: str) -> None:
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"timezone": timezone}, headers=owner
    )
    assert response.status_code == 200, response.get_json()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_listing_shows_metrics_with_dimensions_units_and_grammar(client, project, owner):
    response = client.get(f"/api/v1/metrics/{project['id']}", headers=owner)
    assert response.status_code == 200
    body = response.get_json()
    revenue = next(m for m in body["metrics"] if m["name"] == "revenue")
    assert revenue["unit"] == "money" and revenue["plugin"] == "orders"
    assert {"status", "provider", "day", "weekday", "hour"} <= set(revenue["dimensions"])
    assert "last month" in body["period_examples"] and body["timezone"] == "UTC"
    status = next(d for d in body["dimensions"] if d["name"] == "status")
    assert "refunded" in status["values"] and status["label"] == "Status"


def test_metrics_are_only_shown_to_members(client, project, api):
    stranger = api.user_headers()
    assert_error(client.get(f"/api/v1/metrics/{project['id']}", headers=stranger), 404)
    assert_error(client.get(f"/api/v1/metrics/{project['id']}"), 401)


def test_totals_keep_money_exact_and_count_only_the_callers_project(
    app, client, api, project, owner
):
    other = api.project(owner, name="Other store")
    add_orders(app, project["id"], [(utc(2025, 3, 3, 10), "paid", "0.10")] * 3)
    add_orders(app, project["id"], [(utc(2025, 3, 3, 11), "cancelled", "50.00")])
    add_orders(app, other["id"], [(utc(2025, 3, 3, 10), "paid", "999.99")])
    body = query(client, project, owner, metrics=["revenue", "orders"], period="2025-03-03")
    assert body["totals"] == {"revenue": 0.3, "orders": 4}
    assert body["period"] == {"start": "2025-03-03", "end": "2025-03-03", "label": "2025-03-03"}
    csv_text = client.post(
        f"/api/v1/metrics/{project['id']}/query?format=csv",
        json={"metrics": ["revenue"], "period": "2025-03-03"},
        headers=owner,
    ).get_data(as_text=True)
    assert list(csv.reader(io.StringIO(csv_text))) == [["revenue"], ["0.30"]]


def test_days_and_hours_follow_the_project_time_zone_across_daylight_saving(
    app, client, project, owner
):
    """Berlin moves from +01:00 to +02:00 at 01:00 UTC on 2025-03-30."""
    set_timezone(client, project, owner, "Europe/Berlin")
    add_orders(
        app,
        project["id"],
        [
            (utc(2025, 3, 29, 22, 30), "paid", "1.00"),  # 23:30 on the 29th
            (utc(2025, 3, 29, 23, 30), "paid", "2.00"),  # 00:30 on the 30th (CET)
            (utc(2025, 3, 30, 21, 30), "paid", "4.00"),  # 23:30 on the 30th (CEST)
            (utc(2025, 3, 30, 22, 30), "paid", "8.00"),  # 00:30 on the 31st
        ],
    )
    body = query(
        client,
        project,
        owner,
        metrics=["revenue"],
        period="between March 29 2025 and March 31 2025",
        group_by=["day"],
    )
    assert [(r["day"], r["revenue"]) for r in body["rows"]] == [
        ("2025-03-29", 1.0),
        ("2025-03-30", 6.0),
        ("2025-03-31", 8.0),
    ]
    hours = query(
        client,
        project,
        owner,
        metrics=["orders"],
        start="2025-03-29",
        end="2025-03-31",
        group_by=["hour"],
    )
    by_hour = {r["hour"]: r["orders"] for r in hours["rows"]}
    assert by_hour[23] == 2 and by_hour[0] == 2 and sum(by_hour.values()) == 4
    assert len(hours["rows"]) == 24


def test_comparison_gives_previous_values_and_percent_change(app, client, project, owner):
    add_orders(
        app,
        project["id"],
        [
            (utc(2025, 3, 3, 12), "paid", "30.00"),  # Monday of the week asked
            (utc(2025, 3, 4, 12), "paid", "10.00"),
            (utc(2025, 2, 24, 12), "paid", "20.00"),  # Monday of the week before
        ],
    )
    body = query(
        client,
        project,
        owner,
        metrics=["revenue"],
        period="between 2025-03-03 and 2025-03-09",
        group_by=["day"],
        compare="previous_period",
    )
    assert body["comparison_period"]["start"] == "2025-02-24"
    assert body["totals"]["revenue"] == 40.0 and body["comparison_totals"]["revenue"] == 20.0
    assert body["changes"] == {"revenue": 100.0}
    monday, tuesday = body["rows"][:2]
    assert (monday["revenue"], monday["revenue_previous"], monday["revenue_change"]) == (
        30.0,
        20.0,
        50.0,
    )
    assert tuesday["revenue_previous"] == 0.0 and tuesday["revenue_change"] is None
    assert len(body["rows"]) == 7


def test_group_order_and_limit_give_a_top_n(app, client, project, owner):
    add_orders(
        app,
        project["id"],
        [
            (utc(2025, 3, 3, 12), "paid", "5.00", "pos", "Ann"),
            (utc(2025, 3, 3, 13), "paid", "7.00", "shopify", "Bob"),
            (utc(2025, 3, 3, 14), "paid", "9.00", "shopify", "Cy"),
        ],
    )
    body = query(
        client,
        project,
        owner,
        metrics=["revenue"],
        period="2025-03-03",
        group_by=["provider"],
        limit=1,
    )
    assert body["rows"] == [{"provider": "shopify", "revenue": 16.0}]
    assert body["totals"]["revenue"] == 21.0
    ascending = query(
        client,
        project,
        owner,
        metrics=["revenue"],
        period="2025-03-03",
        group_by=["customer"],
        order="revenue",
    )
    assert [r["customer"] for r in ascending["rows"]] == ["Ann", "Bob", "Cy"]


def test_a_group_with_no_value_ranks_after_the_named_ones(app, client, project, owner):
    add_orders(app, project["id"], [(utc(2025, 3, 3, 12), "paid", "5.00", "pos", "Ann")])
    add_orders(app, project["id"], [(utc(2025, 3, 3, 13), "paid", "7.00", "pos", "Bob")])
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        walk_in = Order(
            project_id=uuid.UUID(project["id"]),
            number=next(ORDER_NUMBERS),
            status="paid",
            total=Decimal("50.00"),
            order_date=utc(2025, 3, 3, 14),
            provider="pos",
        )
        session.add(walk_in)  # no customer named: the biggest group, but nobody's
    ask = dict(metrics=["revenue"], period="2025-03-03", group_by=["customer"])
    top = query(client, project, owner, **ask, order="-revenue", limit=2)
    assert [r["customer"] for r in top["rows"]] == ["Bob", "Ann"]
    everyone = query(client, project, owner, **ask, order="revenue")
    assert [r["customer"] for r in everyone["rows"]] == ["Ann", "Bob", None]
    assert everyone["totals"]["revenue"] == 62.0


def test_filters_match_any_case_and_unknown_values_list_what_exists(app, client, project, owner):
    add_orders(app, project["id"], [(utc(2025, 3, 3, 12), "paid", "5.00", "shopify", "Ann")])
    body = query(
        client,
        project,
        owner,
        metrics=["orders"],
        period="2025-03-03",
        filters={"provider": ["SHOPIFY"], "status": ["Paid"]},
    )
    assert body["totals"]["orders"] == 1
    error = query(
        client,
        project,
        owner,
        status=422,
        metrics=["orders"],
        period="2025-03-03",
        filters={"provider": ["amazon"]},
    )
    assert "amazon" in error["detail"] and "shopify" in error["errors"]["filters"][0]
    error = query(
        client,
        project,
        owner,
        status=422,
        metrics=["orders"],
        period="2025-03-03",
        filters={"status": ["lost"]},
    )
    assert "refunded" in error["errors"]["filters"][0]


@pytest.mark.parametrize(
    ("body", "field", "listed"),
    [
        ({"metrics": ["profit"], "period": "today"}, "metrics", "revenue"),
        ({"metrics": ["revenue"], "period": "today", "group_by": ["colour"]}, "group_by", "status"),
        (
            {"metrics": ["customers"], "period": "today", "group_by": ["day"]},
            "group_by",
            "risk_tier",
        ),
        (
            {"metrics": ["revenue"], "period": "today", "filters": {"colour": ["red"]}},
            "filters",
            "status",
        ),
        ({"metrics": ["revenue"], "period": "last wek"}, "period", "last month"),
        ({"metrics": ["revenue"], "period": "today", "order": "-profit"}, "order", "revenue"),
    ],
)
def test_unknown_names_are_refused_listing_what_exists(client, project, owner, body, field, listed):
    error = query(client, project, owner, status=422, **body)
    assert listed in " ".join(error["errors"][field])


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": ["revenue"]},
        {"metrics": ["revenue"], "period": "today", "start": "2025-01-01", "end": "2025-01-02"},
        {"metrics": ["revenue"], "start": "2025-01-01"},
        {"metrics": ["revenue"], "start": "2025-02-01", "end": "2025-01-01"},
        {"metrics": ["revenue"], "start": "0001-01-01", "end": "0001-01-02"},
        {"metrics": [], "period": "today"},
        {"metrics": ["revenue"], "period": "today", "compare": "last_decade"},
        {"metrics": ["revenue"], "period": "today", "limit": 0},
        {"metrics": ["revenue"], "period": "today", "group_by": ["day", "hour", "status"]},
        {"metrics": ["revenue"], "period": "today", "filters": {"status": []}},
        {"metrics": ["revenue"], "period": "today", "extra": 1},
        {"metrics": "revenue", "period": "today"},
    ],
)
def test_bad_queries_are_422_in_the_one_error_format(client, project, owner, body):
    query(client, project, owner, status=422, **body)


def test_the_query_string_form_and_csv_export(app, client, project, owner):
    add_orders(
        app,
        project["id"],
        [
            (utc(2025, 3, 3, 12), "paid", "5.50", "shopify", "=cmd()"),
            (utc(2025, 3, 4, 12), "paid", "1.25"),
        ],
    )
    url = f"/api/v1/metrics/{project['id']}/query"
    response = client.get(
        url + "?metrics=revenue,orders&start=2025-03-03&end=2025-03-04&group_by=day"
        "&filter=provider:shopify",
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()
    assert [r["orders"] for r in response.get_json()["rows"]] == [1, 0]
    exported = client.get(
        url + "?metrics=revenue&period=2025-03-03&group_by=customer&format=csv", headers=owner
    )
    assert exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert list(csv.reader(io.StringIO(exported.get_data(as_text=True)))) == [
        ["customer", "revenue"],
        ["'=cmd()", "5.50"],
    ]
    assert_error(
        client.get(url + "?metrics=revenue&period=today&filter=status", headers=owner), 422
    )
    assert_error(client.get(url + "?metrics=revenue&period=today&format=xml", headers=owner), 422)


def test_a_third_party_plugins_metric_works_like_a_first_party_one(app, make_app, project, owner):
    metric = Metric(
        name="big_orders",
        label="Orders of 100 or more",
        unit="count",
        measure="count",
        permission="view_order",
        source=orders_table,
        project_column=orders_table.c.project_id,
        time_column=orders_table.c.order_date,
        condition=orders_table.c.total >= 100,
        dimensions=(Dimension("provider", "Provider", orders_table.c.provider),),
    )
    plugin = make_plugin("bigorders", register_metrics=lambda register: register(metric))
    other = make_app(extra_plugins=[("bigorders", plugin)])
    add_orders(
        other,
        project["id"],
        [(utc(2025, 3, 3), "paid", "150.00"), (utc(2025, 3, 3), "paid", "5.00")],
    )
    client = other.test_client()
    listed = client.get(f"/api/v1/metrics/{project['id']}", headers=owner).get_json()["metrics"]
    assert next(m for m in listed if m["name"] == "big_orders")["plugin"] == "bigorders"
    body = query(
        client, project, owner, metrics=["big_orders"], period="March 2025", compare="previous_year"
    )
    assert body["totals"] == {"big_orders": 1}
    assert body["comparison_period"]["start"] == "2024-03-01"


def test_a_duplicate_or_invalid_metric_disables_its_plugin_with_both_names(make_app):
    duplicate = Metric(
        name="revenue",
        label="Mine",
        unit="count",
        measure="count",
        permission="view_order",
        source=orders_table,
        project_column=orders_table.c.project_id,
    )
    broken = Metric(name="Bad Name", label="x", unit="litres", measure="median", permission="")
    plugin_a = make_plugin(
        "copycat",
        plugin_info=lambda: {"requires": ["orders"]},
        register_permissions=lambda register: register("copycat_thing", "A thing"),
        register_metrics=lambda register: register(duplicate),
    )
    plugin_b = make_plugin("broken", register_metrics=lambda register: register(broken))
    plugin_c = make_plugin("notametric", register_metrics=lambda register: register("revenue"))
    state = make_app(
        extra_plugins=[("copycat", plugin_a), ("broken", plugin_b), ("notametric", plugin_c)]
    ).extensions["nebulo"]
    records = state.plugins.records
    assert records["copycat"].status == "failed"
    assert "orders" in records["copycat"].error and "copycat" in records["copycat"].error
    assert "copycat_thing" not in state.registry.permissions  # nothing half-committed
    assert state.registry.metrics["revenue"].plugin == "orders"
    assert records["broken"].status == "failed"
    assert "lower_snake_case" in records["broken"].error and "median" in records["broken"].error
    assert records["notametric"].status == "failed"


def test_each_metric_needs_its_plugins_read_permission(client, project, owner):
    response = client.post(
        f"/api/v1/projects/{project['id']}/api-keys",
        json={"name": "CRM", "scopes": ["view_customers"]},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    key = {"X-API-Key": response.get_json()["key"]}
    listed = client.get(f"/api/v1/metrics/{project['id']}", headers=key).get_json()
    assert {m["name"] for m in listed["metrics"]} >= {"customers", "new_customers"}
    assert "revenue" not in {m["name"] for m in listed["metrics"]}
    query(client, project, key, metrics=["customers"], period="today")
    query(client, project, key, status=403, metrics=["revenue"], period="today")
