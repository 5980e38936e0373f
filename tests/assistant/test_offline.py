"""The offline provider through the HTTP API: tool choice, arguments, answers, conversations.

Every question here is a new phrasing, not one of the tools' examples (the planner indexes
those): ``test_questions_are_new.py`` checks it."""

from __future__ import annotations

import pytest

from tests.assistant import asstest_plugin

STATUS_QUESTION = "what's the current state of order 1042?"
COUNT_QUESTION = "tell me how many orders arrived in the last 7 days"
CHURN_QUESTION = "which of our customers are likeliest to churn"

PHRASINGS = {
    "order_status": [
        (STATUS_QUESTION, {"order_number": 1042}),
        ("Where is order #1042 right now", {"order_number": 1042}),
        ("can you check order no. 1042 for me", {"order_number": 1042}),
        ("has #1042 shipped?", {"order_number": 1042}),
        ("status for order number 1042 please", {"order_number": 1042}),
    ],
    "order_count": [
        (COUNT_QUESTION, {"days": 7}),
        ("number of orders in the past 2 weeks", {"days": 14}),
        ("count of orders last month", {"days": 30}),
        ("How many orders came in over the last 3 days", {"days": 3}),
        ("how many shipped orders this week", {"days": 7, "status": "shipped"}),
    ],
    "customer_risks": [
        (CHURN_QUESTION, {}),
        ("show me the top 1 customers at risk of churning", {"limit": 1}),
        ("customers likely to leave us", {}),
        ("churn risk per customer", {}),
        ("who might churn soon", {}),
    ],
}


@pytest.mark.parametrize(
    ("tool", "question", "arguments"),
    [(tool, q, a) for tool, cases in PHRASINGS.items() for q, a in cases],
)
def test_offline_picks_tool_and_arguments(offline, tool, question, arguments):
    result = offline.query(question)
    assert [call["name"] for call in result["function_calls"]] == [tool]
    call = result["function_calls"][0]
    assert call["parameters"] == arguments
    assert call["ok"] is True
    assert result["model"] == "offline"
    assert result["cost"] == 0
    assert result["tokens_used"] > 0


def test_offline_answers_from_the_data(offline):
    status = offline.query(STATUS_QUESTION)
    assert "shipped" in status["reply"] and "1042" in status["reply"]
    count = offline.query(COUNT_QUESTION)
    assert "orders: 2" in count["reply"] and "179.90" in count["reply"]
    churn = offline.query(CHURN_QUESTION)
    assert churn["reply"].index("Alice Martin") < churn["reply"].index("Bob Stone")


def test_offline_says_what_it_can_answer_when_nothing_fits(offline):
    result = offline.query("what is the weather in Paris tomorrow?")
    assert result["function_calls"] == []
    assert "can't answer" in result["reply"]
    assert asstest_plugin.order_status.examples[0] in result["reply"]


def test_offline_asks_for_a_missing_required_argument(offline):
    result = offline.query("what is the status of the order?")
    assert result["function_calls"] == []
    assert "order number" in result["reply"]


def test_tool_failure_goes_back_as_result_not_crash(offline):
    result = offline.query("please run that broken report")
    assert result["function_calls"][0]["ok"] is False
    assert "RuntimeError" in result["function_calls"][0]["result"]["error"]
    assert "could not" in result["reply"]


def test_viewer_is_not_offered_admin_tools(offline):
    viewer = offline.member_headers("viewer")
    result = offline.query("refund the money for order 1042", headers=viewer)
    assert all(call["name"] != "refund_order" for call in result["function_calls"])
    admin = offline.query("refund the money for order 1042")
    assert admin["function_calls"][0]["name"] == "refund_order"


def test_conversation_continues_and_is_listed(offline):
    first = offline.query(STATUS_QUESTION)
    second = offline.query(
        "how many orders in the last 7 days", conversation_id=first["conversation_id"]
    )
    assert second["conversation_id"] == first["conversation_id"]
    base = f"/api/v1/assistant/{offline.project_id}/conversations"
    listed = offline.client.get(base, headers=offline.headers)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.get_json()] == [first["conversation_id"]]
    detail = offline.client.get(
        f"{base}/{first['conversation_id']}", headers=offline.headers
    ).get_json()
    roles = [m["role"] for m in detail["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"] * 2
    assert detail["messages"][1]["tool_calls"][0]["name"] == "order_status"


def test_conversations_are_private_and_project_scoped(offline):
    first = offline.query(STATUS_QUESTION)
    other = offline.member_headers("admin")
    base = f"/api/v1/assistant/{offline.project_id}/conversations"
    assert (
        offline.client.get(f"{base}/{first['conversation_id']}", headers=other).status_code == 404
    )
    offline.query("hello", expect=404, headers=other, conversation_id=first["conversation_id"])
    stranger = offline.api.user_headers()
    assert offline.client.get(base, headers=stranger).status_code == 404


def test_query_validation(offline):
    assert offline.query("", expect=422)["errors"]["message"]
    offline.query("hi", expect=422, unexpected=True)
    offline.query("hi", expect=422, conversation_id="not-a-uuid")
    offline.query("hi", expect=404, conversation_id="00000000-0000-4000-8000-000000000000")
    response = offline.client.post(
        "/api/v1/assistant/query", json={"message": "x"}, headers=offline.headers
    )
    assert response.status_code == 422
    response = offline.client.post(
        "/api/v1/assistant/query", json={"project_id": offline.project_id, "message": "x"}
    )
    assert response.status_code == 401


def test_use_function_calling_false_offers_no_tools(offline):
    result = offline.query(STATUS_QUESTION, use_function_calling=False)
    assert result["function_calls"] == []
    assert "can't answer" in result["reply"]


def test_usage_counts_calls_tokens_and_cost(offline):
    offline.query(STATUS_QUESTION)
    offline.query("how many orders in the last 7 days")
    response = offline.client.get(
        f"/api/v1/assistant/usage/{offline.project_id}?days=7", headers=offline.headers
    )
    assert response.status_code == 200
    usage = response.get_json()
    assert usage["period_days"] == 7
    assert usage["total_api_calls"] == 4  # plan + answer per question
    assert usage["total_tokens_used"] > 0
    assert usage["total_cost_usd"] == 0
    bad = offline.client.get(
        f"/api/v1/assistant/usage/{offline.project_id}?days=0", headers=offline.headers
    )
    assert bad.status_code == 422
