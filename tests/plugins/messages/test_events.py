from core.hookspecs import hookimpl
from core.jobs import wait_for_jobs
from tests.conftest import ApiClient
from tests.plugins.messages.conftest import Shop, telegram_headers, telegram_update


class EventSpy:
    """A throw-away plugin recording the events delivered to ``on_event``."""

    def __init__(self):
        self.events = []

    @hookimpl
    def on_event(self, event):
        self.events.append(event)


def test_message_received_and_sent_are_published(make_app, fakes):
    spy = EventSpy()
    app = make_app(
        extra_plugins=[("event_spy", spy)],
        plugin={
            "NEBULO_TELEGRAM_BASE_URL": fakes["telegram"].url,
            "NEBULO_ASSISTANT_PROVIDER": "offline",
        },
    )
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    shop = Shop(app, client, owner, api.project(owner))
    telegram = shop.connect("telegram")
    shop.post_webhook(telegram, telegram_update(1, "hello"), telegram_headers())
    wait_for_jobs(app)
    response = client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={"provider": "telegram", "content": "Hi!", "recipient": {"chat_id": "777"}},
        headers=owner,
    )
    assert response.status_code == 202
    wait_for_jobs(app)
    by_name = {event.name: event for event in spy.events if event.name.startswith("message.")}
    assert set(by_name) == {"message.received", "message.sent"}
    assert by_name["message.received"].payload["content"] == "hello"
    assert by_name["message.sent"].payload["id"] == response.get_json()["id"]
    assert all(str(event.project_id) == shop.pid for event in by_name.values())
