"""The summary's ``ai_summary``: written by the assistant's provider from the person's figures
(offline: a factual paragraph), and kept until those figures change."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from assistant import services as assistant
from assistant.models import Usage
from assistant.providers.base import Completion
from core.context import Context
from plugins.persons import summary
from plugins.persons.models import PersonSummary
from tests.assistant.conftest import FakeServer
from tests.assistant.test_providers import OpenAIWire
from tests.conftest import ApiClient
from tests.plugins.persons.conftest import Camera, face

MARCH_1, MARCH_8 = "2026-03-01T12:00:00Z", "2026-03-08T19:30:00Z"


def summary_writes(app, project_id: str) -> int:
    """How many times a provider was asked for a person summary (one Usage row each)."""
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        return session.scalar(
            select(func.count()).where(
                Usage.project_id == uuid.UUID(project_id), Usage.operation == "person_summary"
            )
        )


def regular(client, owner, project, camera) -> str:
    """Ana: seen on March 1 and 8, two orders at table 5 (2 pizzas, 1 cola)."""
    person = camera.detected(face(1), entry_time=MARCH_1)
    camera.detected(face(1), entry_time=MARCH_8)
    url = f"/api/v1/persons/{project['id']}/{person['id']}"
    client.patch(url, json={"full_name": "Ana"}, headers=owner)
    for name, quantity in (("Pizza", 2), ("Cola", 1)):
        response = client.post(
            f"/api/v1/orders/{project['id']}/carts",
            json={
                "person_id": person["id"],
                "table_number": 5,
                "items": [{"name": name, "quantity": quantity, "price": 4}],
            },
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
    return url


def test_the_offline_summary_states_the_figures_and_nothing_else(client, owner, project, camera):
    url = regular(client, owner, project, camera)
    summary = client.get(f"{url}/summary", headers=owner).get_json()
    assert summary["ai_summary"] == (
        "Ana has been seen twice, first on 2026-03-01, most recently on 2026-03-08. "
        "They placed 2 orders with 3 items in total. "
        "Their most frequent table is table 5 (2 of 2 orders). "
        "What they order most: Pizza (2), Cola (1)."
    )


def test_a_visitor_without_orders_gets_no_invented_preferences(client, owner, persons_url, camera):
    person = camera.detected(face(2), entry_time=MARCH_1)
    text = client.get(f"{persons_url}/{person['id']}/summary", headers=owner).get_json()[
        "ai_summary"
    ]
    assert text == (
        "This visitor has been seen once, most recently on 2026-03-01. "
        "No orders are recorded for them."
    )


def test_the_summary_is_kept_until_the_persons_data_changes(app, client, owner, project, camera):
    url = regular(client, owner, project, camera)
    first = client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"]
    assert client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"] == first
    assert summary_writes(app, project["id"]) == 1
    client.patch(url, json={"full_name": "Ana Lima"}, headers=owner)
    renamed = client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"]
    assert renamed.startswith("Ana Lima has been seen twice")
    camera.detected(face(1))
    again = client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"]
    assert "seen 3 times" in again
    assert summary_writes(app, project["id"]) == 3


def test_a_model_provider_writes_the_summary_from_the_facts_once(make_app):
    server = FakeServer()
    server.authorize = OpenAIWire.authorize
    try:
        app = make_app(plugin=OpenAIWire.settings(server.url))
        client = app.test_client()
        api = ApiClient(client)
        owner = api.user_headers()
        project = api.project(owner)
        camera = Camera(client, project["id"], owner)
        url = regular(client, owner, project, camera)
        written = "Ana came twice in March and sits at table 5, mostly for pizza."
        server.replies = [OpenAIWire.text(written), OpenAIWire.text("Ana Lima, table 5.")]
        assert client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"] == written
        facts = server.requests[0]["messages"][-1]["content"]
        assert '"favorite_table": 5' in facts and '"dish": "Pizza", "count": 2' in facts
        assert "only" in server.requests[0]["messages"][0]["content"]
        assert client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"] == written
        assert len(server.requests) == 1
        client.patch(url, json={"full_name": "Ana Lima"}, headers=owner)
        renamed = client.get(f"{url}/summary", headers=owner).get_json()["ai_summary"]
        assert renamed == "Ana Lima, table 5." and len(server.requests) == 2
    finally:
        server.close()


def test_the_summary_is_kept_outside_the_reading_transaction_and_racing_writers_agree(
    app, client, owner, project, camera
):
    url = regular(client, owner, project, camera)
    person_id = uuid.UUID(url.rsplit("/", 1)[1])
    ctx = Context(
        project_id=uuid.UUID(project["id"]), permissions=frozenset({"view_persons", "view_order"})
    )
    with app.test_request_context():
        reader = app.extensions["nebulo"].db.sessions()
        try:
            first = summary.person_summary(reader, ctx, person_id)["ai_summary"]
            assert not reader.new and not reader.dirty  # the request has nothing to commit
        finally:
            reader.close()
        # A second reader that also found no summary writes the same row: no conflict.
        summary._remember(ctx, assistant.provider(), Completion(), person_id, "later", first)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        [kept] = session.scalars(select(PersonSummary)).all()
        assert (kept.facts_key, kept.text) == ("later", first)
    assert summary_writes(app, project["id"]) == 2
