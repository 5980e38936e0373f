"""Assistant tools and the demo data of the customers plugin."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from assistant.tools import ToolArgumentError, ToolContext
from core.context import Context
from core.db import utcnow
from core.errors import Conflict, NotFound
from core.projects.models import Project
from plugins.customers import tools
from plugins.customers.models import Customer


@pytest.fixture
def tool_context(app, project):
    """Run tools as an operator of ``project`` would through the assistant."""

    def run(tool, **arguments):
        permissions = app.extensions["nebulo"].permissions_for_role("viewer")
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            context = Context(project_id=uuid.UUID(project["id"]), permissions=permissions)
            return tool.run(ToolContext(session, context), arguments)

    return run


def test_tools_answer_from_stored_predictions(app, trained, client, owner, project, tool_context):
    client.post(f"/api/v1/customers/{project['id']}/predict/batch", json={}, headers=owner)
    from core.jobs import wait_for_jobs

    wait_for_jobs(app, timeout=120)
    riskiest = tool_context(tools.high_risk_customers, limit=3)
    assert len(riskiest["customers"]) == 3
    scores = [c["risk_score"] for c in riskiest["customers"]]
    assert scores == sorted(scores, reverse=True)
    assert sum(riskiest["risk_distribution"].values()) == len(trained)

    top = riskiest["customers"][0]
    [found] = tool_context(tools.find_customer, query=top["email"])
    assert found["id"] == top["id"]
    profile = tool_context(tools.customer_profile, customer_id=top["id"])
    assert profile["risk_score"] == top["risk_score"] and len(profile["risk_history"]) == 1
    times = [found["last_updated"], profile["created_at"], profile["risk_history"][0]["timestamp"]]
    assert all(time.endswith("Z") for time in times)
    explanation = tool_context(tools.explain_risk, customer_id=top["id"], top=3)
    assert len(explanation["top_factors"]) == 3
    assert {"feature", "value", "typical_value", "effect", "direction"} <= set(
        explanation["top_factors"][0]
    )


def test_tools_refuse_bad_arguments_and_foreign_ids(tool_context, add_customers, project):
    with pytest.raises(ToolArgumentError):
        tool_context(tools.customer_profile, customer_id="not-a-uuid")
    with pytest.raises(NotFound):
        tool_context(tools.customer_profile, customer_id=str(uuid.uuid4()))
    [customer_id] = add_customers(project, count=1)
    with pytest.raises(Conflict):
        tool_context(tools.explain_risk, customer_id=customer_id)


def test_tools_are_registered_with_examples(app):
    registered = app.extensions["nebulo"].registry.tools
    for name in ("find_customer", "customer_profile", "high_risk_customers", "explain_risk"):
        assert registered[name].description
    assert "which customers are most likely to churn?" in registered["high_risk_customers"].examples


def test_demo_loads_labelled_customers_a_model_and_predictions(app):
    from core.demo import load_demo_data

    with app.app_context():
        assert load_demo_data(app, "demo-customers@example.com", "a demo password")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = session.scalar(select(Project).where(Project.name == "Demo Store"))
        customers = session.scalars(select(Customer).where(Customer.project_id == project.id)).all()
        assert len(customers) >= 300
        assert all(c.churned is not None and c.risk_score is not None for c in customers)
        assert any(c.risk_tier == "high" for c in customers)
        # they joined over the years their tenure gives: "new customers" has a history
        now = utcnow()
        ages = [(now - c.created_at).days for c in customers]
        assert all(
            365 * c.tenure <= age < 365 * (c.tenure + 1)
            for c, age in zip(customers, ages, strict=True)
        )
        assert 10 < sum(age < 90 for age in ages) < len(customers) / 4
