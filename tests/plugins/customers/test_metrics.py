"""The customers plugin's metrics against a hand count of real customer rows."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from assistant.tools import ToolContext
from core.context import Context
from plugins.customers.models import RISK_TIERS, Customer, RiskHistory
from plugins.customers.tools import high_risk_customers

TIERS = ("low", "high", "medium", "high", None, "low", "high")
SCORES = (0.1, 0.8, 0.5, 0.9, None, 0.2, 0.75)


@pytest.fixture
def customers(app, project):
    """Seven customers: created over March 2025, some scored into risk tiers."""
    rows = [
        Customer(
            project_id=uuid.UUID(project["id"]),
            name=f"Customer {index}",
            geography=("France", "Spain")[index % 2],
            risk_tier=tier,
            risk_score=score,
            created_at=datetime(2025, 3, 1 + 4 * index, 12, tzinfo=UTC),
        )
        for index, (tier, score) in enumerate(zip(TIERS, SCORES, strict=True))
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(rows)
    return rows


def run(client, project, owner, **body):
    response = client.post(f"/api/v1/metrics/{project['id']}/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_customer_counts_and_churn_risk_by_tier(client, project, owner, customers):
    body = run(
        client,
        project,
        owner,
        metrics=["customers", "at_risk_customers", "average_churn_risk"],
        period="today",
    )
    scores = [s for s in SCORES if s is not None]
    assert body["totals"] == {
        "customers": len(TIERS),
        "at_risk_customers": TIERS.count("high"),
        "average_churn_risk": round(sum(scores) / len(scores) * 100, 2),
    }
    tiers = run(
        client, project, owner, metrics=["customers"], period="today", group_by=["risk_tier"]
    )
    assert {r["risk_tier"]: r["customers"] for r in tiers["rows"]} == dict(Counter(TIERS))


def test_new_customers_are_dated_by_when_they_were_added(client, project, owner, customers):
    first_half = run(
        client, project, owner, metrics=["new_customers"], start="2025-03-01", end="2025-03-15"
    )
    expected = sum(1 for c in customers if c.created_at.day <= 15 and c.created_at.month == 3)
    assert first_half["totals"]["new_customers"] == expected
    by_week = run(
        client,
        project,
        owner,
        metrics=["new_customers"],
        period="March 2025",
        group_by=["week"],
        filters={"geography": ["france"]},
    )
    assert sum(r["new_customers"] for r in by_week["rows"]) == sum(
        1 for c in customers if c.geography == "France" and c.created_at.month == 3
    )


def test_a_figure_about_now_cannot_be_grouped_by_time(client, project, owner, customers):
    response = client.post(
        f"/api/v1/metrics/{project['id']}/query",
        json={"metrics": ["at_risk_customers"], "period": "today", "group_by": ["month"]},
        headers=owner,
    )
    assert response.status_code == 422
    assert "risk_tier" in response.get_json()["errors"]["group_by"][0]


@pytest.fixture
def predictions(app, client, project, owner, customers) -> list[RiskHistory]:
    """Risk predictions of the scored customers from now back to 40 days ago, in a UTC+5
    project (its days are not UTC days)."""
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"timezone": "Asia/Tashkent"}, headers=owner
    )
    assert response.status_code == 200
    now = datetime.now(UTC)
    scored = [c for c in customers if c.risk_score is not None]
    rows = [
        RiskHistory(
            project_id=customer.project_id,
            customer_id=customer.id,
            score=customer.risk_score - 0.05 * hours_ago / 24,
            timestamp=now - timedelta(hours=hours_ago),
        )
        for hours_ago in (0, 7, 20, 50, 24 * 12, 24 * 40)
        for customer in scored
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(rows)
    return rows


def test_the_risk_dashboard_shows_the_metrics_figures(client, project, owner, predictions):
    url = f"/api/v1/customers/{project['id']}/risk/dashboard"
    dashboard = client.get(url, query_string={"days": 30}, headers=owner).get_json()
    tiers = run(
        client, project, owner, metrics=["scored_customers"], period="today", group_by=["risk_tier"]
    )
    by_tier = {row["risk_tier"]: row["scored_customers"] for row in tiers["rows"]}
    assert dashboard["risk_distribution"] == {tier: by_tier.get(tier, 0) for tier in RISK_TIERS}
    assert dashboard["risk_distribution"] == {tier: TIERS.count(tier) for tier in RISK_TIERS}
    trend = run(
        client,
        project,
        owner,
        metrics=["average_predicted_risk", "risk_predictions"],
        period="past 30 days",
        group_by=["day"],
    )
    assert dashboard["risk_trend"] == [
        {
            "date": row["day"],
            "average_risk": round(row["average_predicted_risk"] / 100, 4),
            "predictions": row["risk_predictions"],
        }
        for row in trend["rows"]
        if row["risk_predictions"]
    ]
    shown = sum(point["predictions"] for point in dashboard["risk_trend"])
    older = [p for p in predictions if p.timestamp < datetime.now(UTC) - timedelta(days=30)]
    assert older and shown == len(predictions) - len(older)


def test_the_riskiest_customers_tool_gives_the_scored_customers_by_tier(
    app, client, project, owner, customers
):
    permissions = app.extensions["nebulo"].permissions_for_role("viewer")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        context = Context(project_id=uuid.UUID(project["id"]), permissions=permissions)
        answer = high_risk_customers.run(ToolContext(session, context), {"limit": 2})
    tiers = run(
        client, project, owner, metrics=["scored_customers"], period="today", group_by=["risk_tier"]
    )
    by_tier = {row["risk_tier"]: row["scored_customers"] for row in tiers["rows"]}
    assert answer["risk_distribution"] == {tier: by_tier.get(tier, 0) for tier in RISK_TIERS}
    assert answer["risk_distribution"] == {tier: TIERS.count(tier) for tier in RISK_TIERS}
    dashboard = client.get(
        f"/api/v1/customers/{project['id']}/risk/dashboard", headers=owner
    ).get_json()
    assert answer["thresholds"] == dashboard["thresholds"]
    top_scores = sorted((s for s in SCORES if s is not None), reverse=True)[:2]
    assert [c["risk_score"] for c in answer["customers"]] == top_scores
