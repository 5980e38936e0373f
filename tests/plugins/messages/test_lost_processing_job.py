"""An integration whose processing job Redis lost (restarted without persistence) is not
blocked: the workers' maintenance queues the job again and every delivery gets processed."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from core.db import utcnow
from core.jobs import Job
from plugins.messages.models import Integration
from tests.core.test_job_maintenance import forget_queued_jobs
from tests.plugins.messages.conftest import shopify_headers, shopify_order


def post_order(shop, integration: dict, order_id: int) -> None:
    body = json.dumps(shopify_order(order_id)).encode()
    response = shop.post_webhook(integration, body, shopify_headers(body))
    assert response.get_json()["status"] == "accepted"


def processing_job(shop, integration: dict) -> Job | None:
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        job_id = session.get(Integration, uuid.UUID(integration["id"])).processing_job_id
        return None if job_id is None else session.get(Job, job_id)


def test_deliveries_behind_a_lost_processing_job_are_processed(stack, shop):
    if stack.redis_url is None:
        pytest.skip("embedded jobs live in their process, whose restart resumes them")
    integration = shop.connect("shopify")
    shop.settle()
    post_order(shop, integration, 1001)
    forget_queued_jobs(shop.app)
    post_order(shop, integration, 1002)  # the lost job still counts as pending: no new job
    lost = processing_job(shop, integration)
    assert lost is not None and lost.status == "queued"
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        session.get(Job, lost.id).created_at = utcnow() - timedelta(hours=1)

    shop.settle()  # a worker starts: its maintenance finds the job Redis lost

    statuses = [
        d["status"] for d in shop.get(f"integrations/{shop.pid}/{integration['id']}/deliveries")
    ]
    assert statuses == ["processed", "processed"]
    post_order(shop, integration, 1003)
    shop.settle()
    orders = shop.get(f"orders/{shop.pid}", provider="shopify", days=3650)
    assert sorted(order["external_id"] for order in orders) == ["1001", "1002", "1003"]
