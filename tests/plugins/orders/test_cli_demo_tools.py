"""``nebulo orders import``, the demo year and the assistant tools."""

from __future__ import annotations

import uuid

import pytest

from assistant.tools import ToolContext
from core.context import Context
from core.errors import NotFound
from plugins.orders.demo import SOLD_OUT, load_demo_orders
from plugins.orders.tools import get_order, order_stats, product_stock, search_orders, top_products

HEADER = (
    "external_id,provider,order_date,status,customer_name,customer_email,customer_phone,"
    "currency,product_name,sku,quantity,unit_price\n"
)
CSV = (
    HEADER
    + """A-1,shop,2025-01-10T10:00:00Z,fulfilled,Ann,ann@example.com,,USD,Tea,,2,3.50
A-1,shop,2025-01-10T10:00:00Z,fulfilled,Ann,ann@example.com,,USD,Cake,,1,4.00
A-2,shop,2025-01-11T10:00:00Z,paid,Bob,,,EUR,Tea,,0,3.50
A-2,shop,2025-01-11T10:00:00Z,paid,Bob,,,EUR,Cake,,1,4.00
A-3,shop,not a date,paid,Cid,,,USD,Tea,,1,3.50
,,2025-01-12T09:00:00Z,,,,,,Scone,,3,2.00
A-4,shop,2025-01-12T10:00:00Z,paid,Dee,,,ABC,Tea,,1,1.00
"""
)


def test_csv_import_keeps_good_orders_and_reports_bad_lines_by_number(app, store, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orders", "import", str(path), "--project", store.project["id"]])
    assert result.exit_code == 0, result.output
    assert "imported 2 orders (3 items); 4 lines rejected" in result.output
    assert "line 4: quantity" in result.output and "line 5: skipped" in result.output
    assert "line 6: order_date" in result.output and "line 8: currency" in result.output
    orders = store.client.get(
        f"{store.orders}?sort_by=date&order=asc", headers=store.owner
    ).get_json()
    assert [(o["external_id"], o["total"], o["customer_name"]) for o in orders] == [
        ("A-1", 11.0, "Ann"),
        (None, 6.0, None),
    ]
    assert orders[0]["customer_id"] is not None
    again = runner.invoke(args=["orders", "import", str(path), "--project", store.project["id"]])
    assert (
        "imported 1 orders" in again.output and "A-1 from shop was already imported" in again.output
    )
    missing = runner.invoke(args=["orders", "import", str(path), "--project", str(uuid.uuid4())])
    assert missing.exit_code != 0 and "does not exist" in missing.output


@pytest.fixture
def demo_ctx(app, store):
    state = app.extensions["nebulo"]
    project_id = uuid.UUID(store.project["id"])
    for index in range(5):
        store.client.post(
            f"/api/v1/customers/{project_id}",
            json={"name": f"Demo {index}", "email": f"demo{index}@example.com"},
            headers=store.owner,
        )
    with state.db.session_scope() as session:
        load_demo_orders(session, project_id)
    return Context(
        project_id=project_id, permissions=frozenset(state.registry.permissions), role="owner"
    )


def test_demo_year_has_order_1042_sold_out_products_and_a_weekly_rhythm(app, store, demo_ctx):
    order = store.client.get(f"{store.orders}?q=1042", headers=store.owner).get_json()
    assert [o["number"] for o in order] == [1042]
    products = store.client.get(
        f"{store.catalog}/products?page_size=100", headers=store.owner
    ).get_json()
    assert {p["sku"] for p in products if p["stock"] == 0} == set(SOLD_OUT)
    summary = store.client.get(
        f"{store.orders}/stats/summary?days=365", headers=store.owner
    ).get_json()
    assert summary["total_orders"] > 2500 and summary["orders_by_status"]["fulfilled"] > 2000
    days = store.client.get(
        f"{store.orders}/stats/revenue-by-day?days=365", headers=store.owner
    ).get_json()
    from datetime import date

    by_weekday = [0] * 7
    for day in days:
        by_weekday[date.fromisoformat(day["date"]).weekday()] += day["orders"]
    assert by_weekday[5] > by_weekday[0] * 1.5


def test_tools_answer_from_the_same_services(app, demo_ctx):
    # The assistant calls tools in the app's context: figures come from its metrics registry.
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        ctx = ToolContext(session, demo_ctx)
        order = get_order(ctx, "#1042")
        assert order["number"] == 1042 and order["items"] and isinstance(order["total"], float)
        assert get_order(ctx, order["id"])["number"] == 1042
        with pytest.raises(NotFound):
            get_order(ctx, "999999")
        stats = order_stats(ctx, days=7)
        assert stats["period_days"] == 7 and stats["total_orders"] > 0
        pending = search_orders(ctx, status="fulfilled", days=30)
        assert 0 < pending["count"] <= 20 and {o["status"] for o in pending["orders"]} == {
            "fulfilled"
        }
        assert len(top_products(ctx, days=30, limit=3)) == 3
        assert product_stock(ctx, "MER-004")[0]["stock"] == 0
        assert product_stock(ctx, "croissant")[0]["name"] == "Butter Croissant"
        customer_ctx = ToolContext(
            session,
            Context(
                project_id=demo_ctx.project_id,
                permissions=demo_ctx.permissions,
                audience="customer",
                customer_id=uuid.uuid4(),
            ),
        )
        with pytest.raises(NotFound):
            get_order(customer_ctx, "1042")
        assert search_orders(customer_ctx)["count"] == 0
        assert get_order.permission == "view_order" and "1042" in " ".join(get_order.examples)


def test_csv_import_rejects_only_the_orders_whose_customer_is_refused(app, store, tmp_path):
    store.client.post(
        f"/api/v1/customers/{store.project['id']}",
        json={"name": "Known Ann", "email": "ann@example.com", "phone": "+14155550100"},
        headers=store.owner,
    )
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + "B-1,shop,2025-02-01T10:00:00Z,paid,Ann,ANN@example.com,,USD,Tea,,1,3.50\n"
        + "B-2,shop,2025-02-02T10:00:00Z,paid,Eve,,call me maybe,USD,Tea,,1,3.50\n"
        + "B-2,shop,2025-02-02T10:00:00Z,paid,Eve,,call me maybe,USD,Cake,,1,4.00\n"
        + "B-3,shop,2025-02-03T10:00:00Z,paid,Fay,fay@example.com,+14155550111,USD,Tea,,2,3.50\n"
    )
    result = app.test_cli_runner().invoke(
        args=["orders", "import", str(path), "--project", store.project["id"]]
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 orders (2 items); 2 lines rejected" in result.output
    assert "line 3: " in result.output and "phone" in result.output.split("line 3: ")[1]
    orders = store.client.get(
        f"{store.orders}?sort_by=date&order=asc", headers=store.owner
    ).get_json()
    assert [o["external_id"] for o in orders] == ["B-1", "B-3"]
    customers = store.client.get(
        f"/api/v1/customers/{store.project['id']}?sort_by=name", headers=store.owner
    ).get_json()
    by_email = {c["email"]: c for c in customers}
    assert set(by_email) == {"ann@example.com", "fay@example.com"}
    assert orders[0]["customer_id"] == by_email["ann@example.com"]["id"]
    assert by_email["fay@example.com"]["phone"] == "+14155550111"
