"""The suite's OpenAPI fuzzing (``tests/core/test_fuzz_openapi.py``) runs with compat off, as
it is by default; this runs the same checks over the compatibility operations, mounted: no
5xx, and every answer (errors in each system's own body included) as the document says."""

from __future__ import annotations

import pytest
import schemathesis

from core.jobs import enqueue
from tests.core.test_fuzz_openapi import SUCCESS, _fuzz


@pytest.fixture
def path_values(app, client, store) -> dict[str, str]:
    """Real rows of the store's project, one per kind of id in the compatibility paths."""
    customer = store.nebulo("POST", "customers", json={"name": "Ada"})
    product = store.nebulo(
        "POST", "catalog/products", json={"name": "Tea", "price": 4, "stock": 50}
    )
    order = store.nebulo(
        "POST",
        "orders",
        json={
            "customer_id": customer["id"],
            "items": [{"product_id": product["id"], "quantity": 1}],
        },
    )
    membership = store.nebulo(
        "POST",
        "memberships",
        json={
            "customer_id": customer["id"],
            "start_period": "2025-01-01",
            "end_period": "2035-12-31",
            "tier": "gold",
        },
    )
    person = store.nebulo("POST", "persons", json={"vector": [0.1] * 128})
    with app.app_context():
        from plugins.customers import jobs

        task = enqueue(jobs.train_churn_model, store.project["id"], project_id=store.project["id"])
    return {
        "customer_id": customer["id"],
        "product_id": product["id"],
        "transaction_id": order["id"],
        "order_id": order["id"],
        "membership_id": membership["id"],
        "person_id": person["id"],
        "task_id": str(task),
    }


@pytest.mark.slow
def test_fuzzing_the_compatibility_operations_finds_no_server_error(app, store, path_values):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if "x-nebulo-compatibility" in result.ok().definition.raw
    ]
    assert len(operations) > 30
    failures, answered = [], {}
    for operation in operations:
        try:
            answered[operation.label] = _fuzz(operation, path_values, store.headers)
        except (Exception, BaseExceptionGroup) as failure:
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
    succeeded = [label for label, statuses in answered.items() if statuses & SUCCESS]
    assert len(succeeded) > len(operations) / 2, sorted(set(answered) - set(succeeded))
