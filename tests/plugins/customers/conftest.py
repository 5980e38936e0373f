"""Customers plugin fixtures: labelled customers as real rows, a trained model, members."""

from __future__ import annotations

import uuid

import pytest

from core.jobs import wait_for_jobs
from plugins.customers.models import Customer
from plugins.customers.synthetic import generate_customers

TRAINING_ROWS = 600
"""Enough generated customers for the small model to put a few dozen in the high tier."""


def customers_url(project: dict, suffix: str = "") -> str:
    return f"/api/v1/customers/{project['id']}{suffix}"


@pytest.fixture
def add_customers(app):
    """Insert generated customers (features and churn labels) into a project; returns their ids."""

    def add(project: dict, count: int = TRAINING_ROWS, seed: int = 7, **overrides) -> list[str]:
        rows = [
            Customer(project_id=uuid.UUID(project["id"]), **{**values, **overrides})
            for values in generate_customers(count, seed=seed)
        ]
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            session.add_all(rows)
        return [str(row.id) for row in rows]

    return add


@pytest.fixture
def trained(app, client, owner, project, add_customers) -> list[str]:
    """The project with labelled customers and a finished training job; returns customer ids."""
    ids = add_customers(project)
    response = client.post(customers_url(project, "/model/train"), headers=owner)
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app, timeout=120)
    job = client.get(f"/api/v1/jobs/{response.get_json()['job_id']}", headers=owner).get_json()
    assert job["status"] == "finished", job
    return ids


@pytest.fixture
def member_headers(api, client, owner, project):
    """Headers of a new member of ``project`` with the given role."""

    def make(role: str) -> dict[str, str]:
        user = api.register()
        response = client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"email": user["email"], "role": role},
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {api.login(user['email'])['access_token']}"}

    return make
