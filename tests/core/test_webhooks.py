"""Outbound webhooks: CRUD with bad inputs, signed deliveries to a real HTTP receiver, retries."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.events import publish
from core.jobs import wait_for_jobs
from core.jobs.dispatchers import serve_jobs
from core.jobs.embedded import ChildProcessDispatcher
from core.outbound import check_url
from core.plugins import job_name
from core.webhooks.services import deliver_webhook
from tests.connectors.fakes import Bystander, NotHttp
from tests.core.helpers import assert_error

SECRET = "a-receiver-secret-0123456789"


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers the scripted statuses."""

    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/nebulo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receive():
    receivers = []

    def start(*statuses: int) -> Receiver:
        receivers.append(Receiver(list(statuses) or [200]))
        return receivers[-1]

    yield start
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def quick_retries(app):
    """The delivery job with ``retries`` and a 0.1 s backoff instead of minutes; restored after."""
    jobs = app.extensions["nebulo"].registry.jobs
    name = job_name(deliver_webhook)
    original = jobs[name]

    def set_retries(retries: int) -> None:
        jobs[name] = dataclasses.replace(original, retries=retries, backoff=(0.1,))

    yield set_retries
    jobs[name] = original


def webhooks_url(project: dict) -> str:
    return f"/api/v1/projects/{project['id']}/webhooks"


def create_webhook(client, headers, project, **fields) -> dict:
    body = {"url": "https://example.com/hook", "events": ["*"], **fields}
    response = client.post(webhooks_url(project), json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish_committed(app, name: str, project: dict, payload: dict) -> None:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        publish(session, name, uuid.UUID(project["id"]), payload)


def deliveries(client, headers, project, webhook) -> list[dict]:
    response = client.get(f"{webhooks_url(project)}/{webhook['id']}/deliveries", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- CRUD ------------------------------------------------------------------------------------


def test_create_shows_a_generated_secret_once(client, owner, project):
    webhook = create_webhook(client, owner, project, events=["order.created", "order.created"])
    assert webhook["secret"].startswith("whsec_") and len(webhook["secret"]) > 30
    assert webhook["events"] == ["order.created"] and webhook["is_active"] is True
    listed = client.get(webhooks_url(project), headers=owner)
    assert listed.status_code == 200 and "X-Pagination" in listed.headers
    assert [item["id"] for item in listed.get_json()] == [webhook["id"]]
    one = client.get(f"{webhooks_url(project)}/{webhook['id']}", headers=owner).get_json()
    assert "secret" not in one and "secret" not in listed.get_json()[0]
    assert one["url"] == "https://example.com/hook"


def test_a_given_secret_is_kept_and_star_swallows_other_names(client, owner, project):
    webhook = create_webhook(client, owner, project, secret=SECRET, events=["order.created", "*"])
    assert webhook["secret"] == SECRET and webhook["events"] == ["*"]


def test_update_and_delete(client, owner, project):
    webhook = create_webhook(client, owner, project)
    url = f"{webhooks_url(project)}/{webhook['id']}"
    response = client.patch(
        url,
        json={"url": "http://hooks.internal:8080/x", "events": ["order.paid"], "is_active": False},
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()
    assert (
        response.get_json()["events"] == ["order.paid"]
        and response.get_json()["is_active"] is False
    )
    assert client.delete(url, headers=owner).status_code == 204
    assert_error(client.get(url, headers=owner), 404, "NOT_FOUND")
    assert_error(client.delete(url, headers=owner), 404)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://example.com/hook", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook", "events": ["Order Created"]}, "events"),
        ({"url": "https://example.com/hook"}, "events"),
        ({"url": "https://example.com/hook", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "https://example.com/hook", "events": ["*"], "headers": {}}, "headers"),
    ],
)
def test_create_rejects_bad_input(client, owner, project, body, field):
    body = assert_error(
        client.post(webhooks_url(project), json=body, headers=owner), 422, "VALIDATION_ERROR"
    )
    assert field in body["errors"]
    assert client.get(webhooks_url(project), headers=owner).get_json() == []


def test_update_rejects_bad_input(client, owner, project):
    url = f"{webhooks_url(project)}/{create_webhook(client, owner, project)['id']}"
    assert (
        "url"
        in assert_error(client.patch(url, json={"url": "ftp://x.org/"}, headers=owner), 422)[
            "errors"
        ]
    )
    assert (
        "secret"
        in assert_error(client.patch(url, json={"secret": SECRET * 2}, headers=owner), 422)[
            "errors"
        ]
    )
    assert_error(client.patch(webhooks_url(project) + "/not-a-uuid", json={}, headers=owner), 400)


def test_another_projects_webhook_does_not_exist(api, client, owner, project):
    webhook = create_webhook(client, owner, project)
    other_owner = api.user_headers()
    other = api.project(other_owner, name="Other store")
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(
            f"{webhooks_url(other)}/{webhook['id']}",
            headers=other_owner,
            json={} if method == "patch" else None,
        )
        assert_error(response, 404)
    assert_error(
        client.get(f"{webhooks_url(other)}/{webhook['id']}/deliveries", headers=other_owner), 404
    )
    assert_error(client.get(f"{webhooks_url(project)}/{webhook['id']}", headers=other_owner), 404)
    assert client.get(webhooks_url(other), headers=other_owner).get_json() == []


def test_a_viewer_may_not_manage_webhooks(api, client, owner, project):
    viewer = api.register()
    response = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": viewer["email"], "role": "viewer"},
        headers=owner,
    )
    assert response.status_code == 201, response.get_json()
    headers = {"Authorization": f"Bearer {api.login(viewer['email'])['access_token']}"}
    assert_error(client.get(webhooks_url(project), headers=headers), 403, "FORBIDDEN")
    assert_error(
        client.post(
            webhooks_url(project),
            json={"url": "https://a.example/", "events": ["*"]},
            headers=headers,
        ),
        403,
    )
    assert_error(client.get(webhooks_url(project)), 401)


