"""Seed 002 (churn-risk service) against Nebulo: every example body of its document, answered
in its documented shapes, pagination and ``{"error"}`` bodies."""

from __future__ import annotations

import uuid

import pytest

from core.jobs import wait_for_jobs
from plugins.customers.models import Customer
from plugins.customers.synthetic import generate_customers
from tests.plugins.compat.conftest import PASSWORD
from tests.plugins.compat.shapes import check_shape

CUSTOMER_BODY = {
    "name": "string",
    "email": "string@example.com",
    "phone": "+998901234567",
    "age": 0,
    "tenure": 0,
    "balance": 0.0,
    "products": 0,
    "credit_card": True,
    "active": True,
    "salary": 0.0,
}
CUSTOMER = {
    "id": 0,
    "name": "string",
    "email": "string",
    "phone": "string",
    "risk_score": 0.0,
    "last_updated": "2024-01-01T00:00:00Z",
}
CUSTOMER_DETAIL = {
    **CUSTOMER,
    "risk_history": [{"score": 0.0, "timestamp": "2024-01-01T00:00:00Z"}],
}
PAGE = {"count": 0, "next": "string", "previous": "string", "results": [CUSTOMER]}
PAGE_NULLS = ("$.next", "$.previous", "$.results[].risk_score")
PREDICTION = {
    "customer_id": 0,
    "risk_score": 0.0,
    "prediction_time": "2024-01-01T00:00:00Z",
    "features_used": {
        "age": 0,
        "tenure": 0,
        "balance": 0.0,
        "products": 0,
        "credit_card": True,
        "active": True,
        "salary": 0.0,
    },
}
TASK = {"task_id": "string", "status": "string", "message": "string"}
TASK_STATUS = {
    "task_id": "string",
    "status": "string",
    "progress": 0,
    "message": "string",
    "completed_at": "2024-01-01T00:00:00Z",
}
DASHBOARD = {
    "high_risk_customers": [
        {"id": 0, "name": "string", "risk_score": 0.0, "last_updated": "2024-01-01T00:00:00Z"}
    ],
    "risk_distribution": {"low": 0, "medium": 0, "high": 0},
    "risk_trend": [{"date": "2024-01-01", "average_risk": 0.0}],
}
ALERT_PAGE = {
    "count": 0,
    "next": "string",
    "previous": "string",
    "results": [
        {
            "id": 0,
            "customer_id": 0,
            "alert_type": "string",
            "message": "string",
            "was_sent": True,
            "error_message": "string",
            "created_at": "2024-01-01T00:00:00Z",
        }
    ],
}
MODEL_INFO = {
    "model_version": "string",
    "last_trained": "2024-01-01T00:00:00Z",
    "metrics": {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1_score": 0.0},
    "feature_importance": {"age": 0.0, "tenure": 0.0, "balance": 0.0},
}


@pytest.fixture
def headers(client, store) -> dict[str, str]:
    """Seed 002's login: ``username`` and ``password`` for ``access``, used as a bearer."""
    response = client.post(
        "/api/auth/login/", json={"username": store.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    check_shape(response.get_json(), {"access": "string", "refresh": "string"})
    return {"Authorization": f"Bearer {response.get_json()['access']}"}


def created_customer(client, headers, **changes) -> dict:
    response = client.post("/api/customers/", json={**CUSTOMER_BODY, **changes}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_refresh_exchanges_the_refresh_token_for_an_access_token(client, store):
    tokens = client.post(
        "/api/auth/login/", json={"username": store.username, "password": PASSWORD}
    ).get_json()
    response = client.post("/api/auth/refresh/", json={"refresh": tokens["refresh"]})
    assert response.status_code == 200
    check_shape(response.get_json(), {"access": "string"})
    assert (
        client.get(
            "/api/customers/", headers={"Authorization": f"Bearer {response.get_json()['access']}"}
        ).status_code
        == 200
    )


def test_a_wrong_password_is_401_in_the_error_body(client, store):
    response = client.post("/api/auth/login/", json={"username": store.username, "password": "x"})
    assert response.status_code == 401
    check_shape(response.get_json(), {"error": "string"})
    assert "detail" not in response.get_json() or "code" not in response.get_json()


def test_customer_create_get_update_delete_answer_the_documented_shapes(client, headers):
    customer = created_customer(client, headers)
    check_shape(customer, CUSTOMER, nullable=("$.risk_score",))
    url = f"/api/customers/{customer['id']}/"
    detail = client.get(url, headers=headers)
    assert detail.status_code == 200
    check_shape(detail.get_json(), CUSTOMER_DETAIL, nullable=("$.risk_score",))
    updated = client.put(url, json={**CUSTOMER_BODY, "name": "Renamed"}, headers=headers)
    assert updated.status_code == 200
    check_shape(updated.get_json(), CUSTOMER, nullable=("$.risk_score",))
    assert updated.get_json()["name"] == "Renamed"
    deleted = client.delete(url, headers=headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert client.get(url, headers=headers).status_code == 404


def test_the_list_pages_with_count_next_previous_and_sorts_and_searches(client, headers):
    for name in ("Cleo", "Ada", "Bea"):
        created_customer(client, headers, name=name, email=f"{name.lower()}@example.com")
    first = client.get(
        "/api/customers/?page=1&page_size=2&sort_by=name&order=asc", headers=headers
    ).get_json()
    check_shape(first, PAGE, nullable=PAGE_NULLS)
    assert first["count"] == 3 and first["previous"] is None
    assert [row["name"] for row in first["results"]] == ["Ada", "Bea"]
    second = client.get(first["next"], headers=headers).get_json()
    assert [row["name"] for row in second["results"]] == ["Cleo"]
    assert second["next"] is None and "page=1" in second["previous"]
    searched = client.get("/api/customers/?search=e&page_size=1&sort_by=name", headers=headers)
    following = client.get(searched.get_json()["next"], headers=headers).get_json()
    assert [row["name"] for row in following["results"]] == ["Bea"]  # every email has an e
    assert "search=e" in following["next"] and "sort_by=name" in following["next"]
    found = client.get("/api/customers/?search=bea&page_size=1", headers=headers).get_json()
    assert [row["name"] for row in found["results"]] == ["Bea"]
    descending = client.get("/api/customers/?sort_by=name&order=desc", headers=headers).get_json()
    assert [row["name"] for row in descending["results"]] == ["Cleo", "Bea", "Ada"]


def test_bad_input_answers_400_with_error_and_detail(client, headers):
    response = client.post("/api/customers/", json={**CUSTOMER_BODY, "age": "old"}, headers=headers)
    assert response.status_code == 400
    body = response.get_json()
    check_shape(body, {"error": "string", "detail": "string"})
    assert "age" in body["detail"]
    bad_sort = client.get("/api/customers/?sort_by=salary", headers=headers)
    assert bad_sort.status_code == 400 and "sort_by" in bad_sort.get_json()["detail"]


def test_missing_credentials_unknown_ids_and_paths_answer_in_the_error_body(app, client, headers):
    unauthenticated = app.test_client().get("/api/customers/")
    assert unauthenticated.status_code == 401
    check_shape(unauthenticated.get_json(), {"error": "string"})
    missing = client.get(f"/api/customers/{uuid.uuid4()}/", headers=headers)
    assert missing.status_code == 404 and set(missing.get_json()) == {"error"}
    malformed = client.get("/api/customers/123/", headers=headers)
    assert malformed.status_code == 400 and "error" in malformed.get_json()
    not_allowed = client.patch("/api/model/info/", headers=headers)
    assert not_allowed.status_code == 405 and "error" in not_allowed.get_json()


def test_another_projects_customer_is_404(client, headers, other_store):
    theirs = other_store.nebulo("POST", "customers", json={"name": "Theirs"})
    assert client.get(f"/api/customers/{theirs['id']}/", headers=headers).status_code == 404
    assert (
        client.post(
            "/api/predict/", json={"customer_id": theirs["id"]}, headers=headers
        ).status_code
        == 404
    )


def test_predicting_before_any_training_is_a_409_error(client, headers):
    customer = created_customer(client, headers)
    response = client.post("/api/predict/", json={"customer_id": customer["id"]}, headers=headers)
    assert response.status_code == 409
    check_shape(response.get_json(), {"error": "string"})
    info = client.get("/api/model/info/", headers=headers)
    assert info.status_code == 404 and "error" in info.get_json()


def test_training_then_predicting_monitoring_and_batch_follow_the_document(
    app, client, headers, store
):
    rows = [
        Customer(project_id=uuid.UUID(store.project["id"]), **values)
        for values in generate_customers(600, seed=7)
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(rows)
    ids = [str(row.id) for row in rows]

    started = client.post("/api/model/train/", headers=headers)
    assert started.status_code == 202, started.get_json()
    check_shape(started.get_json(), TASK)
    wait_for_jobs(app, timeout=120)
    status = client.get(f"/api/model/train/{started.get_json()['task_id']}/", headers=headers)
    assert status.status_code == 200
    check_shape(status.get_json(), TASK_STATUS)
    assert status.get_json()["status"] == "finished" and status.get_json()["progress"] == 100

    info = client.get("/api/model/info/", headers=headers).get_json()
    check_shape(info, MODEL_INFO)
    assert info["model_version"] == "1"

    prediction = client.post("/api/predict/", json={"customer_id": ids[0]}, headers=headers)
    assert prediction.status_code == 200, prediction.get_json()
    check_shape(prediction.get_json(), PREDICTION)
    assert 0.0 <= prediction.get_json()["risk_score"] <= 1.0

    batch = client.post("/api/predict/batch/", json={"customer_ids": ids[:50]}, headers=headers)
    assert batch.status_code == 202
    check_shape(batch.get_json(), TASK)
    wait_for_jobs(app, timeout=120)
    done = client.get(f"/api/model/train/{batch.get_json()['task_id']}/", headers=headers)
    assert done.get_json()["status"] == "finished"

    dashboard = client.get("/api/monitoring/dashboard/", headers=headers).get_json()
    check_shape(dashboard, DASHBOARD)
    assert sum(dashboard["risk_distribution"].values()) == 50
    alerts = client.get(
        f"/api/monitoring/alerts/?page=1&page_size=5&customer_id={ids[0]}"
        "&start_date=2020-01-01&end_date=2100-01-01",
        headers=headers,
    )
    assert alerts.status_code == 200
    check_shape(
        alerts.get_json(),
        ALERT_PAGE,
        nullable=("$.next", "$.previous", "$.results[].error_message"),
    )


def test_batch_of_unknown_customers_is_refused_before_any_job(client, headers, store, app):
    response = client.post(
        "/api/predict/batch/", json={"customer_ids": [str(uuid.uuid4())]}, headers=headers
    )
    assert response.status_code in (404, 409, 400)
    assert "error" in response.get_json()
