"""The churn model, predictions, batch scoring, the risk dashboard and alerts."""

from __future__ import annotations

import uuid

import pytest

from core.jobs import enqueue, wait_for_jobs
from plugins.customers import churn, jobs
from tests.core.helpers import assert_error
from tests.core.test_webhooks import (  # noqa: F401 - fixtures: a local receiver, fast retries
    quick_retries,
    receive,
)
from tests.plugins.customers.conftest import customers_url

METRICS = {"accuracy", "precision", "recall", "f1_score", "roc_auc"}


def job(client, headers, job_id) -> dict:
    return client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()


def test_predicting_without_a_model_is_a_409_that_says_how_to_train(
    client, owner, project, add_customers
):
    [customer_id] = add_customers(project, count=1)
    body = assert_error(
        client.post(
            customers_url(project, "/predict"), json={"customer_id": customer_id}, headers=owner
        ),
        409,
        "CONFLICT",
    )
    assert "/model/train" in body["detail"]
    assert_error(client.post(customers_url(project, "/predict/batch"), json={}, headers=owner), 409)
    assert_error(client.get(customers_url(project, "/model"), headers=owner), 404)
    detail = client.get(customers_url(project, f"/{customer_id}"), headers=owner).get_json()
    assert detail["risk_score"] is None and detail["risk_history"] == []


def test_training_is_a_job_and_reports_metrics_and_importance(trained, client, owner, project):
    info = client.get(customers_url(project, "/model"), headers=owner).get_json()
    assert info["model_version"] == 1 and info["is_active"] is True
    assert set(info["metrics"]) == METRICS
    # The model reaches 0.888 on these 600 generated customers (both databases): a little
    # below it, so a weaker model or a broken feature fails here.
    assert info["metrics"]["roc_auc"] >= 0.86
    importance = info["feature_importance"]
    assert set(importance) == set(churn.FEATURES)
    top_two = sorted(importance, key=importance.get, reverse=True)[:2]
    # The generator's two strongest signals (training sorts its rows, so both databases agree).
    assert top_two == ["age", "products"]
    assert info["training_rows"] == len(trained) and info["last_trained"]


def test_train_job_result_and_a_second_version(app, trained, client, owner, project):
    response = client.post(customers_url(project, "/model/train"), headers=owner)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["message"]
    wait_for_jobs(app, timeout=120)
    finished = job(client, owner, body["job_id"])
    assert finished["status"] == "finished" and finished["progress"] == 100
    assert finished["result"]["model_version"] == 2
    assert set(finished["result"]["metrics"]) == METRICS
    assert (
        client.get(customers_url(project, "/model"), headers=owner).get_json()["model_version"] == 2
    )


def test_training_on_one_class_is_refused_up_front(client, owner, project, add_customers):
    add_customers(project, count=80, churned=False)
    body = assert_error(client.post(customers_url(project, "/model/train"), headers=owner), 409)
    assert "both churned and retained" in body["detail"]


def test_training_on_too_few_rows_is_refused_up_front(client, owner, project, add_customers):
    add_customers(project, count=20)
    body = assert_error(client.post(customers_url(project, "/model/train"), headers=owner), 409)
    assert "at least 50" in body["detail"]


def test_a_training_job_on_one_class_fails_with_a_clear_error(
    app, client, owner, project, add_customers
):
    add_customers(project, count=80, churned=True)
    with app.test_request_context():
        job_id = enqueue(jobs.train_churn_model, project["id"], project_id=project["id"])
    wait_for_jobs(app, timeout=60)
    failed = job(client, owner, job_id)
    assert failed["status"] == "failed"
    assert "both churned and retained" in failed["error"]
    assert_error(client.get(customers_url(project, "/model"), headers=owner), 404)


def test_only_admins_train(client, project, trained, member_headers):
    operator = member_headers("operator")
    assert_error(client.post(customers_url(project, "/model/train"), headers=operator), 403)
    viewer = member_headers("viewer")
    assert client.get(customers_url(project, "/model"), headers=viewer).status_code == 200


