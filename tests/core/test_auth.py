"""/api/v1/auth: register, login, refresh with rotation, me, logout and brute-force limits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token
from sqlalchemy import update

from core.auth.models import User
from tests.core.helpers import assert_error

PASSWORD = "correct horse battery"


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def set_active(app, email: str, active: bool) -> None:
    with app.extensions["nebulo"].db.session_scope() as session:
        session.execute(update(User).where(User.email == email).values(is_active=active))


# --- register -------------------------------------------------------------------------------


def test_register_returns_the_new_user_without_secrets(client):
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "Ada@Example.com", "password": PASSWORD, "name": "Ada"},
    )
    assert response.status_code == 201
    user = response.get_json()
    assert {"id", "email", "name", "role", "is_active", "created_at"} <= set(user)
    assert "password" not in user and "password_hash" not in user
    assert user["email"] == "ada@example.com"
    assert user["name"] == "Ada" and user["is_active"] is True
    assert uuid.UUID(user["id"])
    assert user["created_at"].endswith("Z") or user["created_at"].endswith("+00:00")


def test_register_twice_with_the_same_email_is_a_conflict(client, api):
    api.register("taken@example.com")
    response = client.post(
        "/api/v1/auth/register", json={"email": "TAKEN@example.com", "password": PASSWORD}
    )
    assert_error(response, 409, "CONFLICT")


def test_register_with_a_taken_username_is_a_conflict(client, api):
    api.register(username="ada")
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "other@example.com", "password": PASSWORD, "username": "ada"},
    )
    assert_error(response, 409)
    # a username differing only by case would be the same account at login
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "other@example.com", "password": PASSWORD, "username": "ADA"},
    )
    assert_error(response, 409)


def test_login_by_username_in_any_case(client, api):
    api.register("ada@example.com", username="Ada")
    for username in ("Ada", "ada", "ADA"):
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, username


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "weak@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "x@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
        ({"email": "x@example.com", "password": PASSWORD, "username": "a b"}, "username"),
    ],
    ids=["weak-password", "bad-email", "missing-email", "unknown-field", "bad-username"],
)
def test_register_rejects_bad_input_per_field(client, body, field):
    body = assert_error(client.post("/api/v1/auth/register", json=body), 422, "VALIDATION_ERROR")
    assert field in body["errors"]


# --- login ----------------------------------------------------------------------------------


def test_login_by_email_gives_a_bearer_token_pair(client, api):
    api.register("ada@example.com")
    response = client.post(
        "/api/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/api/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.get_json()["email"] == "ada@example.com"


def test_login_by_username_as_seed_000_does(client, api):
    api.register("ada@example.com", username="ada")
    response = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(response.get_json())).status_code == 200


def test_login_with_an_email_in_the_username_field(client, api):
    api.register("ada@example.com")
    response = client.post(
        "/api/v1/auth/login", json={"username": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_401(client, api):
    api.register("ada@example.com")
    wrong = assert_error(
        client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope-nope"}
        ),
        401,
        "UNAUTHORIZED",
    )
    unknown = assert_error(
        client.post(
            "/api/v1/auth/login", json={"email": "who@example.com", "password": "nope-nope"}
        ),
        401,
        "UNAUTHORIZED",
    )
    assert wrong["detail"] == unknown["detail"] == "Invalid credentials"


def test_login_needs_an_identifier_and_a_password(client):
    body = assert_error(client.post("/api/v1/auth/login", json={"password": PASSWORD}), 422)
    assert "email" in body["errors"]
    body = assert_error(client.post("/api/v1/auth/login", json={"email": "a@example.com"}), 422)
    assert "password" in body["errors"]


def test_a_disabled_user_cannot_log_in_and_its_tokens_stop_working(app, client, api):
    user = api.register()
    tokens = api.login(user["email"])
    set_active(app, user["email"], False)
    response = client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert assert_error(response, 401)["detail"] == "Invalid credentials"
    assert_error(client.get("/api/v1/auth/me", headers=bearer(tokens)), 401)
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error(response, 401)


# --- tokens ---------------------------------------------------------------------------------


def test_me_without_a_token_is_401(client):
    assert_error(client.get("/api/v1/auth/me"), 401)
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": "Bearer garbage"}), 401)
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}), 401)


def test_an_expired_access_token_is_401(app, client, api):
    user = api.register()
    with app.app_context():
        token = create_access_token(
            user["id"],
            additional_claims={"fam": str(uuid.uuid4())},
            expires_delta=timedelta(seconds=-5),
        )
    body = assert_error(
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}), 401
    )
    assert "expired" in body["detail"]


def test_a_refresh_token_is_not_an_access_token(client, api):
    user = api.register()
    tokens = api.login(user["email"])
    headers = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401)


def test_an_access_token_is_not_a_refresh_token(client, api):
    tokens = api.login(api.register()["email"])
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert_error(response, 401)


@pytest.mark.parametrize("field", ["refresh_token", "refresh"])
def test_refresh_gives_a_new_working_pair(client, api, field):
    tokens = api.login(api.register()["email"])
    response = client.post("/api/v1/auth/refresh", json={field: tokens["refresh_token"]})
    assert response.status_code == 200
    fresh = response.get_json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(fresh)).status_code == 200


def test_refresh_needs_a_token(client):
    assert_error(client.post("/api/v1/auth/refresh", json={}), 422)
    assert_error(client.post("/api/v1/auth/refresh", json={"refresh_token": "garbage"}), 401)


def test_a_reused_refresh_token_revokes_the_whole_family(client, api):
    """Rotation: the second use of a refresh token means it leaked; every token of that login
    session dies, including the newest pair the legitimate holder got."""
    email = api.register()["email"]
    first = api.login(email)
    second = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).get_json()
    third = client.post(
        "/api/v1/auth/refresh", json={"refresh": second["refresh_token"]}
    ).get_json()
    other_session = api.login(email)

    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_error(reuse, 401)
    assert_error(
        client.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}), 401
    )
    for tokens in (first, second, third):
        assert_error(client.get("/api/v1/auth/me", headers=bearer(tokens)), 401)
    # another login of the same user is a different family and keeps working
    assert client.get("/api/v1/auth/me", headers=bearer(other_session)).status_code == 200
    response = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert response.status_code == 200


def test_logout_revokes_the_access_and_the_refresh_token(client, api):
    email = api.register()["email"]
    tokens = api.login(email)
    other_session = api.login(email)
    response = client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert response.status_code == 200
    assert_error(client.get("/api/v1/auth/me", headers=bearer(tokens)), 401)
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error(response, 401)
    assert_error(client.post("/api/v1/auth/logout", headers=bearer(tokens)), 401)
    assert client.get("/api/v1/auth/me", headers=bearer(other_session)).status_code == 200


def test_logout_needs_a_user(client):
    assert_error(client.post("/api/v1/auth/logout"), 401)


# --- brute force (failed-login limits: tests/core/test_login_throttle.py) --------------------


def login(client, identifier: str, password: str, field: str = "email"):
    return client.post("/api/v1/auth/login", json={field: identifier, "password": password})


def test_the_auth_routes_share_one_budget_per_ip(make_app):
    client = make_app(rate_limit_auth="3/minute").test_client()
    registered = client.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201
    first = login(client, "ada@example.com", PASSWORD)
    assert first.status_code == 200
    assert login(client, "ada@example.com", PASSWORD).status_code == 200
    assert_error(login(client, "ada@example.com", PASSWORD), 429, "RATE_LIMITED")
    refresh = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first.get_json()["refresh_token"]}
    )
    assert_error(refresh, 429, "RATE_LIMITED")
    other_ip = client.post(
        "/api/v1/auth/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other_ip.status_code == 200
