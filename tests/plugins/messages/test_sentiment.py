"""Customers' messages scored for sentiment when stored (signed webhooks, edits, the demo),
the backfill of older messages (command and job), the sentiment metrics and the messages
report's sentiment section."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.cli import cli
from core.jobs import Job, wait_for_jobs
from core.plugins import job_name
from core.sentiment import score_text
from plugins.messages import jobs, sentiment
from plugins.messages.models import Message
from tests.plugins.messages.conftest import (
    telegram_headers,
    telegram_update,
    whatsapp_headers,
    whatsapp_inbound,
)
from tests.plugins.reports.conftest import Reporting

HAPPY = "Thank you so much, the cake was perfect and the delivery super fast!"
ANGRY = "My order arrived broken and late. Terrible service, I am very disappointed."
PLAIN = "Where is my order #1042?"
SPANISH = "Hola, ¿dónde está mi pedido?"


def test_webhook_messages_are_scored_when_stored(shop):
    whatsapp = shop.connect("whatsapp")
    for number, text in enumerate((HAPPY, ANGRY, PLAIN)):
        body = whatsapp_inbound(text, f"wamid.S{number}", phone=f"1415555000{number}")
        assert shop.post_webhook(whatsapp, body, whatsapp_headers(body)).status_code == 200
    telegram = shop.connect("telegram")
    body = telegram_update(9001, SPANISH)
    assert shop.post_webhook(telegram, body, telegram_headers()).status_code == 200
    shop.settle()
    inbox = shop.get(f"messages/{shop.pid}/inbox", direction="inbound")
    labels = {m["content"]: m["sentiment"] for m in inbox}
    assert labels == {HAPPY: "positive", ANGRY: "negative", PLAIN: "neutral", SPANISH: "neutral"}
    scores = {m["content"]: m["sentiment_score"] for m in inbox}
    assert scores[HAPPY] > 0.5 and scores[ANGRY] < -0.5 and scores[PLAIN] == scores[SPANISH] == 0
    negative = shop.get(f"messages/{shop.pid}/inbox", sentiment="negative")
    assert [m["content"] for m in negative] == [ANGRY]


def test_an_edit_is_scored_again_and_a_bad_inbox_label_is_refused(shop):
    telegram = shop.connect("telegram")
    body = telegram_update(9101, "The bread was great", message_id=7)
    shop.post_webhook(telegram, body, telegram_headers())
    shop.settle()
    edit = json.loads(telegram_update(9102, "The bread was stale and awful", message_id=7))
    edit["edited_message"] = {**edit.pop("message"), "edit_date": 1736676100}
    shop.post_webhook(telegram, json.dumps(edit).encode(), telegram_headers())
    shop.settle()
    [message] = shop.get(f"messages/{shop.pid}/inbox")
    assert message["content"] == "The bread was stale and awful"
    assert message["sentiment"] == "negative" and message["sentiment_score"] < 0
    response = shop.client.get(
        f"/api/v1/messages/{shop.pid}/inbox",
        query_string={"sentiment": "angry"},
        headers=shop.owner,
    )
    assert response.status_code == 422
    assert "negative" in json.dumps(response.get_json())


def test_sent_messages_are_never_scored(shop):
    whatsapp = shop.connect("whatsapp")
    shop.customer_writes(whatsapp, HAPPY)
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send",
        json={"provider": "whatsapp", "content": ANGRY, "recipient": {"phone": "+14155550123"}},
        headers=shop.owner,
    )
    assert response.status_code == 202
    shop.settle()
    sent = shop.get(f"messages/{shop.pid}/{response.get_json()['id']}")
    assert sent["sentiment"] is None and sent["sentiment_score"] is None


# --- the metrics ---------------------------------------------------------------------------

DAY = datetime(2025, 3, 3, 9, tzinfo=UTC)


def store(app, project_id: str, rows, *, scored: bool = True) -> None:
    """Messages (provider, direction, text, time), scored as the webhook flow scores them, or
    left as messages stored before scoring existed."""
    messages = []
    for provider, direction, text, at in rows:
        message = Message(
            id=uuid.uuid4(),
            project_id=uuid.UUID(project_id),
            provider=provider,
            direction=direction,
            status="received" if direction == "inbound" else "sent",
            content=text,
            created_at=at,
        )
        if scored:
            sentiment.score_message(message)
        messages.append(message)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        session.add_all(messages)


CONVERSATION = (
    ("whatsapp", "inbound", HAPPY, DAY),
    ("whatsapp", "inbound", ANGRY, DAY + timedelta(minutes=5)),
    ("whatsapp", "inbound", PLAIN, DAY + timedelta(minutes=10)),
    ("telegram", "inbound", "Awful, the worst cake ever.", DAY + timedelta(minutes=15)),
    ("telegram", "inbound", "", DAY + timedelta(minutes=20)),
    ("whatsapp", "outbound", "So sorry, we will make it right!", DAY + timedelta(minutes=25)),
)
"""Four customer messages with text (one positive, two negative, one neutral), a photo
without a caption and our reply: only the four are scored."""


def query(client, project, owner, status: int = 200, **body):
    body.setdefault("period", "2025-03-03")
    response = client.post(f"/api/v1/metrics/{project['id']}/query", json=body, headers=owner)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_sentiment_metrics_count_customers_messages_by_label(app, client, project, owner):
    store(app, project["id"], CONVERSATION)
    by_label = query(client, project, owner, metrics=["scored_messages"], group_by=["sentiment"])
    assert {r["sentiment"]: r["scored_messages"] for r in by_label["rows"]} == {
        "positive": 1,
        "negative": 2,
        "neutral": 1,
    }
    totals = query(
        client,
        project,
        owner,
        metrics=[
            "average_sentiment",
            "negative_messages",
            "positive_messages",
            "negative_message_share",
        ],
    )["totals"]
    scores = [score_text(text).score for _, _, text, _ in CONVERSATION[:4]]
    assert totals["average_sentiment"] == round(sum(scores) / 4, 2)
    assert totals["negative_messages"] == 2 and totals["positive_messages"] == 1
    assert totals["negative_message_share"] == 50.0
    assert query(client, project, owner, metrics=["scored_messages"], period="2025-03-04")[
        "totals"
    ] == {"scored_messages": 0}


def test_a_sentiment_filter_narrows_any_sentiment_metric(app, client, project, owner):
    store(app, project["id"], CONVERSATION)
    negative = query(
        client,
        project,
        owner,
        metrics=["scored_messages", "average_sentiment"],
        filters={"sentiment": ["NEGATIVE"]},
        group_by=["channel"],
    )
    assert {r["channel"]: r["scored_messages"] for r in negative["rows"]} == {
        "whatsapp": 1,
        "telegram": 1,
    }
    assert negative["totals"]["average_sentiment"] < -0.5


def test_an_unknown_sentiment_label_is_422_listing_the_labels(client, project, owner):
    error = query(
        client, project, owner, 422, metrics=["scored_messages"], filters={"sentiment": ["angry"]}
    )
    assert error["errors"] == {
        "filters": ["sentiment: known values include positive, neutral, negative"]
    }


def test_the_metrics_speak_the_words_people_use(client, project, owner):
    listing = client.get(f"/api/v1/metrics/{project['id']}", headers=owner).get_json()
    metrics = {m["name"]: m for m in listing["metrics"]}
    assert "mood" in metrics["average_sentiment"]["words"]
    assert {"complaints", "unhappy customers"} <= set(metrics["negative_messages"]["words"])
    assert "sentiment" in metrics["scored_messages"]["dimensions"]
    dimensions = {d["name"]: d for d in listing["dimensions"]}
    assert dimensions["sentiment"]["values"] == ["positive", "neutral", "negative"]


# --- messages stored before scoring existed ------------------------------------------------


def scored_labels(app, project_id: str) -> dict[str, str | None]:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        rows = session.execute(
            select(Message.content, Message.sentiment).where(
                Message.project_id == uuid.UUID(project_id)
            )
        )
        return dict(rows.all())


def test_the_command_scores_older_messages_with_a_progress_bar(app, project):
    store(app, project["id"], CONVERSATION, scored=False)
    result = app.test_cli_runner().invoke(
        cli=cli, args=["messages", "score-sentiment", "--project", project["id"]]
    )
    assert result.exit_code == 0, result.output
    assert "Scoring messages" in result.output and "Scored 4 message(s)." in result.output
    assert scored_labels(app, project["id"]) == {
        HAPPY: "positive",
        ANGRY: "negative",
        PLAIN: "neutral",
        "Awful, the worst cake ever.": "negative",
        "": None,
        "So sorry, we will make it right!": None,
    }
    again = app.test_cli_runner().invoke(
        cli=cli, args=["messages", "score-sentiment", "--project", project["id"]]
    )
    assert "Scored 0 message(s)." in again.output


def test_the_command_refuses_an_unknown_project(app):
    result = app.test_cli_runner().invoke(
        cli=cli, args=["messages", "score-sentiment", "--project", str(uuid.uuid4())]
    )
    assert result.exit_code != 0 and "not found" in result.output


def test_queued_the_job_scores_older_messages_in_batches_with_progress(app, project, monkeypatch):
    monkeypatch.setattr(sentiment, "BATCH_SIZE", 3)
    store(app, project["id"], CONVERSATION, scored=False)
    result = app.test_cli_runner().invoke(
        cli=cli, args=["messages", "score-sentiment", "--project", project["id"], "--queue"]
    )
    assert result.exit_code == 0, result.output
    job_id = uuid.UUID(result.output.split()[-1])
    wait_for_jobs(app, 60)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.progress, job.result) == ("finished", 100, {"scored": 4})
        assert (job.name, job.message) == (job_name(jobs.score_sentiment), "4 of 4 messages")
    assert scored_labels(app, project["id"])[ANGRY] == "negative"


# --- the report and the demo ----------------------------------------------------------------


@pytest.fixture
def reporting(app, client, api, owner, project) -> Reporting:
    return Reporting(app, client, api, owner, project)


def section(report: dict, name: str) -> dict:
    return next(s for s in report["payload"]["sections"] if s["name"] == name)


def test_the_messages_report_has_a_sentiment_section_against_the_previous_month(
    app, reporting, project
):
    january = datetime(2025, 1, 10, 9, tzinfo=UTC)
    rows = [("whatsapp", "inbound", text, january) for text in (HAPPY, ANGRY, ANGRY, PLAIN)]
    store(
        app,
        project["id"],
        [*rows, ("telegram", "inbound", HAPPY, datetime(2024, 12, 5, tzinfo=UTC))],
    )
    report = reporting.generate(report_type="messages")
    shown = section(report, "sentiment")
    assert shown["title"] == "Customer sentiment"
    figures = shown["figures"]
    assert figures["scored_messages"]["value"] == 4 and figures["scored_messages"]["previous"] == 1
    assert figures["negative_messages"]["value"] == 2
    assert figures["negative_messages"]["previous"] == 0
    assert figures["negative_message_share"]["value"] == 50.0
    happy, angry = score_text(HAPPY).score, score_text(ANGRY).score
    assert figures["average_sentiment"]["value"] == round((happy + 2 * angry) / 4, 2)
    assert figures["average_sentiment"]["previous"] == round(happy, 2)
    tables = {t["name"]: t for t in shown["tables"]}
    by_label = tables["messages_by_sentiment"]
    assert by_label["rows"][0] == {"sentiment": "negative", "scored_messages": 2}
    assert by_label["chart"]["mark"]["type"] == "arc"
    assert tables["sentiment_by_day"]["chart"]["mark"]["type"] == "line"
    assert report["payload"]["total_negative_messages"] == 2
    summary = report["summary"]
    average = summary_value(figures["average_sentiment"]["value"])
    assert f"Customer sentiment: Average sentiment of customer messages: {average}" in summary
    assert "Negative customer messages: 2 (previously 0)" in summary
    assert "customer messages by sentiment: negative first (2)" in summary
    csv = reporting.get(f"/{report['id']}.csv").get_data(as_text=True)
    assert "sentiment,messages_by_sentiment,1,sentiment,negative" in csv
    assert "sentiment,figures,3,negative_message_share,50.0" in csv


def summary_value(value: float) -> str:
    return f"{value:.2f}"


def test_a_messages_report_filters_by_sentiment_and_refuses_an_unknown_label(
    app, reporting, project
):
    in_january = [(*row[:3], row[3].replace(year=2025, month=1)) for row in CONVERSATION]
    store(app, project["id"], in_january)
    report = reporting.generate(report_type="messages", filters={"sentiment": "negative"})
    shown = section(report, "sentiment")
    assert shown["filters_applied"] == ["sentiment"]
    assert shown["figures"]["scored_messages"]["value"] == 2
    error = reporting.generate(422, report_type="messages", filters={"sentiment": "furious"})
    assert "positive, neutral, negative" in json.dumps(error["errors"])
    error = reporting.generate(422, report_type="messages", filters={"mood": "x"})
    assert error["errors"] == {"filters": ["valid filters: channel, sentiment"]}
