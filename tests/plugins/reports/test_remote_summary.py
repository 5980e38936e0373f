"""The summary from a remote provider (an OpenAI-compatible server, faked locally): it gets
the payload's figures without the charts, and its failure stores no report."""

from __future__ import annotations

import json

import pytest

from tests.assistant.conftest import FakeServer
from tests.assistant.test_providers import OpenAIWire
from tests.plugins.reports.conftest import JANUARY


@pytest.fixture
def remote(make_app):
    server = FakeServer()
    server.authorize = OpenAIWire.authorize
    settings = {**OpenAIWire.settings(server.url), "NEBULO_ASSISTANT_RETRY_DELAY_SECONDS": 0.01}
    yield server, make_app(plugin=settings).test_client()
    server.close()


def generate(reporting, client):
    return client.post(
        f"{reporting.url}/generate",
        json={**JANUARY, "report_type": "sales"},
        headers=reporting.owner,
    )


def test_the_model_writes_the_summary_from_the_figures(reporting, remote):
    server, client = remote
    reporting.orders()
    server.replies = [OpenAIWire.text("Revenue rose 148.9% to 186.65 in January 2025.")]
    response = generate(reporting, client)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["summary"] == "Revenue rose 148.9% to 186.65 in January 2025."
    [request] = server.requests
    sent = request["messages"][-1]["content"]
    figures = json.loads(sent)
    assert figures["total_revenue"] == 186.65
    assert all("chart" not in t for s in figures["sections"] for t in s["tables"])
    assert "never compute or invent" in request["messages"][0]["content"]


def test_a_failing_provider_stores_no_report(reporting, remote):
    server, client = remote
    reporting.orders()
    server.replies = [(500, {"error": {"message": "down"}})] * 3
    response = generate(reporting, client)
    assert response.status_code in (502, 503), response.get_json()
    assert reporting.get().get_json() == []
    server.replies = [OpenAIWire.text("   ")]
    response = generate(reporting, client)
    assert response.status_code == 502, response.get_json()
    assert reporting.get().get_json() == []
