"""Rate limits through the HTTP API: per user or per address, headers, named and plugin limits,
Redis counters shared by several app instances (gunicorn workers), and switching them off."""

from __future__ import annotations

import time
import types

import pytest
import redis
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.config import ConfigError, Setting
from core.hookspecs import hookimpl
from core.limits import rate_limit
from core.schemas import StrictSchema

PLUGIN_LIMIT = "NEBULO_RATE_LIMIT_TEST_CREATE"
ITEMS_URL = "/api/v1/ratelimit-test/items"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class ItemSchema(StrictSchema):
    name = fields.String(required=True)


test_blp = Blueprint(
    "ratelimit_test",
    __name__,
    url_prefix="/ratelimit-test",
    static_folder=".",  # this folder's files, to show that static files are not limited
    static_url_path="/files",
)


@test_blp.route("/items")
class Items(MethodView):
    @test_blp.response(200, ItemSchema(many=True))
    def get(self):
        """List nothing: only the default limit applies here."""
        return []

    @test_blp.arguments(ItemSchema)
    @test_blp.response(201, ItemSchema)
    @rate_limit(PLUGIN_LIMIT)
    def post(self, data):
        """Echo the item: limited by the plugin's own setting."""
        return data


def _plugin_module() -> types.ModuleType:
    module = types.ModuleType("ratelimit_test_plugin")

    @hookimpl
    def plugin_info():
        return {"name": "ratelimit_test", "version": "1.0", "description": "rate limit test"}

    @hookimpl
    def register_settings(register):
        register(Setting(PLUGIN_LIMIT, "2/minute", "How often items may be created"))

    @hookimpl
    def register_blueprints(register):
        register(test_blp)

    module.plugin_info = plugin_info
    module.register_settings = register_settings
    module.register_blueprints = register_blueprints
    return module


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _assert_limit_headers(response, limit: int, remaining: int) -> None:
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()


def _assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.get_json()
    body = response.get_json()
    assert body["code"] == "RATE_LIMITED"
    assert set(body) == {"detail", "code", "timestamp"}
    assert body["detail"].startswith("Rate limit exceeded")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_default_limit_counts_per_user(api, make_app):
    alice, bob = api.user_headers(), api.user_headers()
    client = make_app(rate_limit_default="3/minute").test_client()
    for remaining in (2, 1, 0):
        response = client.get("/api/v1/auth/me", headers=alice, **_from("10.0.0.1"))
        assert response.status_code == 200
        _assert_limit_headers(response, 3, remaining)
        assert "Retry-After" not in response.headers
    _assert_rate_limited(client.get("/api/v1/auth/me", headers=alice, **_from("10.0.0.2")))
    # Bob has his own budget, even from Alice's address.
    response = client.get("/api/v1/auth/me", headers=bob, **_from("10.0.0.1"))
    assert response.status_code == 200
    _assert_limit_headers(response, 3, 2)


def test_default_limit_counts_anonymous_callers_per_address(api, make_app):
    alice = api.user_headers()
    client = make_app(rate_limit_default="2/minute").test_client()
    for remaining in (1, 0):
        response = client.get("/api/v1/auth/me", **_from("10.0.0.1"))
        assert response.status_code == 401
        _assert_limit_headers(response, 2, remaining)
    _assert_rate_limited(client.get("/api/v1/auth/me", **_from("10.0.0.1")))
    # An invalid or expired token counts against the address it comes from.
    garbage = {"Authorization": "Bearer not-a-token"}
    _assert_rate_limited(client.get("/api/v1/auth/me", headers=garbage, **_from("10.0.0.1")))
    assert client.get("/api/v1/auth/me", **_from("10.0.0.2")).status_code == 401
    assert client.get("/api/v1/auth/me", headers=alice, **_from("10.0.0.1")).status_code == 200


def test_limit_headers_on_error_responses(api, make_app):
    alice = api.user_headers()
    client = make_app(rate_limit_default="5/minute").test_client()
    missing = client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000", headers=alice)
    assert missing.status_code == 404
    _assert_limit_headers(missing, 5, 4)
    invalid = client.post("/api/v1/projects", json={"name": ""}, headers=alice)
    assert invalid.status_code == 422
    _assert_limit_headers(invalid, 5, 4)
    assert "Retry-After" not in invalid.headers


