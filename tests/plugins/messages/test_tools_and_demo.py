"""The messages plugin's demo (integrations with encrypted secrets, conversations, replies,
unread and flagged messages: every messages metric has data) and its assistant tools, run on
that demo project."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from assistant.tools import ToolContext
from core.context import Context
from core.demo import load_demo_data
from core.errors import Invalid
from core.projects.models import Project
from plugins.messages.metrics import METRICS
from plugins.messages.models import Integration
from plugins.messages.tools import (
    customer_conversation,
    messages_waiting_for_human,
    unread_messages,
)

DEMO_EMAIL, DEMO_PASSWORD = "demo-messages@example.com", "a demo password"


@pytest.fixture
def demo(app, api) -> dict:
    """The demo project and its admin's headers."""
    with app.app_context():
        assert load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "Demo Store"))
    tokens = api.login(DEMO_EMAIL, DEMO_PASSWORD)
    return {"id": str(project_id), "headers": {"Authorization": f"Bearer {tokens['access_token']}"}}


@pytest.fixture
def run_tool(app, demo):
    def run(tool, **arguments):
        permissions = app.extensions["nebulo"].permissions_for_role("viewer")
        context = Context(project_id=uuid.UUID(demo["id"]), permissions=permissions)
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            return tool.run(ToolContext(session, context), arguments)

    return run


def metric_total(client, demo, name: str) -> float:
    response = client.post(
        f"/api/v1/metrics/{demo['id']}/query",
        json={"metrics": [name], "period": "past 30 days"},
        headers=demo["headers"],
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["totals"][name]


def test_every_messages_metric_has_data_in_the_demo(client, demo):
    empty = [m.name for m in METRICS if not metric_total(client, demo, m.name)]
    assert empty == []


def test_the_demo_connects_whatsapp_and_telegram_with_encrypted_secrets(app, client, demo):
    response = client.get(f"/api/v1/integrations/{demo['id']}", headers=demo["headers"])
    assert response.status_code == 200
    assert sorted(i["provider"] for i in response.get_json()) == ["telegram", "whatsapp"]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        integrations = session.scalars(
            select(Integration).where(Integration.project_id == uuid.UUID(demo["id"]))
        ).all()
        for integration in integrations:
            assert b"EAAG" not in integration.encrypted_secrets
            assert ":AA" not in integration.encrypted_secrets.decode("latin-1")
            assert not {"access_token", "bot_token"} & set(integration.public_config)


def test_unread_and_waiting_tools_agree_with_the_metrics(client, demo, run_tool):
    unread = run_tool(unread_messages, limit=3)
    assert unread["total"] == metric_total(client, demo, "unread_messages")
    assert len(unread["messages"]) == 3
    assert all(m["direction"] == "inbound" and not m["is_read"] for m in unread["messages"])
    times = [m["created_at"] for m in unread["messages"]]
    assert times == sorted(times, reverse=True)
    waiting = run_tool(messages_waiting_for_human)
    assert waiting["total"] == metric_total(client, demo, "messages_needing_human")
    assert all(m["needs_human"] and m["flag_reason"] for m in waiting["messages"])


def test_a_customers_conversation_is_found_from_what_is_typed(run_tool):
    by_phone = run_tool(customer_conversation, customer="+1 (415) 555-0111")
    name = by_phone["customer"]["name"]
    surname, number = name.split()
    typo = f"{surname[0]}{surname[2:]} {number}".lower()
    for typed in (name.lower(), name.upper(), typo):
        assert run_tool(customer_conversation, customer=typed) == by_phone, typed
    messages = by_phone["messages"]
    assert {m["direction"] for m in messages} == {"inbound", "outbound"}
    assert {m["customer_id"] for m in messages} == {by_phone["customer"]["id"]}
    times = [m["created_at"] for m in messages]
    assert times == sorted(times)
    ambiguous = run_tool(customer_conversation, customer=surname)
    assert ambiguous["customer"] is None and ambiguous["messages"] == []
    assert len(ambiguous["candidates"]) > 1
    assert all(c["name"].startswith(surname) for c in ambiguous["candidates"])


def test_a_conversation_with_nobody_known_returns_no_messages(run_tool):
    result = run_tool(customer_conversation, customer="Zebulon Quarterbridge")
    assert result == {"customer": None, "candidates": [], "messages": []}
    with pytest.raises(Invalid):
        run_tool(customer_conversation, customer="   ")