# --- Delivery --------------------------------------------------------------------------------


def test_delivery_is_signed_and_carries_the_event(app, client, owner, project, receive):
    receiver = receive(200)
    webhook = create_webhook(
        client, owner, project, url=receiver.url, secret=SECRET, events=["order.created"]
    )
    publish_committed(app, "order.created", project, {"order_id": "A-1", "total": "12.50"})
    publish_committed(app, "order.paid", project, {"order_id": "A-1"})
    wait_for_jobs(app)

    [(headers, raw)] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Nebulo-Signature"], expected)
    assert (
        headers["Content-Type"] == "application/json"
        and headers["X-Nebulo-Event"] == "order.created"
    )
    body = json.loads(raw)
    assert set(body) == {"id", "event", "project_id", "occurred_at", "payload"}
    assert body["event"] == "order.created" and body["project_id"] == project["id"]
    assert body["payload"] == {"order_id": "A-1", "total": "12.50"}

    [delivery] = deliveries(client, owner, project, webhook)
    assert headers["X-Nebulo-Delivery"] == delivery["id"]
    assert delivery["event_id"] == body["id"] and delivery["event"] == "order.created"
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["response_status"] == 200 and delivery["error"] is None
    assert delivery["last_attempt_at"] is not None


def test_inactive_webhooks_and_rolled_back_events_deliver_nothing(
    app, client, owner, project, receive
):
    receiver = receive(200)
    webhook = create_webhook(client, owner, project, url=receiver.url, is_active=False)
    publish_committed(app, "order.created", project, {})
    active = create_webhook(client, owner, project, url=receiver.url)
    with (
        pytest.raises(RuntimeError),
        app.app_context(),
        app.extensions["nebulo"].db.session_scope() as session,
    ):
        publish(session, "order.created", uuid.UUID(project["id"]), {})
        raise RuntimeError("the order could not be saved")
    wait_for_jobs(app)
    assert receiver.requests == []
    assert deliveries(client, owner, project, webhook) == []
    assert deliveries(client, owner, project, active) == []


def test_a_failed_answer_is_retried_until_accepted(
    app, client, owner, project, receive, quick_retries
):
    quick_retries(2)
    receiver = receive(500, 200)
    webhook = create_webhook(client, owner, project, url=receiver.url, secret=SECRET)
    publish_committed(app, "order.created", project, {"n": 1})
    wait_for_jobs(app)
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] == receiver.requests[1][1]
    [delivery] = deliveries(client, owner, project, webhook)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert delivery["response_status"] == 200 and delivery["error"] is None


def test_delivery_fails_after_the_last_retry_with_the_error_recorded(
    app, client, owner, project, receive, quick_retries
):
    quick_retries(1)
    receiver = receive(500)
    webhook = create_webhook(client, owner, project, url=receiver.url)
    publish_committed(app, "order.created", project, {})
    wait_for_jobs(app)
    assert len(receiver.requests) == 2
    [delivery] = deliveries(client, owner, project, webhook)
    assert delivery["status"] == "failed" and delivery["attempts"] == 2
    assert delivery["response_status"] == 500 and "500" in delivery["error"]


