"""The project-scoped hot path: one query per request, and it still refuses logged-out tokens,
strangers and deactivated accounts (the benchmark of bench/bench_core.py measures this path)."""

from __future__ import annotations

import uuid

from sqlalchemy import event, update

from core.auth.models import User
from tests.core.helpers import assert_error


def _project_url(project: dict) -> str:
    return f"/api/v1/projects/{project['id']}"


def test_scoped_get_costs_one_query(app, client, owner, project):
    statements: list[str] = []
    engine = app.extensions["nebulo"].db.engine

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(_project_url(project), headers=owner)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200 and response.get_json()["id"] == project["id"]
    assert len(statements) == 1, statements


def test_logged_out_token_is_refused_on_project_routes(api, client):
    user = api.register()
    tokens = api.login(user["email"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    project = api.project(headers)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    assert_error(client.get(_project_url(project), headers=headers), 401)
    # A project the caller never belonged to: still 401 first, not 404.
    assert_error(client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=headers), 401)
    assert_error(client.get(f"{_project_url(project)}/members", headers=headers), 401)


def test_strangers_and_deactivated_users_do_not_see_the_project(app, api, client, owner, project):
    stranger = api.user_headers()
    assert_error(client.get(_project_url(project), headers=stranger), 404)
    with app.extensions["nebulo"].db.session_scope() as session:
        session.execute(update(User).values(is_active=False))
    assert_error(client.get(_project_url(project), headers=owner), 404)
