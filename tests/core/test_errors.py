"""One error format for every failure: {"detail", "code", "timestamp"} (+ "errors" on 422)."""

from __future__ import annotations

import logging
import uuid

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint

from tests.core.helpers import assert_error, make_plugin


def exploding_plugin():
    blp = Blueprint("boom", __name__, url_prefix="/boom")

    @blp.route("")
    class Boom(MethodView):
        def get(self):
            raise RuntimeError("secret database password is hunter2")

    return make_plugin("boom", register_blueprints=lambda register: register(blp))


def test_400_for_a_body_that_is_not_json(client):
    response = client.post(
        "/api/v1/auth/register", data="{not json", headers={"Content-Type": "application/json"}
    )
    body = assert_error(response, 400)
    assert "JSON" in body["detail"]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"])
def test_400_for_a_malformed_id_in_the_url(client, owner, bad_id):
    body = assert_error(client.get(f"/api/v1/projects/{bad_id}", headers=owner), 400, "BAD_REQUEST")
    assert bad_id in body["detail"] and "UUID" in body["detail"]


def test_401_without_credentials(client):
    assert_error(client.get("/api/v1/projects"), 401, "UNAUTHORIZED")


def test_403_beyond_ones_role(api, client, owner, project):
    viewer = api.register()
    client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": viewer["email"], "role": "viewer"},
        headers=owner,
    )
    headers = {"Authorization": f"Bearer {api.login(viewer['email'])['access_token']}"}
    response = client.delete(f"/api/v1/projects/{project['id']}", headers=headers)
    assert_error(response, 403, "FORBIDDEN")


def test_404_for_an_unknown_route_and_an_unknown_id(client, owner):
    assert_error(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_error(client.get("/no/such/page"), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=owner), 404, "NOT_FOUND")


def test_405_names_the_allowed_methods(client):
    response = client.put("/api/v1/auth/login", json={})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["Allow"]


def test_409_on_a_conflict(client, api):
    api.register("ada@example.com")
    body = {"email": "ada@example.com", "password": "correct horse battery"}
    assert_error(client.post("/api/v1/auth/register", json=body), 409, "CONFLICT")


def test_413_for_a_body_over_the_limit(make_app):
    client = make_app(max_body_bytes=100).test_client()
    response = client.post(
        "/api/v1/auth/register", json={"email": "a@example.com", "password": "x" * 200}
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    small = client.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "x"})
    assert_error(small, 422)


def test_415_for_a_body_that_is_not_declared_json(client):
    response = client.post(
        "/api/v1/auth/register",
        data='{"email": "a@example.com"}',
        headers={"Content-Type": "text/plain"},
    )
    body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "text/plain" in body["detail"] and "application/json" in body["detail"]
    form = client.post("/api/v1/auth/login", data={"email": "a@example.com", "password": "x"})
    assert_error(form, 415)


def test_422_lists_the_errors_per_field(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "nope", "password": 5, "colour": "blue"}
    )
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert set(body["errors"]) == {"email", "password", "colour"}
    assert all(isinstance(messages, list) for messages in body["errors"].values())
    assert "colour" in body["detail"] and "email" in body["detail"]


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "5", "null"])
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register"])
def test_422_for_a_json_body_that_is_not_an_object(client, path, payload):
    response = client.post(path, data=payload, headers={"Content-Type": "application/json"})
    assert_error(response, 422, "VALIDATION_ERROR")


def test_422_from_a_query_string(client, owner):
    body = assert_error(client.get("/api/v1/projects?page=zero", headers=owner), 422)
    assert "page" in body["errors"]


def test_429_in_the_same_format(make_app):
    client = make_app(rate_limit_auth="1/minute").test_client()
    client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x"})
    response = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x"})
    assert_error(response, 429, "RATE_LIMITED")
    assert "Retry-After" in response.headers


def test_500_hides_the_exception_and_logs_it(make_app, caplog):
    app = make_app(extra_plugins=[("boom", exploding_plugin())])
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/boom")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body["detail"] == "Internal server error"
    assert any("hunter2" in record.getMessage() or record.exc_info for record in caplog.records)


@pytest.mark.parametrize(
    "query", ["offset=9223372036854775808", "page=9223372036854775808", "offset=1000000001"]
)
def test_422_for_a_page_beyond_any_table(client, owner, query):
    body = assert_error(client.get(f"/api/v1/projects?{query}", headers=owner), 422)
    assert set(body["errors"]) == {query.split("=")[0]}


def test_the_last_allowed_page_is_an_empty_page(client, owner):
    response = client.get("/api/v1/projects?offset=1000000000", headers=owner)
    assert response.status_code == 200 and response.get_json() == []


def test_422_for_a_nul_character_in_a_body_names_the_field(client, owner):
    response = client.post("/api/v1/projects", json={"name": "a\u0000b"}, headers=owner)
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["errors"] == {"name": ["Must not contain a NUL character (\\u0000)."]}
    assert client.get("/api/v1/projects", headers=owner).get_json() == []


def test_422_for_a_nul_character_nested_in_a_body(client, owner, project):
    order = {"customer_name": "Ada", "items": [{"name": "Tea\u0000", "quantity": 1, "price": 1}]}
    response = client.post(f"/api/v1/orders/{project['id']}", json=order, headers=owner)
    body = assert_error(response, 422)
    assert body["errors"] == {
        "items": {"0": {"name": ["Must not contain a NUL character (\\u0000)."]}}
    }


def test_422_for_a_nul_character_in_a_query_string(client, owner, project):
    response = client.get(f"/api/v1/orders/{project['id']}?q=a%00b", headers=owner)
    assert "q" in assert_error(response, 422)["errors"]


@pytest.mark.parametrize("payload", ['["a\\u0000b"]', '"a\\u0000b"'])
def test_422_for_a_body_that_is_not_an_object_even_with_a_nul_character(client, owner, payload):
    response = client.post(
        "/api/v1/projects", data=payload, headers={**owner, "Content-Type": "application/json"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
