"""Domain events: on_event hooks after commit only, and the project's WebSocket feed."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest
from simple_websocket import ConnectionClosed

from core.events import event_broker, publish
from tests.core.helpers import WebSocketClient, make_plugin, served

RECEIVE_SECONDS = 20  # an upper bound for a loaded CI machine, not an expected time


def publish_committed(app, name: str, project_id, payload: dict | None = None) -> None:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        publish(session, name, uuid.UUID(str(project_id)), payload or {})


def recording_plugin(events: list):
    def on_event(event):
        events.append(event)

    return make_plugin("event_probe", on_event=on_event)


@pytest.fixture
def heard(make_app):
    """An app with a plugin that records every event its on_event hook hears."""
    events = []
    app = make_app(extra_plugins=[("event_probe", recording_plugin(events))])
    return app, events


def test_on_event_hears_an_event_only_after_the_commit(heard):
    app, events = heard
    project_id = uuid.uuid4()
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        publish(
            session,
            "order.created",
            project_id,
            {"total": Decimal("12.50"), "order_id": project_id},
        )
        assert events == []
    [event] = events
    assert event.name == "order.created" and event.project_id == project_id
    assert event.payload == {"total": "12.50", "order_id": str(project_id)}
    assert event.occurred_at.tzinfo is not None


def test_a_rolled_back_event_is_never_delivered(heard):
    app, events = heard
    with app.app_context():
        session = app.extensions["nebulo"].db.sessions()
        publish(session, "order.created", uuid.uuid4(), {})
        session.rollback()
        session.commit()
        session.close()
        with pytest.raises(RuntimeError), app.extensions["nebulo"].db.session_scope() as session:
            publish(session, "order.paid", uuid.uuid4(), {})
            raise RuntimeError("the change failed")
    assert events == []


def test_an_event_published_in_a_savepoint_waits_for_the_outer_commit(heard):
    app, events = heard
    with app.app_context():
        with app.extensions["nebulo"].db.session_scope() as session:
            with session.begin_nested():
                publish(session, "order.created", uuid.uuid4(), {})
            assert events == []  # the savepoint is released, nothing is committed yet
        assert [event.name for event in events] == ["order.created"]
        with pytest.raises(RuntimeError), app.extensions["nebulo"].db.session_scope() as session:
            with session.begin_nested():
                publish(session, "order.paid", uuid.uuid4(), {})
            raise RuntimeError("the outer change failed")
    assert [event.name for event in events] == ["order.created"]


def test_a_failing_on_event_hook_is_logged_and_the_others_still_hear(make_app, caplog):
    def explode(event):
        raise ValueError("plugin bug")

    events = []
    app = make_app(
        extra_plugins=[
            ("a_broken_listener", make_plugin("a_broken_listener", on_event=explode)),
            ("event_probe", recording_plugin(events)),
        ]
    )
    publish_committed(app, "order.created", uuid.uuid4())
    assert [event.name for event in events] == ["order.created"]
    assert "plugin a_broken_listener failed in on_event" in caplog.text


def test_publish_refuses_a_malformed_name_or_a_payload_that_is_not_json(app):
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        with pytest.raises(ValueError):
            publish(session, "Order Created", uuid.uuid4(), {})
        with pytest.raises(TypeError):
            publish(session, "order.created", uuid.uuid4(), {"when": object()})


# --- WebSocket -------------------------------------------------------------------------------


@pytest.fixture
def server(app):
    """The app served over real HTTP on 127.0.0.1, so WebSocket clients can connect."""
    with served(app) as address:
        yield f"ws://{address}"


def connect(
    server: str, project_id, token: str | None = None, headers: dict | None = None
) -> WebSocketClient:
    url = f"{server}/api/v1/ws/{project_id}" + (f"?token={token}" if token else "")
    return WebSocketClient.connect(url, headers=headers or {})


def subscribed(server: str, project_id, **auth) -> WebSocketClient:
    client = connect(server, project_id, **auth)
    assert json.loads(client.receive(RECEIVE_SECONDS)) == {
        "type": "subscribed",
        "project_id": project_id,
    }
    return client


def token_of(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def refusal(client: WebSocketClient) -> tuple[dict, int]:
    """The error frame and the close code of a refused connection."""
    frame = json.loads(client.receive(RECEIVE_SECONDS))
    with pytest.raises(ConnectionClosed) as closed:
        client.receive(RECEIVE_SECONDS)
    return frame, closed.value.reason


def test_websocket_pushes_the_projects_events_and_not_another_projects(
    app, api, owner, project, server
):
    other = api.project(owner, name="Other store")
    client = subscribed(server, project["id"], token=token_of(owner))
    try:
        publish_committed(app, "order.created", other["id"], {"n": 0})
        publish_committed(app, "order.created", project["id"], {"n": 1})
        event = json.loads(client.receive(RECEIVE_SECONDS))
        assert set(event) == {"id", "name", "project_id", "payload", "occurred_at"}
        assert event["name"] == "order.created"
        assert event["project_id"] == project["id"] and event["payload"] == {"n": 1}
        assert client.receive(0.5) is None
    finally:
        client.close()


def test_websocket_accepts_the_token_in_the_authorization_header(app, owner, project, server):
    client = subscribed(server, project["id"], headers=owner)
    try:
        publish_committed(app, "customer.risk_changed", project["id"], {"risk": "high"})
        assert json.loads(client.receive(RECEIVE_SECONDS))["payload"] == {"risk": "high"}
    finally:
        client.close()


def test_websocket_accepts_an_api_key_with_view_project(client, owner, project, server):
    response = client.post(
        f"/api/v1/projects/{project['id']}/api-keys",
        json={"name": "feed", "scopes": ["view_project"]},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    key = response.get_json()["key"]
    subscribed(server, project["id"], headers={"X-API-Key": key}).close()
    frame, code = refusal(connect(server, uuid.uuid4(), headers={"X-API-Key": key}))
    assert code == 4404 and frame["code"] == "NOT_FOUND"


def test_websocket_refuses_an_api_key_without_view_project(client, owner, project, server):
    response = client.post(
        f"/api/v1/projects/{project['id']}/api-keys",
        json={"name": "hooks only", "scopes": ["manage_webhooks"]},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    frame, code = refusal(
        connect(server, project["id"], headers={"X-API-Key": response.get_json()["key"]})
    )
    assert code == 4403 and frame["code"] == "FORBIDDEN" and "view_project" in frame["detail"]


@pytest.mark.parametrize("token", ["not-a-jwt", None])
def test_websocket_refuses_a_missing_or_bad_token(project, server, token):
    frame, code = refusal(connect(server, project["id"], token=token))
    assert code == 4401
    assert frame["code"] == "UNAUTHORIZED" and frame["detail"] and frame["timestamp"]


def test_websocket_refuses_a_project_the_caller_is_not_a_member_of(api, project, server):
    stranger = api.user_headers()
    frame, code = refusal(connect(server, project["id"], token=token_of(stranger)))
    assert code == 4404 and frame["code"] == "NOT_FOUND"


def test_websocket_handler_ends_when_the_client_closes(app, owner, project, server):
    project_id = uuid.UUID(project["id"])
    broker = event_broker(app)
    client = subscribed(server, project["id"], token=token_of(owner))
    assert broker.subscriber_count(project_id) == 1
    client.close()
    deadline = time.monotonic() + RECEIVE_SECONDS
    while broker.subscriber_count(project_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.subscriber_count(project_id) == 0


def test_websocket_receives_events_published_by_another_process(
    app, make_app, stack, owner, project, server
):
    if stack.redis_url is None:
        pytest.skip("cross-process delivery needs Redis")
    publisher = make_app()
    client = subscribed(server, project["id"], token=token_of(owner))
    try:
        publish_committed(publisher, "order.created", project["id"], {"from": "another process"})
        event = json.loads(client.receive(RECEIVE_SECONDS))
        assert event["payload"] == {"from": "another process"}
    finally:
        client.close()
