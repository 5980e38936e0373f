"""WhatsApp message templates synced from the fake Graph API (paged), listed and sent with
their variables checked; the 24-hour window refuses free text before any call to Meta."""

from __future__ import annotations

import time

import pytest

from tests.plugins.messages.conftest import WHATSAPP_CONFIG

WABA = {**WHATSAPP_CONFIG, "business_account_id": "102290129340398"}
ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
    {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships on {{3}}."},
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}"},
            {"type": "QUICK_REPLY", "text": "Thanks"},
        ],
    },
]


@pytest.fixture
def templates(fakes):
    graph = fakes["whatsapp"]
    graph.templates.clear()
    graph.add_template("order_update", ORDER_UPDATE)
    graph.add_template(
        "welcome",
        [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Welcome {{first_name}}!"},
        ],
        language="es",
        parameter_format="NAMED",
    )
    graph.add_template("spring_sale", [{"type": "BODY", "text": "Sale!"}], status="PAUSED")
    graph.add_template(
        "bad_words",
        [{"type": "BODY", "text": "Buy now"}],
        status="REJECTED",
        rejected_reason="INVALID_FORMAT",
        category="MARKETING",
    )
    yield graph
    graph.templates.clear()


def synced(shop, templates) -> dict:
    integration = shop.connect("whatsapp", config=WABA)
    response = shop.client.post(
        f"/api/v1/integrations/{shop.pid}/{integration['id']}/templates/sync", headers=shop.owner
    )
    assert response.status_code == 202, response.get_json()
    shop.settle()
    job = shop.get(f"jobs/{response.get_json()['job_id']}")
    assert job["status"] == "finished" and job["result"] == {"synced": 4, "removed": 0}
    templates.requests.clear()
    return integration


def send_template(shop, status=202, **body):
    body.setdefault("recipient", {"phone": "+14155550123"})
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send-template", json=body, headers=shop.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_sync_reads_every_page_and_stores_variables(shop, templates):
    integration = shop.connect("whatsapp", config=WABA)
    path = f"/api/v1/integrations/{shop.pid}/{integration['id']}/templates"
    job_id = shop.client.post(path + "/sync", headers=shop.owner).get_json()["job_id"]
    shop.settle()
    assert shop.get(f"jobs/{job_id}")["progress"] == 100
    pages = [r for r in templates.requests if r.path.endswith("/message_templates")]
    assert len(pages) == 2 and "after" in pages[1].query and "after" not in pages[0].query
    listed = {t["name"]: t for t in shop.get(path[len("/api/v1/") :])}
    assert sorted(listed) == ["bad_words", "order_update", "spring_sale", "welcome"]
    order = listed["order_update"]
    assert (order["language"], order["category"], order["status"]) == (
        "en_US",
        "UTILITY",
        "APPROVED",
    )
    assert [(v["component"], v["name"], v["type"]) for v in order["variables"]] == [
        ("header", "1", "text"),
        ("body", "1", "text"),
        ("body", "2", "text"),
        ("body", "3", "text"),
        ("button", "1", "text"),
    ]
    assert [(v["component"], v["type"]) for v in listed["welcome"]["variables"]] == [
        ("header", "image"),
        ("body", "text"),
    ]
    assert listed["bad_words"]["rejected_reason"] == "INVALID_FORMAT"
    paused = shop.get(path[len("/api/v1/") :], status="PAUSED")
    assert [t["name"] for t in paused] == ["spring_sale"]
    # Meta deleted one: the next sync removes it.
    templates.templates.pop()
    shop.client.post(path + "/sync", headers=shop.owner)
    shop.settle()
    assert len(shop.get(path[len("/api/v1/") :])) == 3


def test_sync_needs_a_business_account_and_a_whatsapp_integration(shop):
    whatsapp, telegram = shop.connect("whatsapp"), shop.connect("telegram")
    for integration in (whatsapp, telegram):
        response = shop.client.post(
            f"/api/v1/integrations/{shop.pid}/{integration['id']}/templates/sync",
            headers=shop.owner,
        )
        assert response.status_code == 409, response.get_json()
    bad = shop.connect("whatsapp", config={**WABA, "business_account_id": "waba"}, status=422)
    assert "config.business_account_id" in bad["errors"]


