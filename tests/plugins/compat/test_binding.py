"""Which project a path without one acts in, which profiles are mounted, and what a missing
plugin answers."""

from __future__ import annotations

import pytest

from core.config import ConfigError, Settings
from plugins import compat


def test_a_user_with_one_project_acts_in_it(client, store):
    assert client.get("/api/customers/", headers=store.headers).status_code == 200


def test_a_user_with_several_projects_must_choose_one(api, client, store):
    second = api.project(store.headers, name="Second shop")
    refused = client.get("/api/customers/", headers=store.headers)
    assert refused.status_code == 400
    assert "PUT /api/v1/projects/{project_id}/default" in refused.get_json()["error"]
    chosen = client.put(f"/api/v1/projects/{second['id']}/default", headers=store.headers)
    assert chosen.status_code == 200
    assert chosen.get_json() == {"project_id": second["id"], "is_default": True}
    client.post("/api/customers/", json={"name": "In second"}, headers=store.headers)
    names = [c["name"] for c in store.nebulo("GET", "customers")]
    assert names == []  # the first project stayed empty
    first = client.put(f"/api/v1/projects/{store.project['id']}/default", headers=store.headers)
    assert first.status_code == 200
    listed = client.get("/api/customers/", headers=store.headers).get_json()
    assert listed["count"] == 0


def test_choosing_a_project_of_someone_else_is_404_and_keys_cannot_choose(
    client, store, other_store
):
    other = client.put(
        f"/api/v1/projects/{other_store.project['id']}/default", headers=store.headers
    )
    assert other.status_code == 404
    key = store.api_key("view_project")
    by_key = client.put(f"/api/v1/projects/{store.project['id']}/default", headers=key)
    assert by_key.status_code == 403


def test_an_api_key_acts_in_its_own_project(client, store, other_store):
    other_store.nebulo("POST", "customers", json={"name": "Other's"})
    key = other_store.api_key("view_customers")
    listed = client.get("/api/customers/", headers=key).get_json()
    assert [c["name"] for c in listed["results"]] == ["Other's"]


def test_compat_is_off_by_default(make_app, store):
    plain = make_app().test_client()
    assert plain.get("/api/customers/", headers=store.headers).status_code == 404
    assert plain.post("/register", json={}).status_code == 404
    spec = plain.get("/openapi.json").get_json()
    assert not [path for path in spec["paths"] if path.startswith("/api/client")]


def test_only_the_named_profiles_are_mounted(make_app, store):
    only_004 = make_app(plugin={"NEBULO_COMPAT": frozenset({"004"})}).test_client()
    unmounted = only_004.get("/api/customers/", headers=store.headers)
    assert unmounted.status_code == 404 and unmounted.get_json()["code"] == "NOT_FOUND"
    assert only_004.get("/api/client/persons/", headers=store.headers).status_code == 200
    login = only_004.post("/api/auth/login/", json={"email": store.email, "password": "x"})
    assert login.status_code == 401 and "error" in login.get_json()


def test_a_feature_whose_plugin_is_not_loaded_is_404_naming_it(make_app, store):
    without = make_app(
        plugin={"NEBULO_COMPAT": frozenset({"002", "003"})},
        disable_plugins=("customers", "memberships"),
    ).test_client()
    response = without.get("/api/customers/", headers=store.headers)
    assert response.status_code == 404 and "'customers'" in response.get_json()["error"]
    retail = without.get("/memberships/", headers=store.headers)
    assert retail.status_code == 404 and "'memberships'" in retail.get_json()["message"]


def test_the_ai_paths_name_the_analytics_plugin_when_it_is_not_loaded(make_app, store):
    without = make_app(
        plugin={"NEBULO_COMPAT": frozenset({"000", "003"})}, disable_plugins=("analytics",)
    ).test_client()
    segments = without.get("/api/v1/ai/segment-customers/", headers=store.headers)
    assert segments.status_code == 404 and "'analytics'" in segments.get_json()["detail"]
    dashboard = without.get("/dashboard/", headers=store.headers)
    assert dashboard.status_code == 404 and "'analytics'" in dashboard.get_json()["message"]


def test_the_openapi_document_tags_the_compatibility_routes(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/customers/"]["get"]
    assert operation["tags"] == ["compat-002"]
    assert operation["x-nebulo-compatibility"] == ["002"]
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChurnError"
    }
    tags = {tag["name"]: tag["description"] for tag in spec["tags"]}
    assert tags["compat-004"].startswith("Compatibility routes of Nome.ai")
    login = spec["paths"]["/api/auth/login/"]["post"]
    assert login["x-nebulo-compatibility"] == ["002", "004"]


def compat_setting():
    declared = []
    compat.register_settings(declared.append)
    return declared


def test_profiles_are_read_from_the_environment():
    settings = Settings().with_plugin_settings(compat_setting(), {"NEBULO_COMPAT": " 002, 004 "})
    assert settings.get("NEBULO_COMPAT") == frozenset({"002", "004"})
    assert Settings().with_plugin_settings(compat_setting(), {}).get("NEBULO_COMPAT") == set()


@pytest.mark.parametrize("value", ["005", "002,abc"])
def test_an_unknown_profile_is_refused_at_start(value):
    with pytest.raises(ConfigError, match="unknown profile"):
        Settings().with_plugin_settings(compat_setting(), {"NEBULO_COMPAT": value})
