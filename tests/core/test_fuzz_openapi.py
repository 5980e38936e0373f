"""Property-based fuzzing of every operation of ``/openapi.json`` with schemathesis.

Each operation gets a few generated requests, valid and invalid, sent as a project owner with
real ids in the path (the owner's project, a product, an order...), so that they reach the
services instead of stopping at a 404. Whatever is sent, the answer is never a 5xx and always
matches what the document says it returns. Provider webhook intake (signature-protected, its
bodies are tested with the connectors) and the WebSocket are left out.
"""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES_PER_MODE = 8
"""Per operation and generation mode: ~80 operations x 2 modes x 8 stay within a minute."""
EXCLUDED_PATHS = r"^/api/v1/webhooks/\{provider\}/|/ws(/|$)"
CHECKS = [not_a_server_error, response_schema_conformance]
LAST = ("DELETE /api/v1/projects/{project_id}", "POST /api/v1/auth/logout")
"""Run after everything else, in this order: they end the owner's project, then session."""
SUCCESS = set(range(200, 300))


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


@pytest.fixture
def path_values(client, api, owner, project) -> dict[str, str]:
    """Real rows of the owner's project, one per kind of id in the document's paths."""
    base = f"/api/v1/{{}}/{project['id']}"
    category = _created(
        client.post(base.format("catalog") + "/categories", json={"name": "Tea"}, headers=owner)
    )
    product = _created(
        client.post(
            base.format("catalog") + "/products",
            json={"name": "Green tea", "price": 4.5, "stock": 10, "category_id": category["id"]},
            headers=owner,
        )
    )
    customer = _created(client.post(base.format("customers"), json={"name": "Ada"}, headers=owner))
    order = _created(
        client.post(
            base.format("orders"),
            json={
                "customer_id": customer["id"],
                "items": [{"product_id": product["id"], "quantity": 2}],
            },
            headers=owner,
        )
    )
    membership = _created(
        client.post(
            base.format("memberships"),
            json={
                "customer_id": customer["id"],
                "start_period": "2025-01-01",
                "end_period": "2035-12-31",
                "tier": "gold",
            },
            headers=owner,
        )
    )
    person = _created(
        client.post(base.format("persons"), json={"vector": [0.1] * 128}, headers=owner)
    )
    member = api.register()
    _created(
        client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"email": member["email"], "role": "viewer"},
            headers=owner,
        )
    )
    api.login(member["email"])  # the invitation becomes a membership at login
    key = _created(
        client.post(
            f"/api/v1/projects/{project['id']}/api-keys",
            json={"name": "pos", "scopes": ["view_project"]},
            headers=owner,
        )
    )
    report = _created(
        client.post(
            base.format("reports") + "/generate",
            json={"report_type": "sales", "start_date": "2025-01-01", "end_date": "2025-01-31"},
            headers=owner,
        )
    )
    schedule = _created(
        client.post(
            base.format("reports") + "/schedules",
            json={"report_type": "sales", "frequency": "weekly"},
            headers=owner,
        )
    )
    return {
        "project_id": project["id"],
        "report_id": report["id"],
        "schedule_id": schedule["id"],
        "category_id": category["id"],
        "product_id": product["id"],
        "customer_id": customer["id"],
        "order_id": order["id"],
        "membership_id": membership["id"],
        "person_id": person["id"],
        "user_id": member["id"],
        "key_id": key["id"],
    }


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app).exclude(path_regex=EXCLUDED_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(
        operations,
        key=lambda operation: LAST.index(operation.label) + 1 if operation.label in LAST else 0,
    )


def _fuzz(operation, path_values: dict[str, str], headers: dict[str, str]) -> set[int]:
    """Send generated requests to one operation; raises on the first failed check, else
    returns the statuses it was answered with."""
    statuses = set()
    names = re.findall(r"\{([^}]+)\}", operation.path)
    fixed = {name: path_values.get(name, str(uuid.uuid4())) for name in names}
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        @settings(
            max_examples=EXAMPLES_PER_MODE,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def send(case) -> None:
            statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        try:
            send()
        except Unsatisfiable:
            if mode is schemathesis.GenerationMode.POSITIVE:
                raise  # only an operation without inputs has no invalid request to send
    return statuses


@pytest.mark.slow
def test_fuzzing_every_operation_finds_no_server_error_and_no_undocumented_response(
    app, owner, path_values
):
    failures, answered = [], {}
    operations = _operations(app)
    assert len(operations) > 50
    for operation in operations:
        try:
            answered[operation.label] = _fuzz(operation, path_values, owner)
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup too
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
    succeeded = [label for label, statuses in answered.items() if statuses & SUCCESS]
    assert len(succeeded) > len(operations) / 2, "most operations never got past a 4xx"