def test_predict_returns_the_seed_shape_and_records_history(trained, client, owner, project):
    customer_id = trained[0]
    response = client.post(
        customers_url(project, "/predict"), json={"customer_id": customer_id}, headers=owner
    )
    assert response.status_code == 200, response.get_json()
    prediction = response.get_json()
    assert prediction["customer_id"] == customer_id
    assert 0.0 <= prediction["risk_score"] <= 1.0
    assert prediction["risk_tier"] in ("low", "medium", "high")
    assert prediction["model_version"] == 1 and prediction["prediction_time"]
    assert set(prediction["features_used"]) >= {
        "age",
        "tenure",
        "balance",
        "products",
        "credit_card",
        "active",
        "salary",
    }
    detail = client.get(customers_url(project, f"/{customer_id}"), headers=owner).get_json()
    assert detail["risk_score"] == pytest.approx(prediction["risk_score"])
    assert [point["score"] for point in detail["risk_history"]] == [
        pytest.approx(prediction["risk_score"])
    ]


@pytest.mark.parametrize("body", [{}, {"customer_id": "nope"}, {"customer_id": 5}, {"x": 1}])
def test_predict_bad_bodies_are_422(trained, client, owner, project, body):
    assert_error(client.post(customers_url(project, "/predict"), json=body, headers=owner), 422)


def test_predict_unknown_or_foreign_customer_is_404(trained, api, client, owner, project):
    url = customers_url(project, "/predict")
    assert_error(client.post(url, json={"customer_id": str(uuid.uuid4())}, headers=owner), 404)
    other = api.project(owner, name="Other")
    foreign = client.post(customers_url(other), json={"name": "Zed"}, headers=owner).get_json()
    assert_error(client.post(url, json={"customer_id": foreign["id"]}, headers=owner), 404)


def test_predict_a_customer_without_features_is_422(trained, client, owner, project):
    bare = client.post(customers_url(project), json={"name": "No data"}, headers=owner).get_json()
    body = assert_error(
        client.post(
            customers_url(project, "/predict"), json={"customer_id": bare["id"]}, headers=owner
        ),
        422,
    )
    assert "age" in body["errors"]


def test_batch_scores_everyone_and_feeds_the_dashboard(app, trained, client, owner, project):
    client.post(customers_url(project), json={"name": "No data"}, headers=owner)
    response = client.post(customers_url(project, "/predict/batch"), json={}, headers=owner)
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app, timeout=120)
    result = job(client, owner, response.get_json()["job_id"])
    assert result["status"] == "finished", result
    assert result["result"]["scored"] == len(trained)
    assert result["result"]["skipped_missing_features"] == 1

    dashboard = client.get(customers_url(project, "/risk/dashboard"), headers=owner).get_json()
    assert sum(dashboard["risk_distribution"].values()) == len(trained)
    assert dashboard["thresholds"] == {"medium": 0.4, "high": 0.7}
    high = dashboard["high_risk_customers"]
    assert len(high) == min(10, dashboard["risk_distribution"]["high"])
    assert high and all(row["risk_score"] >= 0.7 for row in high)
    assert [row["risk_score"] for row in high] == sorted(
        (r["risk_score"] for r in high), reverse=True
    )
    [today] = dashboard["risk_trend"]
    assert today["predictions"] == len(trained) and 0 < today["average_risk"] < 1

    listed = client.get(
        customers_url(project),
        query_string={"sort_by": "risk_score", "order": "desc", "page_size": 1},
        headers=owner,
    ).get_json()
    assert listed[0]["risk_score"] == pytest.approx(high[0]["risk_score"])


def test_batch_chunks_store_each_score_with_its_tier_and_one_history_point(
    app, trained, client, owner, project, monkeypatch
):
    from plugins.customers import predictions

    monkeypatch.setattr(predictions, "SCORING_CHUNK", 7)
    response = client.post(customers_url(project, "/predict/batch"), json={}, headers=owner)
    wait_for_jobs(app, timeout=120)
    assert job(client, owner, response.get_json()["job_id"])["result"]["scored"] == len(trained)
    for customer_id in trained[:20]:
        detail = client.get(customers_url(project, f"/{customer_id}"), headers=owner).get_json()
        [point] = detail["risk_history"]
        assert detail["risk_score"] == pytest.approx(point["score"])
        score = detail["risk_score"]
        expected = "high" if score >= 0.7 else "medium" if score >= 0.4 else "low"
        assert detail["risk_tier"] == expected


def test_batch_with_ids_and_bad_batch_bodies(app, trained, client, owner, project):
    url = customers_url(project, "/predict/batch")
    response = client.post(url, json={"customer_ids": trained[:3]}, headers=owner)
    assert response.status_code == 202
    wait_for_jobs(app, timeout=60)
    assert job(client, owner, response.get_json()["job_id"])["result"]["scored"] == 3
    assert_error(client.post(url, json={"customer_ids": []}, headers=owner), 422)
    assert_error(client.post(url, json={"customer_ids": ["x"]}, headers=owner), 422)
    missing = str(uuid.uuid4())
    body = assert_error(client.post(url, json={"customer_ids": [missing]}, headers=owner), 404)
    assert missing in body["detail"]


