"""Unknown query parameters are a 422 naming the valid ones, like unknown body fields; what an
operation accepts is exactly what ``/openapi.json`` lists for it."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.core.test_fuzz_openapi import path_values  # noqa: F401 - the fixture, real ids

UNKNOWN = "unknown_param"
EXEMPT_PATHS = re.compile(r"^/api/v1/webhooks/\{provider\}/")
"""Provider webhooks take whatever their provider sends (WhatsApp's ``hub.*``)."""


def _documented_query(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def _get_operations(spec: dict):
    for path, item in spec["paths"].items():
        if "get" in item and not EXEMPT_PATHS.match(path):
            yield path, item["get"]


def _refused(response, *names: str) -> dict:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body["errors"]) == set(names)
    return body


def test_every_get_operation_refuses_an_unknown_parameter_and_lists_the_documented_ones(
    client,
    owner,
    path_values,  # noqa: F811
):
    spec = client.get("/openapi.json").get_json()
    operations = list(_get_operations(spec))
    assert len(operations) > 25
    for path, operation in operations:
        url = re.sub(r"\{([^}]+)\}", lambda m: path_values.get(m[1], str(uuid.uuid4())), path)
        body = _refused(client.get(url, query_string={UNKNOWN: "1"}, headers=owner), UNKNOWN)
        documented = _documented_query(operation)
        [message] = body["errors"][UNKNOWN]
        listed = message.split(": ", 1)[1].rstrip(".").split(", ") if documented else []
        assert set(listed) == documented, f"GET {path}: {message}"
        assert "422" in operation["responses"], f"GET {path} does not document its 422"


def test_unknown_parameter_is_refused_beside_valid_ones(client, owner, project):
    response = client.get(
        f"/api/v1/orders/{project['id']}",
        query_string={"status": "paid", "colour": "blue", "stauts": "paid"},
        headers=owner,
    )
    body = _refused(response, "colour", "stauts")
    assert body["detail"].startswith("Unknown query parameters: colour, stauts")
    assert "page_size" in body["errors"]["colour"][0] and "status" in body["errors"]["colour"][0]


def test_operation_without_query_parameters_refuses_any(client, owner, project):
    body = _refused(
        client.get(f"/api/v1/projects/{project['id']}?colour=blue", headers=owner), "colour"
    )
    assert body["errors"]["colour"] == ["Unknown query parameter; this operation takes none."]
    assert client.get("/healthz?colour=blue").status_code == 422


def test_unknown_parameter_is_refused_before_authentication(client):
    _refused(client.get("/api/v1/projects?colour=blue"), "colour")


def test_unknown_parameter_is_refused_on_writes_too(client, owner):
    response = client.post("/api/v1/projects?colour=blue", json={"name": "Shop"}, headers=owner)
    _refused(response, "colour")
    assert client.get("/api/v1/projects", headers=owner).get_json() == []


@pytest.mark.parametrize(
    "query",
    [
        {"page": "1", "page_size": "10"},
        {"limit": "5", "offset": "0"},
        {"status": "paid", "days": "30", "sort_by": "date", "order": "desc"},
    ],
)
def test_documented_parameters_keep_working(client, owner, project, query):
    response = client.get(f"/api/v1/orders/{project['id']}", query_string=query, headers=owner)
    assert response.status_code == 200, response.get_json()
    assert "X-Pagination" in response.headers


def test_a_bad_value_of_a_documented_parameter_is_still_a_422_on_that_field(client, owner, project):
    response = client.get(f"/api/v1/orders/{project['id']}?page=0", headers=owner)
    _refused(response, "page")


def test_provider_webhooks_take_their_provider_s_parameters(client):
    """The handshake reaches the webhook (404: no such integration), not the query check."""
    query = {"hub.mode": "subscribe", "hub.verify_token": "t", "hub.challenge": "1", "x": "y"}
    response = client.get(f"/api/v1/webhooks/whatsapp/{uuid.uuid4()}", query_string=query)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_documentation_pages_ignore_query_parameters(client, path):
    assert client.get(path, query_string={"utm_source": "mail"}).status_code == 200
