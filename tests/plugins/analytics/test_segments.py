"""Customer segments: RFM from orders, the eleven named segments, k-means and DBSCAN runs as
jobs, what the routes, tools and metrics read back, and the bad inputs."""

from __future__ import annotations

import pytest

from assistant.tools import ToolContext
from core.context import Context
from core.errors import Invalid, NotFound
from plugins.analytics import rfm, segments, tools
from tests.plugins.analytics.conftest import HABITS, sales_history

CUSTOMERS = sum(count for count, *_ in HABITS.values())


def run(shop, algorithm: str = "kmeans", **body) -> dict:
    response = shop.client.post(
        f"{shop.url}/segments/runs", json={"algorithm": algorithm, **body}, headers=shop.owner
    )
    assert response.status_code == 202, response.get_json()
    job = shop.job(response.get_json()["job_id"])
    assert (job.status, job.progress) == ("finished", 100), job.error
    return job.result


def test_a_kmeans_run_puts_every_customer_in_one_named_segment(shop):
    shop.add_orders(sales_history(200))
    summary = run(shop)
    assert summary["algorithm"] == "kmeans"
    assert summary["customers"] == CUSTOMERS
    assert [row["RFMCategory"] for row in summary["segmentation"]] == list(rfm.SEGMENTS)
    assert sum(row["count"] for row in summary["segmentation"]) == CUSTOMERS
    assert sum(row["count"] for row in summary["clusters"]) == CUSTOMERS
    assert summary["parameters"]["chosen_by"] == "silhouette"
    assert summary["parameters"]["clusters"] in rfm.K_RANGE
    assert -1 <= summary["evaluation"]["silhouette_score"] <= 1
    assert summary["evaluation"]["davies_bouldin_index"] > 0

    listed = shop.client.get(
        f"{shop.url}/segments?model=kmeans&page_size=500", headers=shop.owner
    ).get_json()
    assert len(listed) == CUSTOMERS
    assert len({row["customer_name"] for row in listed}) == CUSTOMERS
    assert all(row["rfm_segment"] in rfm.SEGMENTS for row in listed)
    assert [row["total"] for row in listed] == sorted(
        (row["total"] for row in listed), reverse=True
    )
    assert set(listed[0]) >= {"customer_name", "total", "order_count", "segment"}  # seed 000


def test_habits_land_in_the_segments_they_deserve(shop):
    shop.add_orders(sales_history(200))
    run(shop, clusters=4)
    listed = shop.client.get(f"{shop.url}/segments?page_size=500", headers=shop.owner).get_json()
    by_name = {row["customer_name"]: row for row in listed}
    regulars = [row for name, row in by_name.items() if name.startswith("Regular")]
    gone = [row for name, row in by_name.items() if name.startswith("Gone")]
    assert all(row["r_score"] >= 4 and row["f_score"] >= 4 for row in regulars)
    assert sum(row["rfm_segment"] in ("Champions", "Loyal Customers") for row in regulars) >= 10
    assert all(row["r_score"] == 1 for row in gone)
    assert all(
        row["rfm_segment"] in ("Lost", "Hibernating", "At Risk", "Can't Lose Them") for row in gone
    )
    assert len({row["segment"] for row in listed}) == 4  # the k that was asked for


def test_a_dbscan_run_takes_eps_from_the_k_distance_curve(shop):
    shop.add_orders(sales_history(200))
    summary = run(shop, "dbscan")
    assert summary["algorithm"] == "dbscan"
    assert summary["parameters"]["eps"] > 0
    assert summary["parameters"]["min_samples"] == 6
    assert sum(row["count"] for row in summary["segmentation"]) == CUSTOMERS
    listed = shop.client.get(f"{shop.url}/segments?model=dbscan&page_size=500", headers=shop.owner)
    assert {row["segment"] for row in listed.get_json()} <= {
        *range(summary["parameters"]["clusters"]),
        -1,
    }
    # the k-means list is not there: runs are kept per algorithm
    assert (
        shop.client.get(f"{shop.url}/segments?model=kmeans", headers=shop.owner).status_code == 404
    )


def test_the_summary_route_gives_seed_003s_customer_segments(shop):
    shop.add_orders(sales_history(200))
    run(shop)
    summary = shop.client.get(f"{shop.url}/segments/summary?model=kmeans", headers=shop.owner)
    body = summary.get_json()
    assert set(body) >= {"algorithm", "segmentation", "evaluation"}
    assert set(body["segmentation"][0]) == {"RFMCategory", "count", "total_revenue"}
    assert set(body["evaluation"]) >= {"silhouette_score", "davies_bouldin_index"}