def test_auth_limit_counts_login_and_register_per_address(api, make_app):
    user = api.register()
    token = api.login(user["email"])["access_token"]
    client = make_app(rate_limit_auth="2/minute").test_client()
    wrong = {"email": user["email"], "password": "wrong password"}
    for remaining in (1, 0):
        response = client.post("/api/v1/auth/login", json=wrong, **_from("10.0.1.1"))
        assert response.status_code == 401
        _assert_limit_headers(response, 2, remaining)
    # The right password does not help, nor does a token: the limit is per address.
    right = {"email": user["email"], "password": user["password"]}
    bearer = {"Authorization": f"Bearer {token}"}
    retried = client.post("/api/v1/auth/login", json=right, headers=bearer, **_from("10.0.1.1"))
    _assert_rate_limited(retried)
    assert client.post("/api/v1/auth/login", json=right, **_from("10.0.1.2")).status_code == 200

    for index in range(2):
        body = {"email": f"new{index}@example.com", "password": "correct horse battery"}
        response = client.post("/api/v1/auth/register", json=body, **_from("10.0.1.3"))
        assert response.status_code == 201
    late = {"email": "late@example.com", "password": "correct horse battery"}
    _assert_rate_limited(client.post("/api/v1/auth/register", json=late, **_from("10.0.1.3")))
    # One budget for all the auth routes: the address that used it on logins cannot register.
    _assert_rate_limited(client.post("/api/v1/auth/register", json=late, **_from("10.0.1.1")))
    assert client.post("/api/v1/auth/register", json=late, **_from("10.0.1.4")).status_code == 201


def test_plugin_route_limit_applies_to_its_method_only(api, make_app):
    alice, bob = api.user_headers(), api.user_headers()
    client = make_app(extra_plugins=[("ratelimit_test", _plugin_module())]).test_client()
    for remaining in (1, 0):
        response = client.post(ITEMS_URL, json={"name": "x"}, headers=alice)
        assert response.status_code == 201
        _assert_limit_headers(response, 2, remaining)
    _assert_rate_limited(client.post(ITEMS_URL, json={"name": "x"}, headers=alice))
    # GET on the same view keeps the (high) default limit; Bob has his own budget.
    listed = client.get(ITEMS_URL, headers=alice)
    assert listed.status_code == 200
    assert listed.headers["X-RateLimit-Limit"] == "100000"
    assert client.post(ITEMS_URL, json={"name": "x"}, headers=bob).status_code == 201
    # Bad input still answers 422, and is counted like any other request.
    assert client.post(ITEMS_URL, json={"nom": "x"}, headers=bob).status_code == 422


def test_plugin_limit_is_set_by_its_setting(api, make_app):
    alice = api.user_headers()
    app = make_app(
        extra_plugins=[("ratelimit_test", _plugin_module())], plugin={PLUGIN_LIMIT: "1/minute"}
    )
    client = app.test_client()
    assert client.post(ITEMS_URL, json={"name": "x"}, headers=alice).status_code == 201
    _assert_rate_limited(client.post(ITEMS_URL, json={"name": "x"}, headers=alice))


def test_limits_hold_across_app_instances_sharing_redis(api, make_app, stack):
    if not stack.redis_url:
        pytest.skip("without Redis each process keeps its own counters (embedded stack)")
    alice = api.user_headers()
    plugin = _plugin_module()
    workers = [make_app(extra_plugins=[("ratelimit_test", plugin)]).test_client() for _ in range(2)]
    assert workers[0].post(ITEMS_URL, json={"name": "x"}, headers=alice).status_code == 201
    second = workers[1].post(ITEMS_URL, json={"name": "x"}, headers=alice)
    assert second.status_code == 201
    assert second.headers["X-RateLimit-Remaining"] == "0"
    _assert_rate_limited(workers[0].post(ITEMS_URL, json={"name": "x"}, headers=alice))
    _assert_rate_limited(workers[1].post(ITEMS_URL, json={"name": "x"}, headers=alice))
    # The counters live under this deployment's namespace, not in a shared keyspace.
    keys = list(redis.Redis.from_url(stack.redis_url).scan_iter(f"{stack.namespace}:limits:*"))
    assert keys


def test_disabled_limits_let_everything_through(api, make_app):
    alice = api.user_headers()
    app = make_app(
        extra_plugins=[("ratelimit_test", _plugin_module())],
        rate_limits_enabled=False,
        rate_limit_default="1/minute",
        rate_limit_auth="1/minute",
    )
    client = app.test_client()
    for _ in range(3):
        response = client.get("/api/v1/auth/me", headers=alice)
        assert response.status_code == 200
        assert not any(name in response.headers for name in RATE_HEADERS)
        assert client.post(ITEMS_URL, json={"name": "x"}, headers=alice).status_code == 201
        login = client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
        assert login.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/openapi.json", "/docs", "/redoc", "/api/v1/ratelimit-test/files/__init__.py"],
)
def test_docs_health_and_static_files_are_not_limited(make_app, path):
    client = make_app(
        rate_limit_default="1/minute", extra_plugins=[("ratelimit_test", _plugin_module())]
    ).test_client()
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate_limit_default": "lots"}, "NEBULO_RATE_LIMIT_DEFAULT='lots' is not a rate limit"),
        ({"rate_limit_auth": ""}, "NEBULO_RATE_LIMIT_AUTH='' is not a rate limit"),
        ({"plugin": {PLUGIN_LIMIT: "2/fortnight"}}, f"{PLUGIN_LIMIT}='2/fortnight' is not a"),
    ],
)
def test_bad_limit_values_stop_start_up_with_a_clear_message(make_app, overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_app(extra_plugins=[("ratelimit_test", _plugin_module())], **overrides)
