"""The customers plugin's metrics against a hand count of real customer rows."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from plugins.customers.models import Customer

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
