"""Seed 000 (NebuloViz) against Nebulo: its curl examples and every endpoint's body, answered
in its shapes, ``limit``/``offset`` paging and ``{"detail"}`` errors."""

from __future__ import annotations

import uuid

import pytest

from core.jobs import wait_for_jobs
from tests.plugins.compat.conftest import PASSWORD
from tests.plugins.compat.shapes import check_shape

ITEMS = [
    {"product_name": "Widget A", "quantity": 10, "price": 99.99},
    {"product_name": "Widget B", "quantity": 5, "price": 49.99},
]
ORDER = {
    "order_id": 123,
    "customer_name": "John Doe",
    "items": ITEMS,
    "created_at": "2021-11-01T12:34:56",
}
ROW = {"order_id": 123, "customer_name": "John Doe", "created_at": "2021-11-01T12:34:56"}


@pytest.fixture
def headers(client, store) -> dict[str, str]:
    """000's login: ``username`` and ``password`` at ``/api/v1/auth/login/``."""
    response = client.post(
        "/api/v1/auth/login/", json={"username": store.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    check_shape(response.get_json(), {"access_token": "your_jwt_token", "token_type": "bearer"})
    assert response.get_json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_the_curl_example_creates_an_order(client, headers):
    response = client.post(
        "/api/v1/orders/",
        headers={**headers, "Content-Type": "application/json"},
        data='{"customer_name": "John Doe", "items": '
        '[{"product_name": "Widget A", "quantity": 10, "price": 99.99}]}',
    )
    assert response.status_code == 201, response.get_json()
    check_shape(response.get_json(), {"order_id": 123})


def test_an_order_is_read_listed_and_deleted_as_documented(client, headers, store):
    created = client.post(
        "/api/v1/orders/", json={"customer_name": "John Doe", "items": ITEMS}, headers=headers
    ).get_json()
    url = f"/api/v1/orders/{created['order_id']}/"
    order = client.get(url, headers=headers)
    assert order.status_code == 200
    check_shape(order.get_json(), ORDER)
    assert order.get_json()["items"] == ITEMS
    client.post(
        "/api/v1/orders/", json={"customer_name": "Jane Smith", "items": ITEMS}, headers=headers
    )
    everything = client.get("/api/v1/orders/", headers=headers).get_json()
    check_shape(everything, [ROW])
    assert [row["customer_name"] for row in everything] == ["Jane Smith", "John Doe"]
    second = client.get("/api/v1/orders/?limit=1&offset=1", headers=headers).get_json()
    assert [row["customer_name"] for row in second] == ["John Doe"]
    # Nebulo's own path of the project, without the trailing slash, still lists them.
    assert len(store.nebulo("GET", "orders")) == 2
    deleted = client.delete(url, headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json() == {"message": "Order deleted successfully."}
    missing = client.get(url, headers=headers)
    assert missing.status_code == 404
    check_shape(missing.get_json(), {"detail": "Error message describing what went wrong."})


def test_bad_input_and_missing_credentials_answer_with_detail(client, headers):
    no_items = client.post("/api/v1/orders/", json={"customer_name": "X"}, headers=headers)
    assert no_items.status_code == 422 and "items" in no_items.get_json()["detail"]
    bad_limit = client.get("/api/v1/orders/?limit=0", headers=headers)
    assert bad_limit.status_code == 422 and "limit" in bad_limit.get_json()["errors"]
    anonymous = client.get("/api/v1/orders/")
    assert anonymous.status_code == 401 and "detail" in anonymous.get_json()


def test_another_projects_order_is_404(client, headers, other_store):
    theirs = other_store.nebulo("POST", "orders", json={"customer_name": "Theirs", "items": ITEMS})
    assert client.get(f"/api/v1/orders/{theirs['id']}/", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/orders/{theirs['id']}/", headers=headers).status_code == 404


def test_the_forecast_example_says_what_is_missing_before_a_forecast_is_fitted(client, headers):
    forecast = client.get(
        "/api/v1/ai/predict-sales/?future_dates=2023-12-01&future_dates=2023-12-02",
        headers=headers,
    )
    assert forecast.status_code in (409, 422), forecast.get_json()
    assert "detail" in forecast.get_json()


def test_segment_customers_lists_the_newest_segmentation(app, client, headers, store):
    missing = client.get("/api/v1/ai/segment-customers/", headers=headers)
    assert missing.status_code == 404 and "segmentation" in missing.get_json()["detail"]
    for number, name in enumerate(
        ("Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lou")
    ):
        for _ in range(1 + number % 3):
            items = [
                {"product_name": "Widget", "quantity": 1 + number, "price": 10.0 * (number + 1)}
            ]
            client.post(
                "/api/v1/orders/", json={"customer_name": name, "items": items}, headers=headers
            )
    started = client.post(
        f"/api/v1/analytics/{store.project['id']}/segments/runs",
        json={"algorithm": "kmeans"},
        headers=store.headers,
    )
    assert started.status_code == 202, started.get_json()
    wait_for_jobs(app, timeout=120)
    response = client.get("/api/v1/ai/segment-customers/", headers=headers)
    assert response.status_code == 200, response.get_json()
    check_shape(
        response.get_json(),
        [{"customer_name": "John Doe", "total": 5000.0, "order_count": 10, "segment": 1}],
    )
    totals = [row["total"] for row in response.get_json()]
    assert len(totals) == 12 and totals == sorted(totals, reverse=True)


def test_an_unknown_id_of_the_document_is_a_404(client, headers):
    assert client.get(f"/api/v1/orders/{uuid.uuid4()}/", headers=headers).status_code == 404
