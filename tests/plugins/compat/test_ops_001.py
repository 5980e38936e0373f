"""Seed 001 (multi-project e-commerce ops) needs no compatibility route: its paths are
Nebulo's own. Every path of its document routes to Nebulo's views, with every other profile
mounted too, and its list and statistics reads answer 200."""

from __future__ import annotations

import uuid

import pytest

P, ANY_ID = "{project_id}", "{id}"
DOCUMENTED = [
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/projects"),
    ("GET", f"/api/v1/projects/{P}"),
    ("PATCH", f"/api/v1/projects/{P}"),
    ("DELETE", f"/api/v1/projects/{P}"),
    ("POST", f"/api/v1/integrations/{P}/connect"),
    ("GET", f"/api/v1/integrations/{P}"),
    ("POST", f"/api/v1/integrations/{P}/{ANY_ID}/sync"),
    ("DELETE", f"/api/v1/integrations/{P}/{ANY_ID}"),
    ("GET", f"/api/v1/orders/{P}"),
    ("GET", f"/api/v1/orders/{P}/{ANY_ID}"),
    ("PATCH", f"/api/v1/orders/{P}/{ANY_ID}"),
    ("GET", f"/api/v1/orders/{P}/stats/summary"),
    ("POST", f"/api/v1/messages/{P}/send"),
    ("GET", f"/api/v1/messages/{P}/inbox"),
    ("GET", f"/api/v1/messages/{P}/conversation/{ANY_ID}"),
    ("PATCH", f"/api/v1/messages/{P}/{ANY_ID}/read"),
    ("GET", f"/api/v1/messages/{P}/stats/summary"),
    ("POST", "/api/v1/assistant/query"),
    ("POST", "/api/v1/assistant/generate-reply"),
    ("POST", "/api/v1/assistant/analyze-sentiment"),
    ("GET", f"/api/v1/assistant/usage/{P}"),
    ("POST", f"/api/v1/reports/{P}/generate"),
    ("GET", f"/api/v1/reports/{P}"),
    ("GET", f"/api/v1/reports/{P}/{ANY_ID}"),
    ("DELETE", f"/api/v1/reports/{P}/{ANY_ID}"),
    # API-MAP: a provider's webhook carries the integration id, which names project and secret.
    ("POST", f"/api/v1/webhooks/shopify/{ANY_ID}"),
    ("POST", f"/api/v1/webhooks/whatsapp/{ANY_ID}"),
    ("POST", f"/api/v1/webhooks/telegram/{ANY_ID}"),
]
READS = [
    "/api/v1/auth/me",
    "/api/v1/projects",
    f"/api/v1/projects/{P}",
    f"/api/v1/integrations/{P}",
    f"/api/v1/orders/{P}?status=pending&days=30&page=1&page_size=50",
    f"/api/v1/orders/{P}/stats/summary?days=30",
    f"/api/v1/messages/{P}/inbox?direction=inbound&days=7&page=1",
    f"/api/v1/messages/{P}/stats/summary?days=30",
    f"/api/v1/assistant/usage/{P}?days=30",
    f"/api/v1/reports/{P}?report_type=sales&page=1",
]


@pytest.mark.parametrize(("method", "path"), DOCUMENTED, ids=[f"{m} {p}" for m, p in DOCUMENTED])
def test_every_documented_path_routes_to_nebulos_own_view(app, method, path):
    url = path.replace(P, str(uuid.uuid4())).replace(ANY_ID, str(uuid.uuid4()))
    endpoint, _ = app.url_map.bind("localhost").match(url, method)
    assert not endpoint.startswith("compat-"), endpoint


@pytest.mark.parametrize("path", READS)
def test_the_documented_reads_answer(client, store, path):
    response = client.get(path.replace(P, store.project["id"]), headers=store.headers)
    assert response.status_code == 200, response.get_json()