def test_entering_high_risk_raises_one_alert_delivered_by_webhook(
    app,
    trained,
    client,
    owner,
    project,
    receive,  # noqa: F811
):
    receiver = receive(200)
    response = client.post(
        f"/api/v1/projects/{project['id']}/webhooks",
        json={"url": receiver.url, "events": ["customer.risk_changed"]},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    url = customers_url(project, "/predict/batch")
    for _ in range(2):
        response = client.post(url, json={}, headers=owner)
        wait_for_jobs(app, timeout=120)
        finished = job(client, owner, response.get_json()["job_id"])
        assert finished["status"] == "finished", finished
    high = client.get(
        customers_url(project), query_string={"risk_tier": "high", "page_size": 500}, headers=owner
    ).get_json()
    assert high, "the generated customers include high-risk ones"
    alerts = client.get(
        customers_url(project, "/risk/alerts"), query_string={"page_size": 500}, headers=owner
    ).get_json()
    assert sorted(a["customer_id"] for a in alerts) == sorted(c["id"] for c in high)
    assert all(a["alert_type"] == "high_risk" and a["was_sent"] for a in alerts)
    assert all(a["error_message"] is None for a in alerts)
    assert len(receiver.requests) == len(high)

    one = high[0]["id"]
    only = client.get(
        customers_url(project, "/risk/alerts"), query_string={"customer_id": one}, headers=owner
    ).get_json()
    assert [a["customer_id"] for a in only] == [one]
    future = client.get(
        customers_url(project, "/risk/alerts"),
        query_string={"start_date": "2999-01-01"},
        headers=owner,
    ).get_json()
    assert future == []


def test_a_failed_webhook_delivery_is_recorded_on_the_alert(
    app,
    trained,
    client,
    owner,
    project,
    receive,  # noqa: F811
    quick_retries,  # noqa: F811
):
    quick_retries(0)
    receiver = receive(500)
    client.post(
        f"/api/v1/projects/{project['id']}/webhooks",
        json={"url": receiver.url, "events": ["*"]},
        headers=owner,
    )
    client.post(customers_url(project, "/predict/batch"), json={}, headers=owner)
    wait_for_jobs(app, timeout=120)
    alerts = client.get(customers_url(project, "/risk/alerts"), headers=owner).get_json()
    assert alerts and all(not a["was_sent"] for a in alerts)
    assert all("HTTP 500" in a["error_message"] for a in alerts)
    unsent = client.get(
        customers_url(project, "/risk/alerts"), query_string={"was_sent": True}, headers=owner
    ).get_json()
    assert unsent == []


def test_an_alert_without_a_webhook_records_why_it_was_not_sent(
    app, trained, client, owner, project
):
    client.post(customers_url(project, "/predict/batch"), json={}, headers=owner)
    wait_for_jobs(app, timeout=120)
    alerts = client.get(customers_url(project, "/risk/alerts"), headers=owner).get_json()
    assert alerts and all(not a["was_sent"] for a in alerts)
    assert all("No active webhook" in a["error_message"] for a in alerts)


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "yesterday"},
        {"customer_id": "x"},
        {"start_date": "2025-02-01", "end_date": "2025-01-01"},
    ],
)
def test_bad_alert_filters_are_422(client, owner, project, query):
    assert_error(
        client.get(customers_url(project, "/risk/alerts"), query_string=query, headers=owner), 422
    )


def test_dashboard_of_an_empty_project(client, owner, project):
    dashboard = client.get(customers_url(project, "/risk/dashboard"), headers=owner).get_json()
    assert dashboard["risk_distribution"] == {"low": 0, "medium": 0, "high": 0}
    assert dashboard["high_risk_customers"] == [] and dashboard["risk_trend"] == []
    assert_error(
        client.get(
            customers_url(project, "/risk/dashboard"), query_string={"days": 0}, headers=owner
        ),
        422,
    )


def test_default_thresholds_are_0_4_and_0_7(client, owner, project):
    dashboard = client.get(customers_url(project, "/risk/dashboard"), headers=owner).get_json()
    assert dashboard["thresholds"] == {"medium": 0.4, "high": 0.7}
