"""/api/v1/projects: projects CRUD, tenancy, members and their roles."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from core.auth.models import ApiKey
from core.projects.models import Project, ProjectMember
from tests.core.helpers import assert_error


def url(project: dict, suffix: str = "") -> str:
    return f"/api/v1/projects/{project['id']}{suffix}"


def add_member(api, client, project: dict, owner: dict, role: str) -> tuple[dict, dict]:
    """Register a user, add them to ``project`` with ``role``; their (user, headers)."""
    user = api.register()
    response = client.post(
        url(project, "/members"), json={"email": user["email"], "role": role}, headers=owner
    )
    assert response.status_code == 201, response.get_json()
    tokens = api.login(user["email"])
    return user, {"Authorization": f"Bearer {tokens['access_token']}"}


def count(app, model, **where) -> int:
    with app.extensions["nebulo"].db.session_scope() as session:
        statement = select(func.count()).select_from(model).filter_by(**where)
        return session.scalar(statement)


# --- CRUD -----------------------------------------------------------------------------------


def test_create_a_project_and_read_it_back(client, owner):
    response = client.post(
        "/api/v1/projects",
        json={"name": "Shop", "description": "Shoes", "timezone": "Europe/Paris"},
        headers=owner,
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "Shop" and created["timezone"] == "Europe/Paris"
    assert created["is_active"] is True and created["settings"] == {}
    assert client.get(url(created), headers=owner).get_json() == created


def test_the_creator_is_the_owner(client, owner, project):
    members = client.get(url(project, "/members"), headers=owner).get_json()
    assert [m["role"] for m in members] == ["owner"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "owner_id": "y"}, "owner_id"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "timezone": "../../etc/passwd"}, "timezone"),
        ({"name": "x", "settings": []}, "settings"),
    ],
    ids=["missing-name", "empty-name", "unknown-field", "unknown-zone", "zone-path", "settings"],
)
def test_create_rejects_bad_input(client, owner, body, field):
    body = assert_error(client.post("/api/v1/projects", json=body, headers=owner), 422)
    assert field in body["errors"]


def test_projects_need_a_login(client, project):
    assert_error(client.get("/api/v1/projects"), 401)
    assert_error(client.post("/api/v1/projects", json={"name": "x"}), 401)
    assert_error(client.get(url(project)), 401)


def test_patch_changes_only_the_given_fields(client, owner, project):
    response = client.patch(url(project), json={"name": "Renamed"}, headers=owner)
    assert response.status_code == 200
    assert response.get_json()["name"] == "Renamed"
    assert response.get_json()["timezone"] == project["timezone"]
    body = assert_error(
        client.patch(url(project), json={"id": str(uuid.uuid4())}, headers=owner), 422
    )
    assert "id" in body["errors"]


def test_delete_a_project(client, owner, project):
    assert client.delete(url(project), headers=owner).status_code == 204
    assert_error(client.get(url(project), headers=owner), 404)
    assert client.get("/api/v1/projects", headers=owner).get_json() == []


def test_an_unknown_project_is_404(client, owner):
    assert_error(client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=owner), 404, "NOT_FOUND")


# --- listing --------------------------------------------------------------------------------


def test_the_list_shows_only_my_projects_with_a_pagination_header(api, client, owner):
    mine = [api.project(owner, f"Mine {index}")["id"] for index in range(3)]
    api.project(api.user_headers(), "Someone else's")
    response = client.get("/api/v1/projects", headers=owner)
    assert response.status_code == 200
    assert [p["id"] for p in response.get_json()] == mine
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3 and pagination["total_pages"] == 1
    assert pagination["page"] == 1 and pagination["next_page"] is None


def test_page_and_page_size(api, client, owner):
    ids = [api.project(owner, f"P{index}")["id"] for index in range(5)]
    response = client.get("/api/v1/projects?page=2&page_size=2", headers=owner)
    assert [p["id"] for p in response.get_json()] == ids[2:4]
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination == {
        "total": 5,
        "total_pages": 3,
        "page": 2,
        "page_size": 2,
        "offset": 2,
        "next_page": 3,
        "previous_page": 1,
    }


def test_limit_and_offset_as_seed_000_uses_them(api, client, owner):
    ids = [api.project(owner, f"P{index}")["id"] for index in range(5)]
    response = client.get("/api/v1/projects?limit=3&offset=1", headers=owner)
    assert [p["id"] for p in response.get_json()] == ids[1:4]


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=0", "page_size=501", "limit=x", "offset=-1"]
)
def test_bad_paging_arguments_are_422(client, owner, query):
    assert_error(client.get(f"/api/v1/projects?{query}", headers=owner), 422)


# --- tenancy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "mine now"}),
        ("delete", "", None),
        ("get", "/members", None),
        ("post", "/members", {"email": "x@example.com", "role": "viewer"}),
        ("get", "/api-keys", None),
        ("post", "/api-keys", {"name": "k", "scopes": ["view_project"]}),
    ],
)
def test_another_users_project_does_not_exist_for_me(api, client, project, method, suffix, body):
    stranger = api.user_headers()
    response = getattr(client, method)(url(project, suffix), json=body, headers=stranger)
    assert_error(response, 404, "NOT_FOUND")


def test_another_users_member_and_key_ids_are_404(api, client, owner, project):
    stranger = api.user_headers()
    own = api.project(stranger)
    key = client.post(
        url(project, "/api-keys"), json={"name": "k", "scopes": ["view_project"]}, headers=owner
    ).get_json()
    assert_error(client.delete(url(own, f"/api-keys/{key['id']}"), headers=stranger), 404)
    owner_id = client.get(url(project, "/members"), headers=owner).get_json()[0]["user_id"]
    assert_error(client.delete(url(own, f"/members/{owner_id}"), headers=stranger), 404)
    assert client.get(url(project), headers=owner).status_code == 200


# --- roles ----------------------------------------------------------------------------------


def test_a_viewer_can_read_but_not_change(api, client, owner, project):
    _, viewer = add_member(api, client, project, owner, "viewer")
    assert client.get(url(project), headers=viewer).status_code == 200
    assert client.get(url(project, "/members"), headers=viewer).status_code == 200
    body = assert_error(client.patch(url(project), json={"name": "x"}, headers=viewer), 403)
    assert "manage_project" in body["detail"]
    assert_error(client.get(url(project, "/api-keys"), headers=viewer), 403)
    assert_error(client.delete(url(project), headers=viewer), 403)


def test_an_operator_cannot_manage_members(api, client, owner, project):
    _, operator = add_member(api, client, project, owner, "operator")
    response = client.post(
        url(project, "/members"),
        json={"email": api.register()["email"], "role": "viewer"},
        headers=operator,
    )
    assert_error(response, 403, "FORBIDDEN")


def test_an_admin_manages_the_project_but_cannot_delete_it(api, client, owner, project):
    _, admin = add_member(api, client, project, owner, "admin")
    assert client.patch(url(project), json={"name": "By admin"}, headers=admin).status_code == 200
    add_member(api, client, project, admin, "operator")
    assert_error(client.delete(url(project), headers=admin), 403, "FORBIDDEN")
    assert client.delete(url(project), headers=owner).status_code == 204


def test_an_admin_cannot_make_owners(api, client, owner, project):
    """Otherwise an admin could promote a second account of theirs and delete the project."""
    admin_user, admin = add_member(api, client, project, owner, "admin")
    outsider = api.register()
    response = client.post(
        url(project, "/members"), json={"email": outsider["email"], "role": "owner"}, headers=admin
    )
    assert_error(response, 403)
    response = client.patch(
        url(project, f"/members/{admin_user['id']}"), json={"role": "owner"}, headers=admin
    )
    assert_error(response, 403)
    owner_id = client.get(url(project, "/members"), headers=owner).get_json()[0]["user_id"]
    response = client.patch(
        url(project, f"/members/{owner_id}"), json={"role": "viewer"}, headers=admin
    )
    assert_error(response, 403)
    assert_error(client.delete(url(project, f"/members/{owner_id}"), headers=admin), 403)


def test_the_roles_map_to_growing_permission_sets(app):
    state = app.extensions["nebulo"]
    viewer, operator, admin, owner = (
        state.permissions_for_role(role) for role in ("viewer", "operator", "admin", "owner")
    )
    assert viewer <= operator <= admin <= owner
    assert "view_project" in viewer and "manage_project" not in viewer
    assert {"manage_project", "manage_members", "manage_api_keys"} <= admin
    assert "delete_project" in owner and "delete_project" not in admin


# --- members --------------------------------------------------------------------------------


def invite(client, project: dict, owner: dict, email: str, role: str = "operator"):
    return client.post(url(project, "/members"), json={"email": email, "role": role}, headers=owner)


def test_adding_a_member_invites_them_until_their_next_login(api, client, owner, project):
    user = api.register("Bob@example.com", name="Bob")
    response = invite(client, project, owner, "bob@EXAMPLE.com")
    assert response.status_code == 201
    invitation = response.get_json()
    assert set(invitation) == {"id", "email", "role", "status", "created_at"}
    assert invitation["email"] == "bob@example.com" and invitation["role"] == "operator"
    assert invitation["status"] == "pending"
    pending = client.get(url(project, "/invitations"), headers=owner).get_json()
    assert [i["id"] for i in pending] == [invitation["id"]]
    assert len(client.get(url(project, "/members"), headers=owner).get_json()) == 1

    tokens = api.login("bob@example.com")
    members = client.get(url(project, "/members"), headers=owner).get_json()
    bob = next(m for m in members if m["user_id"] == user["id"])
    assert bob["role"] == "operator" and bob["name"] == "Bob"
    assert client.get(url(project, "/invitations"), headers=owner).get_json() == []
    bob_headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get(url(project), headers=bob_headers).status_code == 200


def test_an_invited_email_becomes_a_member_when_it_registers(api, client, owner, project):
    assert invite(client, project, owner, "newcomer@example.com", "viewer").status_code == 201
    user = api.register("Newcomer@example.com")
    members = client.get(url(project, "/members"), headers=owner).get_json()
    assert {m["user_id"]: m["role"] for m in members}[user["id"]] == "viewer"
    assert client.get(url(project, "/invitations"), headers=owner).get_json() == []


def test_a_logged_in_user_joins_at_their_next_refresh(api, client, owner, project):
    user = api.register()
    tokens = api.login(user["email"])
    assert invite(client, project, owner, user["email"]).status_code == 201
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    headers = {"Authorization": f"Bearer {refreshed.get_json()['access_token']}"}
    assert client.get(url(project), headers=headers).status_code == 200


def test_cancel_an_invitation(api, client, owner, project):
    invitation = invite(client, project, owner, "late@example.com").get_json()
    cancel = url(project, f"/invitations/{invitation['id']}")
    assert client.delete(cancel, headers=owner).status_code == 204
    assert_error(client.delete(cancel, headers=owner), 404)
    user = api.register("late@example.com")
    members = client.get(url(project, "/members"), headers=owner).get_json()
    assert user["id"] not in {m["user_id"] for m in members}


def test_add_member_errors(api, client, owner, project):
    email = api.register()["email"]
    members = url(project, "/members")
    bad_role = client.post(members, json={"email": email, "role": "king"}, headers=owner)
    assert "role" in assert_error(bad_role, 422)["errors"]
    bad_email = client.post(members, json={"email": "nope", "role": "viewer"}, headers=owner)
    assert "email" in assert_error(bad_email, 422)["errors"]
    assert invite(client, project, owner, email, "viewer").status_code == 201
    assert_error(invite(client, project, owner, email.upper(), "admin"), 409, "CONFLICT")
    api.login(email)  # now a member
    assert_error(invite(client, project, owner, email, "admin"), 409, "CONFLICT")
    owner_email = client.get("/api/v1/auth/me", headers=owner).get_json()["email"]
    assert_error(invite(client, project, owner, owner_email), 409)


def test_change_a_members_role(api, client, owner, project):
    user, headers = add_member(api, client, project, owner, "viewer")
    assert_error(client.patch(url(project), json={"name": "x"}, headers=headers), 403)
    response = client.patch(
        url(project, f"/members/{user['id']}"), json={"role": "admin"}, headers=owner
    )
    assert response.status_code == 200 and response.get_json()["role"] == "admin"
    assert client.patch(url(project), json={"name": "x"}, headers=headers).status_code == 200
    bad = client.patch(url(project, f"/members/{user['id']}"), json={"role": "god"}, headers=owner)
    assert_error(bad, 422)
    missing = client.patch(
        url(project, f"/members/{uuid.uuid4()}"), json={"role": "admin"}, headers=owner
    )
    assert_error(missing, 404)


def test_remove_a_member(api, client, owner, project):
    user, headers = add_member(api, client, project, owner, "operator")
    assert client.delete(url(project, f"/members/{user['id']}"), headers=owner).status_code == 204
    assert_error(client.get(url(project), headers=headers), 404)
    assert_error(client.delete(url(project, f"/members/{user['id']}"), headers=owner), 404)


def test_the_last_owner_cannot_leave_or_be_demoted(api, client, owner, project):
    owner_id = client.get(url(project, "/members"), headers=owner).get_json()[0]["user_id"]
    member = url(project, f"/members/{owner_id}")
    assert_error(client.delete(member, headers=owner), 409, "CONFLICT")
    assert_error(client.patch(member, json={"role": "admin"}, headers=owner), 409, "CONFLICT")
    second, second_headers = add_member(api, client, project, owner, "owner")
    assert client.patch(member, json={"role": "admin"}, headers=owner).status_code == 200
    last = url(project, f"/members/{second['id']}")
    assert_error(client.delete(last, headers=second_headers), 409)


# --- cascade --------------------------------------------------------------------------------


def test_deleting_a_project_deletes_its_rows(app, api, client, owner, project):
    add_member(api, client, project, owner, "viewer")
    client.post(
        url(project, "/api-keys"), json={"name": "k", "scopes": ["view_project"]}, headers=owner
    )
    kept = api.project(owner, "Kept")
    client.post(
        url(kept, "/api-keys"), json={"name": "k", "scopes": ["view_project"]}, headers=owner
    )
    project_id = uuid.UUID(project["id"])
    assert count(app, ProjectMember, project_id=project_id) == 2
    assert count(app, ApiKey, project_id=project_id) == 1

    assert client.delete(url(project), headers=owner).status_code == 204

    assert count(app, Project, id=project_id) == 0
    assert count(app, ProjectMember, project_id=project_id) == 0
    assert count(app, ApiKey, project_id=project_id) == 0
    assert count(app, ApiKey, project_id=uuid.UUID(kept["id"])) == 1
