"""The messages plugin's metrics against a hand count of real message rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from plugins.messages.models import Message

START = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
def conversation(app, project):
    """Four questions (whatsapp and telegram), replies to three of them (two by the AI, one
    answered twice: only the first reply counts for the response time)."""
    project_id = uuid.UUID(project["id"])

    def message(direction, minutes, provider="whatsapp", **extra):
        return Message(
            id=uuid.uuid4(),
            project_id=project_id,
            provider=provider,
            direction=direction,
            status="received" if direction == "inbound" else "sent",
            content="hello",
            created_at=START + timedelta(minutes=minutes),
            **extra,
        )

    questions = [
        message("inbound", 0, is_read=True),
        message("inbound", 10, is_read=True),
        message("inbound", 20, provider="telegram", needs_human=True),
        message("inbound", 30),
    ]
    replies = [
        message("outbound", 2, reply_to_id=questions[0].id, ai_generated=True),
        message("outbound", 15, reply_to_id=questions[1].id),
        message("outbound", 40, reply_to_id=questions[1].id, ai_generated=True),
        message("outbound", 26, provider="telegram", reply_to_id=questions[2].id),
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(questions)
        session.flush()
        session.add_all(replies)
    return questions, replies


def run(client, project, owner, **body):
    body.setdefault("period", "2025-03-03")
    response = client.post(f"/api/v1/metrics/{project['id']}/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_message_counts_and_ai_share(client, project, owner, conversation):
    questions, replies = conversation
    body = run(
        client,
        project,
        owner,
        metrics=[
            "inbound_messages",
            "outbound_messages",
            "ai_answered_messages",
            "ai_answered_share",
            "unread_messages",
            "messages_needing_human",
        ],
    )
    assert body["totals"] == {
        "inbound_messages": len(questions),
        "outbound_messages": len(replies),
        "ai_answered_messages": 2,
        "ai_answered_share": 50.0,
        "unread_messages": sum(not q.is_read for q in questions),
        "messages_needing_human": 1,
    }
    assert body["units"]["ai_answered_share"] == "percent"
    nothing = run(client, project, owner, metrics=["inbound_messages"], period="2025-03-04")
    assert nothing["totals"]["inbound_messages"] == 0


def test_first_response_time_counts_the_first_reply_only(client, project, owner, conversation):
    # whatsapp: 2 min and 5 min (not the later 30 min reply); telegram: 6 min
    body = run(client, project, owner, metrics=["first_response_time"], group_by=["channel"])
    assert body["units"]["first_response_time"] == "duration"
    assert body["totals"]["first_response_time"] == pytest.approx((120 + 300 + 360) / 3, abs=0.01)
    by_channel = {r["channel"]: r["first_response_time"] for r in body["rows"]}
    assert by_channel == pytest.approx({"whatsapp": 210.0, "telegram": 360.0}, abs=0.01)


def test_messages_by_channel_and_hour(client, project, owner, conversation):
    body = run(client, project, owner, metrics=["inbound_messages"], group_by=["channel"])
    assert {r["channel"]: r["inbound_messages"] for r in body["rows"]} == {
        "whatsapp": 3,
        "telegram": 1,
    }
    hours = run(client, project, owner, metrics=["outbound_messages"], group_by=["hour"])
    assert {r["hour"]: r["outbound_messages"] for r in hours["rows"] if r["outbound_messages"]} == {
        9: 4
    }
