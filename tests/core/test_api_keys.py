"""Per-project API keys for machine clients: shown once, stored hashed, limited by scopes and
by what their creator may still do in the project; never managing members or keys."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import event, select, update

from core.auth.models import ApiKey, User
from tests.core.helpers import assert_error


def keys_url(project: dict, suffix: str = "") -> str:
    return f"/api/v1/projects/{project['id']}/api-keys{suffix}"


def create_key(client, owner, project, scopes=("view_project",), name="ERP") -> dict:
    response = client.post(
        keys_url(project), json={"name": name, "scopes": list(scopes)}, headers=owner
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def key_headers(key: dict) -> dict[str, str]:
    return {"X-API-Key": key["key"]}


def test_the_secret_is_shown_once_and_never_listed(client, owner, project):
    created = create_key(client, owner, project, scopes=["view_project", "manage_project"])
    assert created["key"].startswith("nbl_") and len(created["key"]) > 40
    assert created["key"].startswith(created["prefix"])
    assert created["scopes"] == ["manage_project", "view_project"]
    assert created["revoked_at"] is None and created["last_used_at"] is None
    listed = client.get(keys_url(project), headers=owner).get_json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert created["key"] not in client.get(keys_url(project), headers=owner).get_data(as_text=True)


def test_only_a_digest_of_the_secret_is_stored(app, client, owner, project):
    created = create_key(client, owner, project)
    with app.extensions["nebulo"].db.session_scope() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
        stored = {column.name: getattr(row, column.key) for column in ApiKey.__table__.columns}
    assert created["key"] not in {str(value) for value in stored.values()}
    assert row.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()


def test_a_key_works_on_its_project_and_records_its_use(client, owner, project):
    key = create_key(client, owner, project)
    response = client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key))
    assert response.status_code == 200 and response.get_json()["id"] == project["id"]
    listed = client.get(keys_url(project), headers=owner).get_json()
    assert listed[0]["last_used_at"] is not None


def test_a_key_does_not_open_another_project(api, client, owner, project):
    key = create_key(client, owner, project)
    other = api.project(owner, "Other project of the same owner")
    assert_error(client.get(f"/api/v1/projects/{other['id']}", headers=key_headers(key)), 404)


def test_scopes_limit_what_a_key_may_do(client, owner, project):
    key = create_key(client, owner, project, scopes=["view_project"])
    headers = key_headers(key)
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"name": "x"}, headers=headers
    )
    assert "manage_project" in assert_error(response, 403, "FORBIDDEN")["detail"]
    assert_error(client.get(keys_url(project), headers=headers), 403)
    writer = create_key(client, owner, project, scopes=["view_project", "manage_project"])
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"name": "by key"}, headers=key_headers(writer)
    )
    assert response.status_code == 200


def test_unknown_scopes_are_422(client, owner, project):
    response = client.post(
        keys_url(project),
        json={"name": "k", "scopes": ["view_project", "rule_the_world"]},
        headers=owner,
    )
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert "rule_the_world" in body["errors"]["scopes"][0]


def test_a_key_cannot_hold_more_than_its_creator(api, client, owner, project):
    admin_user = api.register()
    client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": admin_user["email"], "role": "admin"},
        headers=owner,
    )
    admin = {"Authorization": f"Bearer {api.login(admin_user['email'])['access_token']}"}
    response = client.post(
        keys_url(project), json={"name": "k", "scopes": ["delete_project"]}, headers=admin
    )
    assert "delete_project" in assert_error(response, 422)["errors"]["scopes"][0]
    create_key(client, admin, project, scopes=["manage_project"])


def test_create_rejects_bad_bodies(client, owner, project):
    assert (
        "scopes"
        in assert_error(client.post(keys_url(project), json={"name": "k"}, headers=owner), 422)[
            "errors"
        ]
    )
    response = client.post(keys_url(project), json={"name": "", "scopes": []}, headers=owner)
    assert "name" in assert_error(response, 422)["errors"]
    response = client.post(
        keys_url(project), json={"name": "k", "scopes": [], "key": "mine"}, headers=owner
    )
    assert "key" in assert_error(response, 422)["errors"]


def test_a_revoked_key_is_401(client, owner, project):
    key = create_key(client, owner, project)
    assert client.delete(keys_url(project, f"/{key['id']}"), headers=owner).status_code == 204
    response = client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key))
    assert_error(response, 401, "UNAUTHORIZED")
    listed = client.get(keys_url(project), headers=owner).get_json()
    assert listed[0]["revoked_at"] is not None
    assert client.delete(keys_url(project, f"/{key['id']}"), headers=owner).status_code == 204
    assert_error(client.delete(keys_url(project, f"/{uuid.uuid4()}"), headers=owner), 404)


def test_an_unknown_key_is_401(client, project):
    response = client.get(f"/api/v1/projects/{project['id']}", headers={"X-API-Key": "nbl_guess"})
    assert_error(response, 401)


def test_a_key_is_not_a_user(client, owner, project):
    key = create_key(client, owner, project)
    assert_error(client.get("/api/v1/auth/me", headers=key_headers(key)), 403, "FORBIDDEN")
    assert_error(client.get("/api/v1/projects", headers=key_headers(key)), 403)
    assert_error(client.post("/api/v1/auth/logout", headers=key_headers(key)), 403)


# --- a key acts for its creator: never beyond what they may do now --------------------------


def member(api, client, owner, project, role: str) -> tuple[str, dict[str, str]]:
    """A new member with ``role``: their user id and headers."""
    user = api.register()
    members = f"/api/v1/projects/{project['id']}/members"
    body = {"email": user["email"], "role": role}
    assert client.post(members, json=body, headers=owner).status_code == 201
    return user["id"], {"Authorization": f"Bearer {api.login(user['email'])['access_token']}"}


def set_role(client, owner, project, user_id: str, role: str) -> None:
    response = client.patch(
        f"/api/v1/projects/{project['id']}/members/{user_id}", json={"role": role}, headers=owner
    )
    assert response.status_code == 200, response.get_json()


def rename(client, project, headers):
    return client.patch(f"/api/v1/projects/{project['id']}", json={"name": "x"}, headers=headers)


def test_removing_the_creator_revokes_their_keys(api, client, owner, project):
    admin_id, admin = member(api, client, owner, project, "admin")
    key = create_key(client, admin, project, scopes=["view_project", "manage_project"])
    kept = create_key(client, owner, project)
    response = client.delete(f"/api/v1/projects/{project['id']}/members/{admin_id}", headers=owner)
    assert response.status_code == 204
    assert_error(client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key)), 401)
    listed = {k["id"]: k for k in client.get(keys_url(project), headers=owner).get_json()}
    assert listed[key["id"]]["revoked_at"] is not None
    assert listed[kept["id"]]["revoked_at"] is None
    # being added back does not revive the key
    user_email = client.get("/api/v1/auth/me", headers=admin).get_json()["email"]
    body = {"email": user_email, "role": "admin"}
    client.post(f"/api/v1/projects/{project['id']}/members", json=body, headers=owner)
    api.login(user_email)
    assert_error(client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key)), 401)


def test_demoting_the_creator_narrows_their_keys(api, client, owner, project):
    admin_id, admin = member(api, client, owner, project, "admin")
    key = create_key(client, admin, project, scopes=["view_project", "manage_project"])
    assert rename(client, project, key_headers(key)).status_code == 200
    set_role(client, owner, project, admin_id, "viewer")
    assert (
        "manage_project" in assert_error(rename(client, project, key_headers(key)), 403)["detail"]
    )
    assert (
        client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key)).status_code == 200
    )
    set_role(client, owner, project, admin_id, "admin")
    assert rename(client, project, key_headers(key)).status_code == 200


def test_a_disabled_creators_keys_stop_working(app, client, owner, project):
    key = create_key(client, owner, project)
    email = client.get("/api/v1/auth/me", headers=owner).get_json()["email"]
    with app.extensions["nebulo"].db.session_scope() as session:
        session.execute(update(User).where(User.email == email).values(is_active=False))
    assert_error(client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key)), 401)


def test_a_key_cannot_hold_member_or_key_management(client, owner, project):
    for scope in ("manage_members", "manage_api_keys"):
        response = client.post(
            keys_url(project), json={"name": "k", "scopes": ["view_project", scope]}, headers=owner
        )
        assert scope in assert_error(response, 422)["errors"]["scopes"][0]


def test_a_key_never_manages_members_or_keys(app, api, client, owner, project):
    """Even a key stored with those scopes (before they were refused) gets 403 on every route."""
    key = create_key(client, owner, project)
    with app.extensions["nebulo"].db.session_scope() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(key["id"]))
            .values(scopes=["view_project", "manage_members", "manage_api_keys"])
        )
    member_id, _ = member(api, client, owner, project, "viewer")
    base = f"/api/v1/projects/{project['id']}"
    attempts = [
        ("post", "/members", {"email": api.register()["email"], "role": "admin"}),
        ("patch", f"/members/{member_id}", {"role": "admin"}),
        ("delete", f"/members/{member_id}", None),
        ("get", "/invitations", None),
        ("get", "/api-keys", None),
        ("post", "/api-keys", {"name": "minted", "scopes": ["view_project"]}),
        ("delete", f"/api-keys/{key['id']}", None),
    ]
    for method, suffix, body in attempts:
        response = getattr(client, method)(base + suffix, json=body, headers=key_headers(key))
        assert "API keys cannot manage" in assert_error(response, 403, "FORBIDDEN")["detail"]
    members = client.get(base + "/members", headers=owner).get_json()
    assert {m["role"] for m in members} == {"owner", "viewer"}
    assert len(client.get(keys_url(project), headers=owner).get_json()) == 1


def test_a_key_request_costs_one_query(app, client, owner, project):
    key = create_key(client, owner, project)
    client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key))  # records its use
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["nebulo"].db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(f"/api/v1/projects/{project['id']}", headers=key_headers(key))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200 and response.get_json()["id"] == project["id"]
    assert len(statements) == 1, statements
