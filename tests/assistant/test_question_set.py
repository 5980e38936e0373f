"""The offline assistant on its own question set (``questions.json``, 200+ questions written
the way shop staff ask), on the demo project of each stack: at least 95 % answered right, each
answer checked against the metrics API or the tool at test time (``question_set.py``)."""

from __future__ import annotations

from sqlalchemy import select

from core.demo import load_demo_data
from core.projects.models import Project
from tests.assistant.question_set import QuestionSet, load_cases, scores

DEMO_EMAIL, DEMO_PASSWORD = "demo-questions@example.com", "a demo password"
TARGET = 0.95
CATEGORIES = {
    "totals",
    "periods",
    "typos",
    "comparisons",
    "top",
    "breakdowns",
    "filters",
    "entities",
    "followups",
    "tools",
    "refusals",
    "unanswerable",
}


def test_the_set_is_large_and_covers_what_staff_ask():
    cases = load_cases()
    assert len(cases) >= 200
    assert {case["category"] for case in cases} == CATEGORIES
    first_questions = [case["ask"].lower() for case in cases if not case.get("follows")]
    assert len(set(first_questions)) == len(first_questions)
    assert all(case["expect"] for case in cases)
    assert not cases[0].get("follows")


def test_the_offline_assistant_answers_at_least_95_percent(app, api):
    with app.app_context():
        assert load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "Demo Store"))
    token = api.login(DEMO_EMAIL, DEMO_PASSWORD)["access_token"]
    outcomes = QuestionSet(app, str(project_id), {"Authorization": f"Bearer {token}"}).run()
    right = sum(outcome.ok for outcome in outcomes)
    missed = [
        f"[{o.category}] {o.ask!r}: wanted {o.wanted}, got {o.reply!r}"
        for o in outcomes
        if not o.ok
    ]
    assert right / len(outcomes) >= TARGET, (scores(outcomes), missed)
    assert all(right_here > 0 for right_here, _ in scores(outcomes).values())
