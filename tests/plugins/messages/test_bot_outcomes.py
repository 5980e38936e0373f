"""The bot's outcome metrics against a hand count of conversation rows: handled by the bot
alone, handoffs by reason, first response by bot and by people, reopened within 7 days."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from plugins.messages.models import ChannelConversation, Integration

START = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
def outcomes(app, project):
    project_id = uuid.UUID(project["id"])
    integration = Integration(
        id=uuid.uuid4(), project_id=project_id, provider="telegram", encrypted_secrets=b"-"
    )

    def chat(minutes, provider="telegram", responded=None, by=None, **extra):
        opened = START + timedelta(minutes=minutes)
        values = {"handoff_count": 1 if extra.get("handoff_reason") else 0, **extra}
        return ChannelConversation(
            id=uuid.uuid4(),
            project_id=project_id,
            integration_id=integration.id,
            provider=provider,
            contact=str(minutes),
            opened_at=opened,
            last_inbound_at=opened,
            first_response_at=opened + timedelta(seconds=responded) if responded else None,
            first_responder=by,
            handed_off_at=opened if extra.get("handoff_reason") else None,
            **{"bot_replies": 0, "human_replies": 0, "status": "open", **values},
        )

    alone = chat(0, responded=30, by="bot", bot_replies=2)
    rows = [
        alone,
        chat(10, "whatsapp", responded=90, by="bot", bot_replies=1),
        chat(
            20,
            responded=60,
            by="bot",
            bot_replies=1,
            human_replies=1,
            handoff_reason="asked_for_human",
            status="closed",
        ),
        chat(
            30,
            responded=600,
            by="human",
            human_replies=1,
            handoff_reason="no_tool_answer",
            status="waiting_human",
        ),
        chat(40, "whatsapp", handoff_reason="out_of_window", status="waiting_human"),
        chat(
            50,
            responded=300,
            by="human",
            human_replies=1,
            reopened_from_id=alone.id,
            status="closed",
        ),
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add(integration)
        session.flush()
        session.add_all(rows)
    return rows


def run(client, project, owner, **body):
    body.setdefault("period", "2025-03-03")
    response = client.post(f"/api/v1/metrics/{project['id']}/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_bot_outcomes_match_a_hand_count(client, project, owner, outcomes):
    body = run(
        client,
        project,
        owner,
        metrics=[
            "customer_conversations",
            "bot_solved_conversations",
            "bot_solved_share",
            "handed_off_conversations",
            "handoff_rate",
            "conversations_waiting_for_human",
            "reopened_conversations",
        ],
    )
    totals = body["totals"]
    assert totals["customer_conversations"] == 6
    assert totals["bot_solved_conversations"] == 2
    assert totals["bot_solved_share"] == pytest.approx(100 * 2 / 6, abs=0.01)
    assert totals["handed_off_conversations"] == 3
    assert totals["handoff_rate"] == pytest.approx(50.0)
    assert totals["conversations_waiting_for_human"] == 2
    assert totals["reopened_conversations"] == 1
    later = run(client, project, owner, metrics=["customer_conversations"], period="2025-03-04")
    assert later["totals"]["customer_conversations"] == 0


def test_handoffs_by_reason_and_first_response_by_responder(client, project, owner, outcomes):
    reasons = run(
        client, project, owner, metrics=["handed_off_conversations"], group_by=["handoff_reason"]
    )
    assert {r["handoff_reason"]: r["handed_off_conversations"] for r in reasons["rows"]} == {
        "asked_for_human": 1,
        "no_tool_answer": 1,
        "out_of_window": 1,
    }
    timing = run(
        client,
        project,
        owner,
        metrics=["conversation_first_response_time"],
        group_by=["responder"],
    )
    by = {r["responder"]: r["conversation_first_response_time"] for r in timing["rows"]}
    assert by == pytest.approx({"bot": (30 + 90 + 60) / 3, "human": (600 + 300) / 2}, abs=0.01)
    assert timing["units"]["conversation_first_response_time"] == "duration"
