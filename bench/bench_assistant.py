"""Assistant aim and speed on the demo store.

Aim: the question set of ``tests/assistant/questions.json`` (200+ questions written the way
shop staff ask: paraphrases, typos, relative dates, comparisons, top-N, follow-ups, refusals),
asked through the HTTP API, each answer checked against the metrics API at that moment
(``tests/assistant/question_set.py``); the score by category. Speed: the offline provider's
full answer (plan, lookups, metrics query, written answer) beside the bare metrics query the
same answer needs, run directly, in the same run.

The demo loader fills a temporary SQLite file (a year of orders, the catalog, customers,
messages), as ``make run`` does. ``BENCH_ASSISTANT_RUNS`` changes the number of timed runs per
question (default 30).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from assistant.engine import run_turn
from assistant.providers.offline import OfflineProvider
from assistant.tools import ToolContext
from bench import Figure, Target, median_ms
from core.context import Context

RUNS = int(os.environ.get("BENCH_ASSISTANT_RUNS", "30"))
MAX_STEPS = 5
ANSWER_TARGET_MS = 50.0
SCORE_TARGET = 95.0
TIMED_CATEGORIES = ("totals", "comparisons", "top", "entities")
TIMED_PER_CATEGORY = 3


def _score_figures(outcomes: list[Any]) -> list[Figure]:
    from tests.assistant.question_set import scores

    right = sum(outcome.ok for outcome in outcomes)
    figures = [
        Figure(
            "assistant: question set answered right",
            100.0 * right / len(outcomes),
            "%",
            100.0,
            f"all {len(outcomes)} asked",
            1,
            Target(">=", SCORE_TARGET),
        )
    ]
    for category, (right_here, asked) in sorted(scores(outcomes).items()):
        figures.append(
            Figure(f"  {category}", 100.0 * right_here / asked, "%", 100.0, f"{asked} asked", 1)
        )
    return figures


def _timed_questions(cases: list[dict[str, Any]]) -> list[str]:
    chosen: list[str] = []
    for category in TIMED_CATEGORIES:
        asked = [c["ask"] for c in cases if c["category"] == category and not c.get("follows")]
        chosen += asked[:TIMED_PER_CATEGORY]
    return chosen


def _speed_figures(ctx: ToolContext, tools: list[Any], questions: list[str]) -> list[Figure]:
    offline = OfflineProvider()
    by_name = {tool.name: tool for tool in tools}
    answer_ms, query_ms = [], []
    for question in questions:
        turn = run_turn(offline, ctx, [], question, tools, max_steps=MAX_STEPS)
        metrics = [call for call in turn.function_calls if call.name == "query_metrics"]
        answer_ms.append(
            median_ms(
                RUNS, lambda q=question: run_turn(offline, ctx, [], q, tools, max_steps=MAX_STEPS)
            )
        )
        call = metrics[-1] if metrics else turn.function_calls[-1]
        query_ms.append(
            median_ms(RUNS, lambda c=call: by_name[c.name].run(ctx, dict(c.parameters)))
        )
    return [
        Figure(
            "assistant: offline answer (plan + lookups + query + reply)",
            statistics.median(answer_ms),
            "ms",
            statistics.median(query_ms),
            "the metrics query it needs, run directly",
            RUNS,
            Target("<", ANSWER_TARGET_MS),
        )
    ]


def run() -> list[Figure]:
    from core import migrate
    from core.app import create_app
    from core.cli import DEMO_EMAIL, DEMO_PASSWORD
    from core.config import load_settings
    from core.demo import load_demo_data
    from core.projects.models import Project
    from tests.assistant.question_set import QuestionSet, load_cases

    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(
            {},
            env="testing",
            database_url=f"sqlite:///{Path(directory) / 'demo.db'}",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            log_level="WARNING",
            rate_limits_enabled=False,
        )
        app = create_app(settings)
        with app.app_context():
            migrate.upgrade(app)
            load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
            state = app.extensions["nebulo"]
            with state.db.session_scope() as session:
                project_id = session.scalars(select(Project.id)).one()
        login = app.test_client().post(
            "/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
        cases = load_cases()
        figures = _score_figures(QuestionSet(app, str(project_id), headers).run(cases))
        with app.app_context(), state.db.session_scope() as session:
            context = Context(
                project_id=project_id,
                permissions=frozenset(state.registry.permissions),
                role="owner",
            )
            tools = list(state.registry.tools.values())
            figures += _speed_figures(
                ToolContext(session=session, context=context), tools, _timed_questions(cases)
            )
        state.db.dispose()
    return figures