def test_a_template_is_sent_filled_in_and_recorded_outside_the_window(shop, templates):
    synced(shop, templates)
    values = ["#1001", "John", "#1001", "Friday", "1001"]
    queued = send_template(shop, name="order_update", variables=values)
    assert queued["content_type"] == "template" and queued["status"] == "queued"
    assert queued["content"] == (
        "Order #1001\n\nHi John, your order #1001 ships on Friday.\n\nReply STOP to opt out"
    )
    shop.settle()
    sent = shop.get(f"messages/{shop.pid}/{queued['id']}")
    assert sent["status"] == "sent" and sent["provider_message_id"].startswith("wamid.")
    [request] = templates.requests
    assert request.body["type"] == "template" and request.body["to"] == "14155550123"
    wire = request.body["template"]
    assert wire["name"] == "order_update" and wire["language"] == {"code": "en_US"}
    assert wire["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "#1001"}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "John"},
                {"type": "text", "text": "#1001"},
                {"type": "text", "text": "Friday"},
            ],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "1001"}],
        },
    ]


def test_named_and_media_variables_travel_in_the_wire_format(shop, templates):
    synced(shop, templates)
    link = "https://cdn.example/welcome.jpg"
    send_template(shop, name="welcome", language="es", variables=[link, "Ana"])
    shop.settle()
    [request] = templates.requests
    assert request.body["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]},
        {
            "type": "body",
            "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}],
        },
    ]


def test_bad_template_sends_are_refused_before_meta_is_called(shop, templates):
    synced(shop, templates)
    assert send_template(shop, 404, name="no_such_template")["code"] == "NOT_FOUND"
    too_few = send_template(shop, 422, name="order_update", variables=["#1", "John"])
    assert "takes 5 variable(s), 2 given" in too_few["errors"]["variables"][0]
    wrong_type = send_template(shop, 422, name="order_update", variables=["#1", 7, "x", "y", "z"])
    assert "non-empty string" in wrong_type["errors"]["variables.1"][0]
    new_line = send_template(
        shop, 422, name="order_update", variables=["#1", "John\nDoe", "x", "y", "z"]
    )
    assert "new lines" in new_line["errors"]["variables.1"][0]
    not_a_link = send_template(shop, 422, name="welcome", variables=["cat.jpg", "Ana"])
    assert "https link" in not_a_link["errors"]["variables.0"][0]
    paused = send_template(shop, 409, name="spring_sale")
    assert "PAUSED" in paused["detail"] and "APPROVED" in paused["detail"]
    rejected = send_template(shop, 409, name="bad_words")
    assert "REJECTED (INVALID_FORMAT)" in rejected["detail"]
    assert send_template(shop, 422, name="order_update", variables=["a"] * 5, recipient={})
    assert templates.requests == []
    assert shop.get(f"messages/{shop.pid}/inbox") == []


def test_free_text_outside_the_window_is_a_409_listing_approved_templates(shop, templates):
    integration = synced(shop, templates)
    shop.customer_writes(integration, timestamp=int(time.time()) - 25 * 3600)
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={"provider": "whatsapp", "content": "Hi", "recipient": {"phone": "+14155550123"}},
        headers=shop.owner,
    )
    assert response.status_code == 409
    refused = response.get_json()
    assert "24 hours" in refused["detail"] and "template" in refused["detail"]
    assert refused["errors"]["approved_templates"] == ["order_update (en_US)", "welcome (es)"]
    assert templates.requests == []
    [conversation] = shop.get(f"messages/{shop.pid}/conversations")
    assert conversation["window_open"] is False and conversation["last_inbound_at"]
    shop.customer_writes(integration, text="Are you there?")
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={"provider": "whatsapp", "content": "Yes!", "recipient": {"phone": "+14155550123"}},
        headers=shop.owner,
    )
    assert response.status_code == 202
    [conversation] = shop.get(f"messages/{shop.pid}/conversations")
    assert conversation["window_open"] is True and conversation["first_responder"] == "human"