def test_bad_segment_requests_get_a_clear_4xx(shop):
    assert shop.client.get(f"{shop.url}/segments", headers=shop.owner).status_code == 404
    for body in ({"algorithm": "hdbscan"}, {"clusters": 1}, {"clusters": 40}, {"k": 3}):
        response = shop.client.post(f"{shop.url}/segments/runs", json=body, headers=shop.owner)
        assert response.status_code == 422, body
    bad_model = shop.client.get(f"{shop.url}/segments?model=spectral", headers=shop.owner)
    assert bad_model.status_code == 422
    bad_segment = shop.client.get(f"{shop.url}/segments?segment=Whales", headers=shop.owner)
    assert bad_segment.status_code == 422


def test_a_project_without_enough_customers_is_refused_with_the_count(shop):
    with pytest.raises(Invalid) as no_orders:
        shop.call(segments.run_segmentation, "kmeans")
    assert "No orders with revenue" in no_orders.value.detail
    firsts = {order.customer_name: order for order in sales_history(60) if order.customer_name}
    shop.add_orders(list(firsts.values())[:3])
    with pytest.raises(Invalid) as few:
        shop.call(segments.run_segmentation, "kmeans")
    assert few.value.errors == {"customers": [f"needs {segments.MIN_CUSTOMERS}, has 3"]}


def test_segment_list_is_limited_to_five_a_minute(shop):
    statuses = [
        shop.client.get(f"{shop.url}/segments", headers=shop.owner).status_code for _ in range(6)
    ]
    assert statuses == [404] * 5 + [429]


def test_viewers_see_segments_but_operators_run_them(shop):
    shop.add_orders(sales_history(200))
    viewer = shop.headers_of("viewer")
    refused = shop.client.post(f"{shop.url}/segments/runs", json={}, headers=viewer)
    assert refused.status_code == 403
    run(shop)
    assert shop.client.get(f"{shop.url}/segments", headers=viewer).status_code == 200


@pytest.fixture
def as_viewer(app, shop):
    def call(tool, **arguments):
        permissions = app.extensions["nebulo"].registry.permissions_for_role("viewer")
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            context = Context(project_id=shop.project_id, permissions=permissions)
            return tool.run(ToolContext(session, context), arguments)

    return call


def test_tools_name_the_segments_customers_and_counts(shop, as_viewer):
    shop.add_orders(sales_history(200))
    with pytest.raises(NotFound):
        as_viewer(tools.segment_overview)
    run(shop)
    champions = as_viewer(tools.customers_in_segment, segment="champions", limit=3)
    assert champions["segment"] == "Champions"
    assert champions["of_customers"] == CUSTOMERS
    assert len(champions["top"]) == min(3, champions["customers"])
    at_risk = as_viewer(tools.customers_in_segment, segment="At Risk")
    overview = as_viewer(tools.segment_overview)
    counts = {row["RFMCategory"]: row["count"] for row in overview["segmentation"]}
    assert at_risk["customers"] == counts["At Risk"]
    with pytest.raises(Invalid) as unknown:
        as_viewer(tools.customers_in_segment, segment="whales")
    assert "Champions" in unknown.value.errors["segment"][0]


def test_segment_metrics_count_the_current_run(shop):
    shop.add_orders(sales_history(200))
    summary = run(shop)
    run(shop, "dbscan")  # the newest run is the current one, whatever its algorithm
    response = shop.client.get(
        f"/api/v1/metrics/{shop.project['id']}/query",
        query_string={"metrics": "segment_customers", "group_by": "segment", "period": "today"},
        headers=shop.owner,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totals"]["segment_customers"] == CUSTOMERS
    expected = {r["RFMCategory"]: r["count"] for r in summary["segmentation"] if r["count"]}
    assert {row["segment"]: row["segment_customers"] for row in body["rows"]} == expected


def test_the_segment_command_prints_segments_and_scores(shop):
    shop.add_orders(sales_history(200))
    result = shop.app.test_cli_runner().invoke(
        args=["analytics", "segment", "--project", shop.project["id"], "--clusters", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "Champions" in result.output
    assert "kmeans: 3 clusters, silhouette" in result.output


def test_rfm_names_cover_the_whole_grid():
    cells = {rfm.GRID[r][fm - 1] for r in range(1, 6) for fm in range(1, 6)}
    assert cells == set(rfm.SEGMENTS)
    assert segments.canonical_segment("can't lose them") == "Can't Lose Them"
