import json
import uuid
from datetime import timedelta

from core.db import utcnow
from core.jobs import Job
from core.jobs.maintenance import recover_expired_jobs
from core.plugins import job_name
from plugins.messages import jobs, services
from tests.connectors.fakes import FakeWhatsApp
from tests.plugins.messages.conftest import (
    shopify_headers,
    shopify_order,
    telegram_headers,
    telegram_update,
    whatsapp_headers,
    whatsapp_status,
)


def send(shop, status=202, **body):
    payload = {"provider": "whatsapp", "content": "Your order has been shipped!", **body}
    payload.setdefault("recipient", {"phone": "+14155550123", "name": "John Doe"})
    response = shop.client.post(
        f"/api/v1/messages/{shop.pid}/send", json=payload, headers=shop.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def message(shop, message_id):
    return shop.get(f"messages/{shop.pid}/{message_id}")


def test_send_queues_then_sends_through_the_provider(shop, fakes):
    shop.customer_writes(shop.connect("whatsapp"))
    queued = send(shop)
    assert queued["status"] == "queued" and queued["job_id"] and queued["direction"] == "outbound"
    shop.settle()
    sent = message(shop, queued["id"])
    assert (
        sent["status"] == "sent"
        and sent["provider_message_id"].startswith("wamid.")
        and sent["sent_at"]
    )
    [request] = fakes["whatsapp"].requests
    assert (
        request.body["to"] == "14155550123"
        and request.body["text"]["body"] == "Your order has been shipped!"
    )
    job = shop.get(f"jobs/{queued['job_id']}")
    assert job["status"] == "finished"


def test_send_to_a_telegram_customer_uses_their_chat(shop, fakes):
    telegram = shop.connect("telegram")
    shop.post_webhook(telegram, telegram_update(1, "hello"), telegram_headers())
    shop.settle()
    [inbound] = shop.get(f"messages/{shop.pid}/inbox")
    queued = send(
        shop,
        provider="telegram",
        recipient={},
        customer_id=inbound["customer_id"],
        content="Hi Ana",
    )
    shop.settle()
    assert message(shop, queued["id"])["status"] == "sent"
    assert fakes["telegram"].requests[-1].body == {"chat_id": "777", "text": "Hi Ana"}


def test_send_validates_before_queueing(shop):
    shop.connect("whatsapp")
    assert "content" in send(shop, status=422, content="")["errors"]
    assert "provider" in send(shop, status=422, provider="shopify")["errors"]
    assert "recipient" in send(shop, status=422, recipient={})["errors"]
    assert "phone" in send(shop, status=422, recipient={"phone": "call me"})["errors"]["recipient"]
    assert send(shop, status=422, unknown=1)["code"] == "VALIDATION_ERROR"
    assert send(shop, status=404, order_id=str(uuid.uuid4()))["code"] == "NOT_FOUND"
    assert (
        send(shop, status=409, provider="telegram", recipient={"chat_id": "1"})["code"]
        == "CONFLICT"
    )
    # Valid, but the customer never wrote: WhatsApp's window is closed.
    assert "template" in send(shop, status=409)["detail"]
    assert shop.get(f"messages/{shop.pid}/inbox") == []


def test_provider_refusal_fails_the_message_with_the_provider_error(shop, fakes):
    integration = shop.connect("whatsapp")
    shop.customer_writes(integration)
    fakes["whatsapp"].script(
        400, FakeWhatsApp.error("(#131030) Recipient phone number not in allowed list", 131030)
    )
    queued = send(shop)
    shop.settle()
    failed = message(shop, queued["id"])
    assert failed["status"] == "failed" and "not in allowed list" in failed["error"]
    assert failed["provider_message_id"] is None
    listed = shop.get(f"integrations/{shop.pid}/{integration['id']}")
    assert listed["status"] == "error" and "allowed list" in listed["last_error"]


def test_rate_limited_sends_wait_and_succeed(shop, fakes):
    shop.connect("telegram")
    fakes["telegram"].script(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    queued = send(shop, provider="telegram", recipient={"chat_id": "42"})
    shop.settle()
    assert message(shop, queued["id"])["status"] == "sent"
    assert len(fakes["telegram"].requests) == 2


def test_provider_outage_is_retried_by_the_job(shop, fakes):
    shop.customer_writes(shop.connect("whatsapp"))
    fakes["whatsapp"].script(
        503, FakeWhatsApp.error("Service temporarily unavailable", 2, "OAuthException")
    )
    queued = send(shop)
    shop.settle()
    sent = message(shop, queued["id"])
    assert sent["status"] == "sent" and sent["error"] is None
    assert len(fakes["whatsapp"].requests) == 2
    assert shop.get(f"jobs/{queued['job_id']}")["attempts"] == 2


def _queued_message(shop):
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        created = services.create_outbound(
            session,
            services.system_context(shop.pid),
            provider="whatsapp",
            content="Your refund is on its way",
            recipient={"phone": "+14155550123"},
        )
        return created.id


def _job_left_by_a_dead_worker(shop, message_id):
    with shop.app.extensions["nebulo"].db.session_scope() as session:
        session.add(
            Job(
                project_id=uuid.UUID(shop.pid),
                name=job_name(jobs.deliver_message),
                args=[shop.pid, str(message_id)],
                kwargs={},
                status="running",
                attempts=1,
                max_attempts=jobs.SEND_RETRIES + 1,
                lease_until=utcnow() - timedelta(seconds=1),
            )
        )
    assert recover_expired_jobs(shop.app) == 1
    shop.settle()


def test_a_worker_killed_before_sending_is_replaced_and_sends_once(shop, fakes):
    shop.customer_writes(shop.connect("whatsapp"))
    message_id = _queued_message(shop)
    _job_left_by_a_dead_worker(shop, message_id)
    assert message(shop, message_id)["status"] == "sent"
    assert len(fakes["whatsapp"].requests) == 1


def test_a_message_the_provider_accepted_is_never_sent_again(shop, fakes):
    shop.customer_writes(shop.connect("whatsapp"))
    message_id = _queued_message(shop)
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        services.mark_sent(session, services.system_context(shop.pid), message_id, "wamid.ACCEPTED")
    _job_left_by_a_dead_worker(shop, message_id)
    final = message(shop, message_id)
    assert final["status"] == "sent" and final["provider_message_id"] == "wamid.ACCEPTED"
    assert fakes["whatsapp"].requests == []


def _claimed_by_a_worker_that_died_mid_call(shop, message_id):
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        assert services.claim_for_sending(session, services.system_context(shop.pid), message_id)


def test_a_worker_killed_during_the_provider_call_does_not_send_twice(shop, fakes):
    integration = shop.connect("whatsapp")
    shop.customer_writes(integration)
    message_id = _queued_message(shop)
    _claimed_by_a_worker_that_died_mid_call(shop, message_id)
    _job_left_by_a_dead_worker(shop, message_id)
    ended = message(shop, message_id)
    assert ended["status"] == "failed" and "worker stopped" in ended["error"]
    assert "not sent again" in ended["error"] and fakes["whatsapp"].requests == []
    # The provider had accepted it: its status callback names our message and reconciles it.
    body = whatsapp_status("wamid.LATE", "delivered", reference=str(message_id))
    assert shop.post_webhook(integration, body, whatsapp_headers(body)).status_code == 200
    shop.settle()
    reconciled = message(shop, message_id)
    assert reconciled["status"] == "delivered" and reconciled["error"] is None
    assert reconciled["provider_message_id"] == "wamid.LATE"


def test_a_send_whose_answer_is_lost_is_not_retried(shop, fakes):
    shop.customer_writes(shop.connect("whatsapp"))
    fakes["whatsapp"].drop_next_answer()
    queued = send(shop)
    shop.settle()
    ended = message(shop, queued["id"])
    assert ended["status"] == "failed" and "not sent again" in ended["error"]
    assert len(fakes["whatsapp"].requests) == 1
    assert fakes["whatsapp"].requests[0].body["biz_opaque_callback_data"] == queued["id"]
    assert shop.get(f"jobs/{queued['job_id']}")["attempts"] == 1


def test_a_status_callback_never_adopts_a_sent_message_or_a_bad_reference(shop, fakes):
    integration = shop.connect("whatsapp")
    shop.customer_writes(integration)
    queued = send(shop)
    shop.settle()
    body = whatsapp_status("wamid.OTHER", "read", reference=queued["id"])
    shop.post_webhook(integration, body, whatsapp_headers(body))
    body = whatsapp_status("wamid.NONE", "read", reference="not-a-uuid")
    shop.post_webhook(integration, body, whatsapp_headers(body))
    shop.settle()
    kept = message(shop, queued["id"])
    assert kept["status"] == "sent" and kept["provider_message_id"].startswith("wamid.HBgL")


def _order_and_conversation(shop):
    shopify, telegram = shop.connect("shopify"), shop.connect("telegram")
    body = json.dumps(shopify_order()).encode()
    shop.post_webhook(shopify, body, shopify_headers(body))
    shop.settle()
    [order] = shop.get(f"orders/{shop.pid}", provider="shopify", days=3650)
    shop.post_webhook(telegram, telegram_update(9, "Is it shipped?"), telegram_headers())
    shop.settle()
    return order


def test_inbox_filters_conversations_read_and_stats(shop):
    order = _order_and_conversation(shop)
    shop.customer_writes(shop.connect("whatsapp"))
    [wrote] = shop.get(f"messages/{shop.pid}/inbox", provider="whatsapp")
    shop.client.patch(f"/api/v1/messages/{shop.pid}/{wrote['id']}/read", headers=shop.owner)
    outbound = send(shop, order_id=order["id"], recipient={}, content="It ships today")
    shop.settle()
    everything = shop.get(f"messages/{shop.pid}/inbox")
    assert len(everything) == 3
    [inbound] = shop.get(f"messages/{shop.pid}/inbox", direction="inbound", provider="telegram")
    assert shop.get(f"messages/{shop.pid}/inbox", provider="whatsapp")[0]["id"] == outbound["id"]
    assert [m["id"] for m in shop.get(f"messages/{shop.pid}/inbox", order_id=order["id"])] == [
        outbound["id"],
        wrote["id"],
    ]
    assert len(shop.get(f"messages/{shop.pid}/inbox", is_read="false")) == 1
    conversation = shop.get(f"messages/{shop.pid}/conversation/{order['id']}")
    assert [m["content"] for m in conversation] == ["Hello", "It ships today"]
    by_customer = shop.get(f"messages/{shop.pid}/conversation/customer/{inbound['customer_id']}")
    assert [m["id"] for m in by_customer] == [inbound["id"]]
    response = shop.client.patch(
        f"/api/v1/messages/{shop.pid}/{inbound['id']}/read", headers=shop.owner
    )
    assert response.status_code == 200 and response.get_json()["is_read"] is True
    assert shop.get(f"messages/{shop.pid}/inbox", is_read="false") == []
    stats = shop.get(f"messages/{shop.pid}/stats/summary", days=30)
    assert stats["total_messages"] == 3 and stats["inbound"] == 2 and stats["outbound"] == 1
    assert stats["unread"] == 0 and stats["by_provider"] == {"telegram": 1, "whatsapp": 2}
    assert stats["by_status"] == {"received": 2, "sent": 1}


def test_inbox_rejects_bad_filters_and_other_projects(shop):
    for params in ({"direction": "sideways"}, {"days": 0}, {"order_id": "x"}):
        response = shop.client.get(
            f"/api/v1/messages/{shop.pid}/inbox", query_string=params, headers=shop.owner
        )
        assert response.status_code == 422, params
    from tests.conftest import ApiClient

    stranger = ApiClient(shop.client).user_headers()
    assert (
        shop.client.get(f"/api/v1/messages/{shop.pid}/inbox", headers=stranger).status_code == 404
    )
    missing = uuid.uuid4()
    assert (
        shop.client.patch(
            f"/api/v1/messages/{shop.pid}/{missing}/read", headers=shop.owner
        ).status_code
        == 404
    )
