"""The OpenAPI document of the app with every installed plugin: valid, and complete for each
operation (summary, schemas, security, error responses in the one error format)."""

from __future__ import annotations

import re
import uuid

import pytest
from openapi_spec_validator import validate

from core.app import create_app

ERROR_REF = "#/components/schemas/Error"
CORE_PUBLIC_OPERATIONS = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/refresh"),
}
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _resolve(spec: dict, obj: dict) -> dict:
    while "$ref" in obj:
        section, name = obj["$ref"].split("/")[-2:]
        obj = spec["components"][section][name]
    return obj


def _is_public(operation: dict) -> bool:
    return operation.get("security") == []


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "apiKey"}
    assert spec["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "code", "timestamp", "errors"}
    assert set(error["required"]) == {"detail", "code", "timestamp"}


def test_document_covers_core_and_every_loaded_plugin(app, spec):
    paths = set(spec["paths"])
    for prefix in ("/api/v1/auth/login", "/api/v1/projects", "/api/v1/plugins"):
        assert prefix in paths
    registry = app.extensions["nebulo"].registry
    for plugin, blueprint in registry.blueprints:
        prefix = "/api/v1" + (blueprint.url_prefix or "")
        assert any(path.startswith(prefix) for path in paths), f"{plugin}: {prefix} undocumented"


def test_routes_are_documented_when_the_document_is_first_read(stack, spec):
    """Building the document takes a third of a second that every ``nebulo`` command would
    pay: start-up mounts the routes, the first read documents them all."""
    app = create_app(stack.settings())
    try:
        api = app.extensions["nebulo"].api
        assert api._spec.to_dict()["paths"] == {}
        assert app.test_client().get("/openapi.json").get_json() == spec
    finally:
        app.extensions["nebulo"].jobs.stop()
        app.extensions["nebulo"].db.dispose()


def test_id_path_parameters_are_uuids(spec):
    parameters = [
        parameter
        for item in spec["paths"].values()
        for parameter in item.get("parameters", [])
        if parameter["in"] == "path" and parameter["name"].endswith("_id")
    ]
    assert parameters
    assert all(p["schema"] == {"type": "string", "format": "uuid"} for p in parameters), [
        p for p in parameters if p["schema"].get("format") != "uuid"
    ]


def test_every_operation_is_described(spec):
    for path, method, operation in _operations(spec):
        assert operation.get("summary") or operation.get("description"), f"{method} {path}"


def test_every_operation_documents_its_success_response(spec):
    for path, method, operation in _operations(spec):
        successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert successes, f"{method} {path} has no 2xx response"
        for code, response in successes.items():
            if code == "204":
                continue
            content = _resolve(spec, response).get("content", {})
            assert any("schema" in media for media in content.values()), f"{method} {path} {code}"
            assert "X-RateLimit-Remaining" in response.get("headers", {}), f"{method} {path}"


def test_every_operation_declares_its_security(spec):
    """Public operations say so with ``security: []``; all others get bearerAuth or apiKey."""
    for path, method, operation in _operations(spec):
        if (method, path) in CORE_PUBLIC_OPERATIONS:
            assert _is_public(operation), f"{method} {path} should be public"
        else:
            assert operation.get("security", spec["security"]) in ([], spec["security"]), (
                f"{method} {path}"
            )


def test_every_error_response_uses_the_error_format(spec):
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        expected = {"429"}
        if not _is_public(operation):
            expected |= {"401", "403"}
        if "{" in path:
            expected |= {"400", "404"}
        if "requestBody" in operation:
            expected |= {"400", "415", "422"}
        missing = expected - set(responses)
        assert not missing, f"{method} {path} does not document {sorted(missing)}"
        for code, response in responses.items():
            if code[0] in "45" or code == "default":
                schema = _resolve(spec, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, f"{method} {path} {code}"
        assert "Retry-After" in _resolve(spec, responses["429"])["headers"]


def test_secured_operations_refuse_anonymous_callers(client, spec):
    """What the document calls secured really needs credentials: nothing succeeds without them,
    and an operation with nothing to validate first (body, path ids, required parameters)
    answers 401."""
    for path, method, operation in _operations(spec):
        if _is_public(operation):
            continue
        url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
        has_body = "requestBody" in operation
        response = getattr(client, method)(url, **({"json": {}} if has_body else {}))
        assert 400 <= response.status_code < 500, f"{method} {path}: {response.status_code}"
        required = any(p.get("required") for p in operation.get("parameters", []))
        if not has_body and not required and "{" not in path:
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert set(response.get_json()) >= {"detail", "code", "timestamp"}


def test_every_operation_documents_the_422_of_unknown_query_parameters(spec):
    for path, method, operation in _operations(spec):
        assert "422" in operation["responses"], f"{method} {path}"


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_interactive_documentation_pages(client, path, marker):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert marker in page.lower() and "openapi.json" in page


def test_amounts_of_money_are_documented_as_numbers(spec):
    """As the API writes them (JSON numbers), not as an empty schema that allows anything."""
    schemas = spec["components"]["schemas"]
    amounts = [
        schemas["Product"]["properties"]["price"],
        schemas["Order"]["properties"]["total"],
        schemas["Item"]["properties"]["unit_price"],
        schemas["Item"]["properties"]["line_total"],
    ]
    assert all(amount["type"] == "number" and amount["minimum"] == 0 for amount in amounts)


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("Product", "deleted_at"),
        ("Order", "customer_id"),
        ("Order", "fulfilled_date"),
        ("Order", "table_number"),
        ("Item", "product_id"),
    ],
)
def test_fields_that_can_be_null_are_documented_nullable(spec, schema, field):
    assert spec["components"]["schemas"][schema]["properties"][field].get("nullable") is True
