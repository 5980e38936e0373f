"""The messages stats endpoint gives the metrics API's figures for the same period: "the last
N days" are N whole days in the project's time zone, today included."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugins.messages.models import Message

TIMEZONE = "Pacific/Auckland"
"""Far from UTC: a local day and a UTC day split the messages differently."""


@pytest.fixture
def traffic(app, client, project, owner):
    """Messages of both directions on two channels over the last weeks, some near midnight in
    the project's zone, read or not, flagged or not, by the bot or not, one failed. Returns
    the plan: (days back, local time, provider, direction, status, other columns)."""
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"timezone": TIMEZONE}, headers=owner
    )
    assert response.status_code == 200, response.get_json()
    zone = ZoneInfo(TIMEZONE)
    today = datetime.now(zone).date()
    plan = [  # days back, local time, provider, direction, status, other columns
        (0, time(0, 5), "whatsapp", "inbound", "received", {"needs_human": True}),
        (0, time(0, 6), "whatsapp", "outbound", "failed", {"ai_generated": True}),
        (1, time(23, 55), "telegram", "inbound", "received", {"is_read": True}),
        (1, time(23, 56), "telegram", "outbound", "delivered", {"ai_generated": True}),
        (2, time(9), "whatsapp", "inbound", "received", {"needs_human": True, "is_read": True}),
        (2, time(9, 5), "whatsapp", "outbound", "read", {}),
        (6, time(8), "telegram", "inbound", "received", {}),
        (29, time(0, 5), "whatsapp", "inbound", "received", {}),  # the first of the last 30 days
        (30, time(23, 55), "whatsapp", "outbound", "sent", {}),  # the day before them
        (40, time(12), "telegram", "inbound", "received", {"needs_human": True}),
    ]
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(
            Message(
                id=uuid.uuid4(),
                project_id=uuid.UUID(project["id"]),
                provider=provider,
                direction=direction,
                status=status,
                content="hello",
                created_at=datetime.combine(today - timedelta(days=days_back), at, zone),
                **columns,
            )
            for days_back, at, provider, direction, status, columns in plan
        )
    return plan


def metrics(client, project, owner, days: int, names: list[str], **query) -> dict:
    """The metrics API's answer for "past ``days`` days", the period the assistant reads too."""
    response = client.post(
        f"/api/v1/metrics/{project['id']}/query",
        json={"metrics": names, "period": f"past {days} days", **query},
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("days", [1, 2, 7, 30])
def test_the_stats_are_the_metrics_apis_figures(client, project, owner, traffic, days):
    response = client.get(
        f"/api/v1/messages/{project['id']}/stats/summary?days={days}", headers=owner
    )
    assert response.status_code == 200, response.get_json()
    stats = response.get_json()
    totals = metrics(
        client,
        project,
        owner,
        days,
        [
            "all_messages",
            "inbound_messages",
            "outbound_messages",
            "unread_received_messages",
            "ai_answered_messages",
            "messages_flagged_for_human",
        ],
    )["totals"]
    by_channel = metrics(client, project, owner, days, ["all_messages"], group_by=["channel"])
    by_status = metrics(client, project, owner, days, ["all_messages"], group_by=["message_status"])
    statuses = {
        row["message_status"]: row["all_messages"]
        for row in by_status["rows"]
        if row["all_messages"]
    }
    assert stats == {
        "period_days": days,
        "total_messages": totals["all_messages"],
        "inbound": totals["inbound_messages"],
        "outbound": totals["outbound_messages"],
        "unread": totals["unread_received_messages"],
        "ai_generated": totals["ai_answered_messages"],
        "needs_human": totals["messages_flagged_for_human"],
        "by_provider": {
            row["channel"]: row["all_messages"] for row in by_channel["rows"] if row["all_messages"]
        },
        "by_status": statuses,
        "failed": statuses.get("failed", 0),
    }
    # Whole local days: the first of them from its midnight, the day before not at all.
    recent = [
        (direction, status, columns)
        for back, _, _, direction, status, columns in traffic
        if back < days
    ]
    inbound = [columns for direction, _, columns in recent if direction == "inbound"]
    assert stats["total_messages"] == len(recent)
    assert stats["inbound"] + stats["outbound"] == len(recent)
    assert stats["unread"] == sum(not columns.get("is_read") for columns in inbound)
    assert stats["needs_human"] == sum(bool(columns.get("needs_human")) for columns in inbound)
    assert stats["ai_generated"] == sum(bool(c.get("ai_generated")) for _, _, c in recent)
    assert stats["failed"] == sum(status == "failed" for _, status, _ in recent)
