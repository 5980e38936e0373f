"""Offline sentiment, reply drafts, the WebSocket chat and the CLI."""

from __future__ import annotations

import json

import pytest

from assistant.sentiment import analyze
from assistant.tools import ToolContext, tool
from core.hookspecs import hookimpl
from core.sentiment import score_text
from tests.core.helpers import WebSocketClient, served


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("I love it, thanks, great service", "positive"),
        ("The product is not good at all", "negative"),
        ("It was not bad, actually", "positive"),
        ("My package never arrived and nobody answers, this is terrible", "negative"),
        ("Can you change the delivery address to 12 High Street?", "neutral"),
        ("The delivery wasn't late, everything was perfect", "positive"),
    ],
)
def test_offline_sentiment_reads_negation(text, sentiment):
    assert analyze(text)["sentiment"] == sentiment


@pytest.mark.parametrize(
    "text",
    [
        "Terrible service, I am very disappointed",
        "Where is my order #1042?",
        "Thank you so much, the cake was perfect!",
    ],
)
def test_offline_sentiment_is_the_stored_messages_sentiment(text):
    analysis, stored = analyze(text), score_text(text)
    assert (analysis["sentiment"], analysis["score"]) == (stored.label, stored.score)


def test_urgency_and_concerns():
    angry = analyze(
        "URGENT!!! My order is still not here and the box was damaged. I want a refund NOW"
    )
    assert angry["sentiment"] == "negative" and angry["urgency"] == "high"
    assert {"delivery delay", "damaged item", "refund"} <= set(angry["concerns"])
    assert angry["recommended_tone"] == "empathetic and proactive"
    calm = analyze("Thank you, the shoes fit well")
    assert calm["urgency"] == "low" and calm["concerns"] == []
    assert calm["recommended_tone"] == "warm and appreciative"


def test_urgent_words_make_even_a_polite_message_urgent():
    assert analyze("Please reply today, it is urgent")["urgency"] == "high"
    assert analyze("Please reply when you can")["urgency"] == "low"


def test_analyze_sentiment_endpoint(offline):
    url = "/api/v1/assistant/analyze-sentiment"
    response = offline.client.post(
        f"{url}?project_id={offline.project_id}&message=my order is late again, terrible",
        headers=offline.headers,
    )
    assert response.status_code == 200
    assert response.get_json()["sentiment"] == "negative"
    body = {"project_id": offline.project_id, "message": "great, thanks!"}
    assert (
        offline.client.post(url, json=body, headers=offline.headers).get_json()["sentiment"]
        == "positive"
    )
    assert (
        offline.client.post(
            url, json={"project_id": offline.project_id}, headers=offline.headers
        ).status_code
        == 422
    )
    bad = offline.client.post(f"{url}?project_id=nope&message=x", headers=offline.headers)
    assert bad.status_code == 422 and "project_id" in bad.get_json()["errors"]


@tool("test_view_orders", examples=("get order",))
def get_order(ctx: ToolContext, order_id: str) -> dict:
    """Get one order by id or number."""
    return {"order_number": order_id, "status": "shipped", "tracking_number": "TRK-9"}


class OrderToolPlugin:
    @hookimpl
    def register_tools(self, register):
        register(get_order)


def test_generate_reply_uses_the_order_and_tone(make_app):
    from tests.assistant import asstest_plugin
    from tests.assistant.conftest import Caller

    app = make_app(
        extra_plugins=[("asstest", asstest_plugin), ("ordertool", OrderToolPlugin())],
        plugins=("assistant", "asstest", "ordertool"),
        plugin={"NEBULO_ASSISTANT_PROVIDER": "offline"},
    )
    caller = Caller(app)
    url = "/api/v1/assistant/generate-reply"
    message = "Where is my order? It is late and I am really disappointed!"
    query = f"?project_id={caller.project_id}&order_id=1042&customer_message={message}"
    response = caller.client.post(url + query, headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    draft = response.get_json()
    assert "sorry" in draft["reply"].lower()
    assert "shipped" in draft["reply"] and "TRK-9" in draft["reply"]
    assert draft["analysis"]["sentiment"] == "negative"
    assert draft["function_calls"][0]["name"] == "get_order"
    missing = caller.client.post(
        url, json={"project_id": caller.project_id, "order_id": "1"}, headers=caller.headers
    )
    assert missing.status_code == 422 and "customer_message" in missing.get_json()["errors"]


@pytest.fixture
def live(offline):
    with served(offline.app) as address:
        yield offline, f"ws://{address}/api/v1/assistant/ws"


def test_websocket_streams_steps(live):
    caller, url = live
    token = caller.headers["Authorization"].split()[1]
    ws = WebSocketClient.connect(f"{url}?token={token}")
    try:
        ws.send(
            json.dumps({"project_id": caller.project_id, "message": "where has order #1042 got to"})
        )
        frames = [json.loads(ws.receive(timeout=10)) for _ in range(4)]
        assert [f["type"] for f in frames] == ["tool_call", "tool_result", "reply", "done"]
        assert frames[0]["name"] == "order_status" and frames[0]["parameters"] == {
            "order_number": 1042
        }
        assert "shipped" in frames[1]["summary"]
        assert frames[3]["conversation_id"]
        ws.send("not json")
        assert json.loads(ws.receive(timeout=10))["type"] == "error"
        ws.send(json.dumps({"project_id": caller.project_id}))
        error = json.loads(ws.receive(timeout=10))
        assert error["code"] == "VALIDATION_ERROR"
    finally:
        ws.close()


def test_websocket_requires_auth(live):
    caller, url = live
    ws = WebSocketClient.connect(url)
    try:
        ws.send(json.dumps({"project_id": caller.project_id, "message": "hi"}))
        assert json.loads(ws.receive(timeout=10))["code"] == "UNAUTHORIZED"
    finally:
        ws.close()


def test_cli_chat(offline):
    runner = offline.app.test_cli_runner()
    result = runner.invoke(
        args=["chat", "--project", offline.project_id],
        input="where has order #1042 got to\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "order_status" in result.output and "shipped" in result.output
    unknown = runner.invoke(
        args=["chat", "--project", "00000000-0000-4000-8000-000000000000"], input="\n"
    )
    assert unknown.exit_code != 0 and "No owner" in unknown.output