def test_an_unreachable_receiver_fails_with_the_network_error(
    app, client, owner, project, quick_retries
):
    quick_retries(0)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    webhook = create_webhook(client, owner, project, url=f"http://127.0.0.1:{port}/hook")
    publish_committed(app, "order.created", project, {})
    wait_for_jobs(app)
    [delivery] = deliveries(client, owner, project, webhook)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert delivery["response_status"] is None and delivery["error"] == "could not connect"


def test_a_receivers_malformed_answer_is_not_quoted_in_the_log(
    app, client, owner, project, quick_retries
):
    """The answer of a server that does not speak HTTP (Redis, say) stays out of the log."""
    quick_retries(0)
    with NotHttp() as receiver:
        webhook = create_webhook(client, owner, project, url=f"{receiver.url}/hook")
        publish_committed(app, "order.created", project, {})
        wait_for_jobs(app)
    [delivery] = deliveries(client, owner, project, webhook)
    assert delivery["status"] == "failed" and receiver.connections == 1
    assert delivery["error"] == "the answer was not valid HTTP"


def test_a_redirect_from_the_receiver_is_not_followed(app, client, owner, project, quick_retries):
    quick_retries(0)
    with Bystander() as receiver, Bystander() as internal:
        receiver.script(302, {}, {"Location": f"{internal.url}/admin"})
        webhook = create_webhook(client, owner, project, url=f"{receiver.url}/hook")
        publish_committed(app, "order.created", project, {})
        wait_for_jobs(app)
        assert len(receiver.requests) == 1 and internal.requests == []
    [delivery] = deliveries(client, owner, project, webhook)
    assert delivery["status"] == "failed" and delivery["response_status"] == 302


def test_the_delivery_log_is_paginated(app, client, owner, project, receive):
    receiver = receive(200)
    webhook = create_webhook(client, owner, project, url=receiver.url)
    for number in range(3):
        publish_committed(app, "order.created", project, {"n": number})
    wait_for_jobs(app)
    url = f"{webhooks_url(project)}/{webhook['id']}/deliveries"
    response = client.get(url + "?page_size=2", headers=owner)
    assert response.status_code == 200 and len(response.get_json()) == 2
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    assert_error(client.get(url + "?page_size=0", headers=owner), 422)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_webhooks_to_private_addresses_are_refused_unless_allowed(make_app, owner, project, url):
    strict = make_app(allow_private_urls=False).test_client()
    body = {"url": url, "events": ["*"]}
    errors = assert_error(strict.post(webhooks_url(project), json=body, headers=owner), 422)
    assert "is refused" in errors["errors"]["url"][0]


def test_a_cloud_metadata_address_is_refused_even_when_private_urls_are_allowed(
    client, owner, project
):
    body = {"url": "http://169.254.169.254/latest/meta-data", "events": ["*"]}
    errors = assert_error(client.post(webhooks_url(project), json=body, headers=owner), 422)
    assert "cloud metadata" in errors["errors"]["url"][0]


def test_a_saved_private_url_is_not_delivered_to_by_a_strict_app(app, make_app, owner, project):
    """Checked again at delivery: DNS can change between saving and sending."""
    created = app.test_client().post(
        webhooks_url(project),
        json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
        headers=owner,
    )
    assert created.status_code == 201
    strict = make_app(allow_private_urls=False)
    publish_committed(strict, "order.created", project, {"n": 1})
    wait_for_jobs(strict, timeout=60)
    deliveries = app.test_client().get(
        f"{webhooks_url(project)}/{created.get_json()['id']}/deliveries", headers=owner
    )
    [delivery] = deliveries.get_json()
    assert delivery["status"] == "failed" and delivery["attempts"] == 1, "a refusal is final"
    assert delivery["response_status"] is None
    assert delivery["error"].startswith("Refused:") and "not a public" in delivery["error"]


def test_public_addresses_pass_the_check():
    check_url("http://93.184.216.34/hook", allow_private=False)
    check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/hook", allow_private=False)


def test_a_web_servers_jobs_run_in_a_child_process(make_app, owner, project, receive):
    web = make_app(redis_url=None)
    serve_jobs(web)
    dispatcher = web.extensions["nebulo"].jobs
    assert isinstance(dispatcher, ChildProcessDispatcher)
    try:
        receiver = receive(200)
        create_webhook(web.test_client(), owner, project, url=receiver.url, secret=SECRET)
        publish_committed(web, "order.created", project, {"order_id": "A-1"})
        wait_for_jobs(web, timeout=60)
        [(_headers, raw)] = receiver.requests
        assert json.loads(raw)["payload"] == {"order_id": "A-1"}
        child = dispatcher._process
        assert child is not None and child.is_alive() and child.pid != os.getpid()
    finally:
        dispatcher.stop()
    assert not child.is_alive()
