import json

from tests.plugins.messages.conftest import (
    shopify_headers,
    shopify_order,
    telegram_headers,
    telegram_update,
    whatsapp_headers,
    whatsapp_inbound,
)


def _customer_with_an_order(shop):
    shopify = shop.connect("shopify")
    body = json.dumps(shopify_order()).encode()
    shop.post_webhook(shopify, body, shopify_headers(body))
    shop.settle()


def inbox(shop, **filters):
    return shop.get(f"messages/{shop.pid}/inbox", **filters)


def test_auto_reply_answers_on_the_same_channel_marked_ai_generated(shop, fakes):
    _customer_with_an_order(shop)
    whatsapp = shop.connect("whatsapp", auto_reply=True)
    body = whatsapp_inbound("Hi, what is the status of my order?")
    shop.post_webhook(whatsapp, body, whatsapp_headers(body))
    shop.settle()
    [question] = inbox(shop, direction="inbound")
    [reply] = inbox(shop, direction="outbound")
    assert reply["ai_generated"] is True and reply["status"] == "sent"
    assert reply["reply_to_id"] == question["id"] and reply["provider"] == "whatsapp"
    assert (
        reply["customer_id"] == question["customer_id"]
        and reply["order_id"] == question["order_id"]
    )
    assert question["needs_human"] is False
    [request] = fakes["whatsapp"].requests
    assert request.body["to"] == "14155550123" and request.body["text"]["body"] == reply["content"]


def test_without_auto_reply_inbound_messages_wait_in_the_inbox(shop, fakes):
    telegram = shop.connect("telegram")
    shop.post_webhook(telegram, telegram_update(1, "Where is my order?"), telegram_headers())
    shop.settle()
    assert len(inbox(shop)) == 1 and fakes["telegram"].requests == []


def test_urgent_complaints_are_flagged_for_a_human_instead_of_answered(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True, human_handoff="instead")
    complaint = "This is terrible!!! My order is late and nobody answers, I want a refund NOW"
    shop.post_webhook(telegram, telegram_update(1, complaint), telegram_headers())
    shop.settle()
    [flagged] = inbox(shop)
    assert flagged["needs_human"] is True and "negative" in flagged["flag_reason"]
    assert inbox(shop, needs_human="true")[0]["id"] == flagged["id"]
    assert fakes["telegram"].requests == []


def test_urgent_complaints_can_be_flagged_and_answered(shop, fakes):
    telegram = shop.connect("telegram", auto_reply=True, human_handoff="also")
    complaint = "This is terrible!!! My order is late and broken"
    shop.post_webhook(telegram, telegram_update(1, complaint), telegram_headers())
    shop.settle()
    [flagged] = inbox(shop, direction="inbound")
    [reply] = inbox(shop, direction="outbound")
    assert flagged["needs_human"] is True and reply["ai_generated"] is True
    assert fakes["telegram"].requests[0].body["chat_id"] == "777"
    stats = shop.get(f"messages/{shop.pid}/stats/summary")
    assert stats["needs_human"] == 1 and stats["ai_generated"] == 1
