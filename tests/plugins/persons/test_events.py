"""``person.joined`` reaches plugins, the WebSocket feed and outbound webhooks."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.hookspecs import hookimpl
from core.webhooks.models import WebhookDelivery
from tests.conftest import ApiClient
from tests.core.test_events import RECEIVE_SECONDS, server, subscribed, token_of  # noqa: F401
from tests.plugins.persons.conftest import Camera, face

SEED_PERSON_FIELDS = {"id", "full_name", "age", "gender", "emotion", "body_type"}


class EventSpy:
    def __init__(self):
        self.events = []

    @hookimpl
    def on_event(self, event):
        self.events.append(event)


def test_person_joined_is_published_for_new_and_returning_visitors(make_app):
    spy = EventSpy()
    app = make_app(extra_plugins=[("event_spy", spy)])
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner, name="Bella Vista")
    camera = Camera(client, project["id"], owner)
    first = camera.detected(face(1), gender="Male", age=30)
    camera.detected(face(1))
    joined = [event for event in spy.events if event.name == "person.joined"]
    assert len(joined) == 2
    payload = joined[0].payload
    assert payload["event"] == "person_joined"
    assert set(payload["person"]) == SEED_PERSON_FIELDS
    assert payload["person"]["id"] == first["id"] and payload["person"]["gender"] == "Male"
    assert payload["organization"] == {"id": project["id"], "name": "Bella Vista"}
    assert payload["timestamp"].endswith("Z")
    assert payload["visit"]["returning"] is False
    assert joined[1].payload["visit"]["returning"] is True
    assert "vector" not in json.dumps(payload)


def test_person_joined_reaches_outbound_webhooks_with_the_seeds_payload(
    app, client, owner, project, camera
):
    response = client.post(
        f"/api/v1/projects/{project['id']}/webhooks",
        json={"url": "https://example.com/person-detected", "events": ["person.joined"]},
        headers=owner,
    )
    assert response.status_code == 201
    person = camera.detected(face(1))
    with app.extensions["nebulo"].db.session_scope() as session:
        bodies = session.scalars(select(WebhookDelivery.body)).all()
    assert len(bodies) == 1
    payload = bodies[0]["payload"]
    assert bodies[0]["event"] == "person.joined"
    assert {"event", "timestamp", "person", "organization"} <= set(payload)
    assert payload["person"]["id"] == person["id"]


def test_person_joined_reaches_the_websocket_feed(owner, project, server, camera):  # noqa: F811
    feed = subscribed(server, project["id"], token=token_of(owner))
    try:
        person = camera.detected(face(1))
        event = json.loads(feed.receive(RECEIVE_SECONDS))
        assert event["name"] == "person.joined"
        assert event["payload"]["person"]["id"] == person["id"]
    finally:
        feed.close()
