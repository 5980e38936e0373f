"""The assistant's metrics tool: its schema lists exactly the registered metrics and dimensions
(a third-party plugin's included), and Gemini and OpenAI-compatible models call it through
their wire formats to get the engine's figures, with the period stated as dates."""

from __future__ import annotations

import pytest

from core.metrics import Dimension, Metric
from tests.assistant.conftest import Caller
from tests.assistant.test_providers import WIRES
from tests.core.helpers import make_plugin
from tests.core.test_metrics import add_orders, orders_table, utc

BIG_ORDERS = Metric(
    name="big_orders",
    label="Orders of 100 or more",
    unit="count",
    measure="count",
    permission="view_big_orders",
    source=orders_table,
    project_column=orders_table.c.project_id,
    time_column=orders_table.c.order_date,
    condition=orders_table.c.total >= 100,
    dimensions=(Dimension("terminal", "Terminal", orders_table.c.provider),),
)


def third_party_plugin():
    """A plugin whose metric needs a permission only admins and owners hold."""
    return make_plugin(
        "bigorders",
        register_permissions=lambda register: register(
            "view_big_orders", "See big orders", min_role="admin"
        ),
        register_metrics=lambda register: register(BIG_ORDERS),
    )


def tool_schema(app) -> dict:
    with app.app_context():
        return app.extensions["nebulo"].registry.tools["query_metrics"].parameters


def declared_schema(wire, request) -> dict:
    """The metrics tool's parameters as the provider's request carried them."""
    if wire.provider == "openai":
        tools = {t["function"]["name"]: t["function"] for t in request["tools"]}
        return tools["query_metrics"]["parameters"]
    declarations = {d["name"]: d for tool in request["tools"] for d in tool["functionDeclarations"]}
    return declarations["query_metrics"]["parameters_json_schema"]  # as google-genai sends it


def test_the_schema_lists_exactly_the_registered_metrics_and_dimensions(app, make_app):
    other = make_app(extra_plugins=[("bigorders", third_party_plugin())])
    schema = tool_schema(other)["properties"]
    registry = other.extensions["nebulo"].registry.metrics
    assert schema["metrics"]["items"]["enum"] == sorted(registry)
    assert "big_orders" in schema["metrics"]["items"]["enum"]
    dimensions = schema["group_by"]["items"]["enum"]
    assert {"terminal", "status", "channel", "day", "weekday", "hour"} <= set(dimensions)
    assert dimensions == sorted({d for m in registry.values() for d in m.dimension_names})
    assert schema["compare"]["enum"] == ["previous_period", "previous_year"]
    without = tool_schema(app)["properties"]
    assert "big_orders" not in without["metrics"]["items"]["enum"]
    assert "terminal" not in without["group_by"]["items"]["enum"]


@pytest.fixture(params=WIRES)
def wire(request):
    return request.param


@pytest.fixture
def remote_with_metrics(make_app, fake_server, wire) -> Caller:
    """All plugins plus the third-party metric, with a remote provider on the fake server."""
    fake_server.authorize = wire.authorize
    settings = {"NEBULO_ASSISTANT_RETRY_DELAY_SECONDS": 0.01, **wire.settings(fake_server.url)}
    app = make_app(extra_plugins=[("bigorders", third_party_plugin())], plugin=settings)
    return Caller(app)


def test_a_remote_model_calls_the_metrics_tool_and_gets_the_engines_figure(
    remote_with_metrics, fake_server, wire
):
    caller = remote_with_metrics
    add_orders(
        caller.app,
        caller.project_id,
        [
            (utc(2025, 3, 3, 10), "paid", "150.00"),
            (utc(2025, 3, 20, 10), "paid", "240.50"),
            (utc(2025, 3, 21, 10), "paid", "9.99"),
            (utc(2025, 2, 10, 10), "paid", "120.00"),
        ],
    )
    expected = caller.client.post(
        f"/api/v1/metrics/{caller.project_id}/query",
        json={"metrics": ["big_orders", "revenue"], "period": "March 2025"},
        headers=caller.headers,
    ).get_json()

    def answer(request):
        result = wire.tool_results(request)[0]
        return wire.text(f"{result['totals']['big_orders']} big orders.")

    arguments = {
        "metrics": ["big_orders", "revenue"],
        "period": "March 2025",
        "compare": "previous_period",
    }
    fake_server.replies = [wire.call("query_metrics", arguments), answer]
    reply = caller.query("how many large tickets did we ring up in march 2025?")

    first, second = fake_server.requests
    declared = declared_schema(wire, first)["properties"]
    assert (
        declared["metrics"]["items"]["enum"]
        == tool_schema(caller.app)["properties"]["metrics"]["items"]["enum"]
    )
    assert "big_orders" in declared["metrics"]["items"]["enum"]
    assert "terminal" in declared["group_by"]["items"]["enum"]
    result = wire.tool_results(second)[0]
    assert result["totals"] == expected["totals"] == {"big_orders": 2, "revenue": 400.49}
    assert result["period"] == {"start": "2025-03-01", "end": "2025-03-31", "label": "March 2025"}
    assert result["comparison_period"]["start"] == "2025-02-01"
    assert result["comparison_totals"]["big_orders"] == 1
    assert reply["reply"] == "2 big orders."


def test_unknown_metrics_and_unreadable_periods_go_back_to_the_model_as_errors(
    remote_with_metrics, fake_server, wire
):
    caller = remote_with_metrics
    fake_server.replies = [
        wire.call("query_metrics", {"metrics": ["profit_margin"], "period": "today"}),
        wire.call("query_metrics", {"metrics": ["revenue"], "period": "last wek"}),
        wire.call("query_metrics", {"metrics": ["revenue"], "filters": ["status"]}),
        wire.text("I cannot answer that."),
    ]
    caller.query("what margin did we make?")
    errors = [result["error"] for result in wire.tool_results(fake_server.requests[-1])]
    assert "profit_margin" in errors[0] and "revenue" in errors[0]
    assert "last wek" in errors[1]
    assert "dimension:value" in errors[2]


def test_the_engine_enforces_each_metrics_permission(remote_with_metrics, fake_server, wire):
    caller = remote_with_metrics
    viewer = caller.member_headers("viewer")
    fake_server.replies = [
        wire.call("query_metrics", {"metrics": ["big_orders"], "period": "today"}),
        wire.call("query_metrics", {"metrics": ["revenue"], "period": "today"}),
        wire.text("Done."),
    ]
    caller.query("how many large tickets today and how are sales?", headers=viewer)
    denied, allowed = wire.tool_results(fake_server.requests[-1])
    assert "view_big_orders" in denied["error"]
    assert allowed["totals"] == {"revenue": 0}
    assert allowed["period"]["label"] == "today"


def test_the_offline_planner_reads_metric_and_dimension_names_from_the_question(app):
    from assistant.providers.offline import extract_arguments

    tool = app.extensions["nebulo"].registry.tools["query_metrics"]
    with app.app_context():
        arguments = extract_arguments(tool, "show revenue next to items sold per weekday please")
    assert arguments["metrics"] == ["items_sold", "revenue"]
    assert arguments["group_by"] == ["weekday"]
    with app.app_context():
        assert "metrics" not in extract_arguments(tool, "nothing measurable in here at all")
