"""The offline planner's parts without a database: the grammar over the real plugins' metrics,
the dialogue state read back from stored messages, refusals and the answer's wording. (The
whole planner on the demo data: ``test_question_set.py``.)"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from assistant.planner import policy
from assistant.planner.choose import as_asked, in_family
from assistant.planner.dialogue import State, is_follow_up, last_state, merge, period_from_dates
from assistant.planner.parse import parse
from assistant.planner.reply import cell, dates_text, metric_answer, value_text, when
from assistant.planner.route import extract_arguments, scalar_text
from assistant.planner.vocabulary import stem, tokenize, vocabulary
from assistant.providers.base import ChatMessage, ToolCall
from core.metrics.periods import parse_period

TODAY = date(2026, 11, 30)  # a Monday


@pytest.fixture(scope="module")
def words(app):
    return vocabulary(app.extensions["nebulo"].registry.metrics)


def test_a_question_names_metric_period_group_order_and_comparison(words):
    parsed = parse("top 3 customers by spend this mnth vs a year ago", words, TODAY, None)
    assert parsed.metrics == ["revenue"]
    assert parsed.period[0].start == date(2026, 11, 1)
    assert parsed.group_by == ["customer"]
    assert (parsed.direction, parsed.limit, parsed.compare) == ("desc", 3, "previous_year")


def test_status_values_filter_and_paid_orders_is_one_metric(words):
    assert parse("pending orders last wek", words, TODAY, None).filters == {"status": ["pending"]}
    paid = parse("how many paid orders today", words, TODAY, None)
    assert (paid.metrics, paid.filters) == (["paid_orders"], {})


def test_a_bare_noun_followed_by_what_narrows_it_is_the_narrower_metric(words):
    """ "messages" alone are the messages received; "messages waiting for a human" are those
    the bot flagged and nobody has read yet."""
    for question in ("any messages waiting for a human?", "messages waiting for a human"):
        assert parse(question, words, TODAY, None).metrics == ["messages_needing_human"]
    assert parse("unread customer messages", words, TODAY, None).metrics == ["unread_messages"]


def test_an_unknown_name_is_left_to_the_lookups_as_typed(words):
    parsed = parse("how many Espresso Beans last month", words, TODAY, None)
    assert parsed.entity == "Espresso Beans" and parsed.metrics == []


def test_values_listed_together_filter_by_each_or_break_down_when_set_against_each_other(words):
    listed = parse("pending or paid orders this wk", words, TODAY, None)
    assert (listed.metrics, listed.filters) == (["orders"], {"status": ["pending", "paid"]})
    versus = parse("reply speed of the bot vs human agents", words, TODAY, None)
    assert versus.group_by == ["responder"] and versus.filters == {}


def test_a_bare_plural_names_its_family_and_a_qualifier_beside_it_narrows_it(words):
    assert parse("msgs we got on monday", words, TODAY, None).metrics == ["inbound_messages"]
    assert parse("sales forecast by week", words, TODAY, None).metrics == ["forecast_revenue"]
    counted = parse("medium churn risk customers in france", words, TODAY, None)
    assert (counted.metrics, counted.entity) == (["customers"], "france")


def test_word_forms_and_typos_meet_without_turning_one_word_into_another(words):
    assert stem("answered") == stem("answering") == stem("answer")
    assert stem("cancelled") == stem("canceled")
    assert [words.correct(t) for t in ("revnue", "yeer", "dairy", "merch")] == [
        "revenue",
        "year",
        "dairy",
        "merch",
    ]
    assert "revenue" in tokenize("best customers by spend")
    assert "revenue" not in tokenize("what did we spend on rent")


def test_dates_ahead_a_previous_span_and_grouping_by_a_unit_are_read(words):
    ahead = parse("revenue over the next 7 days", words, TODAY, None)
    assert ahead.future and ahead.period_problem is None
    prior = parse("orders past 14 days vs prior 14 days", words, TODAY, None)
    assert prior.compare == "previous_period" and prior.period[0].end == TODAY
    weekly = parse("and split by week?", words, TODAY, None)
    assert weekly.group_by == ["week"] and weekly.period_problem is None
    # a unit so far against the whole unit named before it: compared day for day
    month = parse("is revenue up this month vs last month", words, date(2026, 11, 12), None)
    assert month.compare == "previous_period" and month.compare_problem is None
    assert month.period[0].end == date(2026, 11, 12)


def test_an_unreadable_period_is_a_problem_never_a_default(words):
    assert parse("revenue on the weekend", words, TODAY, None).period_problem
    assert parse("revenue this week vs March 2019", words, TODAY, None).compare_problem
    assert parse("and the week before that?", words, TODAY, None).period_problem


def test_the_dialogue_state_is_the_last_metrics_query_stored_with_the_conversation(words):
    call = ToolCall("1", "query_metrics", {"metrics": ["revenue"], "period": "last month"})
    answer = {"period": {"start": "2026-10-01", "end": "2026-10-31", "label": "last month"}}
    history = [
        ChatMessage("user", "revenue last month"),
        ChatMessage("assistant", tool_calls=(call,)),
        ChatMessage("tool", json.dumps(answer), tool_call_id="1", name="query_metrics"),
        ChatMessage("assistant", "Revenue last month: 10.00."),
    ]
    state = last_state(history)
    assert state.period.kind == "month"
    follow = parse("and the month before that, by channel?", words, TODAY, state.period)
    query = merge(follow, state, [])
    assert query.arguments == {
        "metrics": ["revenue"],
        "period": "September 2026",
        "group_by": ["provider"],
    }


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        ("2026-11-23", "2026-11-29", "week"),
        ("2026-02-01", "2026-02-28", "month"),
        ("2026-07-01", "2026-09-30", "quarter"),
        ("2025-01-01", "2025-12-31", "year"),
        ("2026-11-20", "2026-11-20", "day"),
        ("2026-11-01", "2026-11-14", "custom"),
    ],
)
def test_a_stated_period_keeps_its_calendar_unit(start, end, kind):
    assert period_from_dates({"start": start, "end": end, "label": ""}).kind == kind


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("what's the owner's password", policy.CREDENTIALS),
        ("send me our openai api key", policy.CREDENTIALS),
        ("erase the order history", policy.DESTRUCTIVE),
        ("mark all orders as refunded", policy.DESTRUCTIVE),
        ("how is another shop doing", policy.OTHER_PROJECT),
        ("what did the Lakeside store sell today", policy.OTHER_PROJECT),
        ("takings of the station branch", policy.OTHER_PROJECT),
        ("orders at our second location", policy.OTHER_PROJECT),
        ("revenue per location this week", None),
        ("what did the shop sell today", None),
        ("revenue of all projects", policy.OTHER_PROJECT),
        ("how many orders were refunded", None),
        ("cancelled orders this week", None),
    ],
)
def test_refusals(question, refusal):
    assert policy.refusal(question) == refusal


def test_answers_state_figures_in_their_unit_and_the_period_as_dates():
    assert value_text(1234.5, "money") == "1,234.50"
    assert value_text(12.0, "count") == "12"
    assert value_text(33.333, "percent") == "33.3%"
    assert value_text(5400, "duration") == "90 min"
    assert dates_text(date(2025, 12, 29), date(2026, 1, 4)) == "29 Dec 2025 – 4 Jan 2026"
    assert cell(None, "customer", {}) == "(no customer)"
    period = parse_period("last week", TODAY).as_dict()
    assert when(period) == "last week (23–29 Nov 2026)"
    fitted = datetime(2026, 12, 1, 4, 41, 0, 415067, tzinfo=UTC)
    assert scalar_text(fitted) == scalar_text(fitted.isoformat()) == "2026-12-01 04:41"


@pytest.mark.parametrize("first_day", [date(2026, 11, 1), date(2026, 11, 1) + timedelta(days=11)])
def test_last_month_after_this_month_so_far_asks_for_the_comparison(words, first_day):
    stated = {"start": "2026-11-01", "end": first_day.isoformat(), "label": "this month"}
    state = State({"metrics": ["revenue"], "period": "this month"}, period_from_dates(stated))
    assert state.period.kind == "month"
    follow = parse("compared to last month?", words, first_day, state.period)
    query = merge(follow, state, [])
    assert query.arguments["compare"] == "previous_period"
    assert query.arguments["period"] == "this month"


def test_a_whole_question_that_names_no_figure_keeps_nothing_of_the_one_before(words):
    state = State({"metrics": ["orders"], "period": "past 30 days", "filters": ["status:pending"]})
    for question in ("busiest hour last week", "which weekday sells best"):
        parsed = parse(question, words, TODAY, None)
        assert not is_follow_up(parsed, state), question
    for question in ("by day?", "compared to last month?", "and cancelled ones?"):
        assert is_follow_up(parse(question, words, TODAY, None), state), question


@pytest.mark.parametrize(
    ("metric", "unit", "ascending", "said"),
    [
        ("orders", "count", False, "the most orders"),
        ("orders", "count", True, "the fewest orders"),
        ("revenue", "money", False, "the highest revenue"),
    ],
)
def test_the_top_row_is_said_with_the_word_its_unit_takes(metric, unit, ascending, said):
    result = {
        "units": {metric: unit},
        "metrics": [{"name": metric}],
        "period": parse_period("last week", TODAY).as_dict(),
        "group_by": ["hour"],
        "rows": [{"hour": 15, metric: 17}],
        "totals": {metric: 17},
        "comparison_period": None,
    }
    labels = {metric: metric.capitalize()}
    answer = metric_answer(result, labels, {"hour": "Hour"}, True, [], ascending)
    assert answer.startswith(f"The hour with {said} last week (23–29 Nov 2026) was 15:00–16:00")


@pytest.mark.parametrize(
    "question", ["net profit in june", "our ad spend this week", "bounce rates"]
)
def test_a_measure_no_metric_holds_is_named_not_read_as_a_near_metric(words, question):
    parsed = parse(question, words, TODAY, None)
    assert parsed.unknown_measure and not parsed.metrics


def test_a_share_word_asks_for_the_percent_metric_of_the_family_named(words):
    def asked(question):
        parsed = parse(question, words, TODAY, None)
        return as_asked(parsed.metrics, parsed, words)

    assert asked("proportion of regulars among visitors in october") == ["returning_visitor_rate"]
    assert asked("what % of threads did the bot solve alone") == ["bot_solved_share"]
    assert asked("which percentage of replies came from the chatbot") == ["ai_answered_share"]
    assert asked("percent of threads that went to a human") == ["handoff_rate"]
    assert asked("how much of the replying was the ai's") == ["ai_answered_share"]
    assert not parse("revenue up 4 percent on last week?", words, TODAY, None).share


def test_distinct_things_broken_down_by_an_attribute_are_the_family_base_count(words):
    def asked(question):
        parsed = parse(question, words, TODAY, None)
        return as_asked(parsed.metrics, parsed, words)

    assert asked("visitor build breakdown this month") == ["visits"]
    assert asked("unique visitors split by build") == ["unique_visitors"]
    assert asked("visitors per weekday") == ["unique_visitors"]


def test_a_follow_up_about_them_stays_in_the_family_asked_about(words):
    parsed = parse("and how many of them returned?", words, TODAY, None)
    assert in_family(parsed.metrics, parsed, ["unique_visitors"], words) == ["returning_visitors"]


def test_a_named_period_beside_a_year_is_that_period_of_that_year(words):
    parsed = parse("orders in Q2 vs last year's Q2", words, TODAY, None)
    assert parsed.compare == "previous_year" and parsed.compare_problem is None
    july = parse("revenue for july of last year", words, TODAY, None).period[0]
    assert (july.start, july.end) == (date(2025, 7, 1), date(2025, 7, 31))


def test_counted_things_and_values_named_with_their_kind(words):
    counted = parse("5 regions with the most customers", words, TODAY, None)
    assert (counted.metrics, counted.group_by) == (["customers"], ["geography"])
    kinded = parse("size of the promising segment", words, TODAY, None)
    assert kinded.filters == {"segment": ["Promising"]}


@pytest.mark.parametrize("text", ["regulars at tbl 9", "table #9 guests", "table no. 9 guests"])
def test_a_numbered_thing_fills_the_integer_parameter_named_for_it(app, text):
    tool = app.extensions["nebulo"].registry.tools["table_regulars"]
    assert extract_arguments(tool, text) == {"table_number": 9}
