"""Assistant speed and aim on the demo store: the offline provider's full answer (plan, tool,
answer) with the real plugins' tools on the demo database, beside the same tool run directly.

The demo loader fills a temporary SQLite file (a year of orders, the catalog, customers), as
``make run`` does. The questions are phrased anew: none is a tool's declared example or a
metric's word (``tests/assistant/test_questions_are_new.py`` checks this file too), so the
planner is measured on what an operator might type, not on its own index. Whether each
question reached the intended tool is a figure of its own.

``BENCH_ASSISTANT_RUNS`` changes the number of timed runs per question (default 50).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from sqlalchemy import select

from assistant.engine import run_turn
from assistant.providers.base import Completion, ToolCall
from assistant.providers.offline import OfflineProvider, extract_arguments, rank_tools
from assistant.tools import Tool, ToolContext
from bench import Figure, Target, median_ms
from core.context import Context

QUESTIONS = {
    "has order 2210 been shipped yet": "get_order",
    "how many sales came in during the past 14 days": "order_stats",
    "which products sold best over the past 2 weeks": "top_products",
    "do we still have SKU DAI-003 on the shelf": "product_stock",
    "which customers could leave us soon": "high_risk_customers",
}
RUNS = int(os.environ.get("BENCH_ASSISTANT_RUNS", "50"))
MAX_STEPS = 3
ANSWER_TARGET_MS = 50.0


class ScriptedProvider:
    """Asks for one call of ``order_stats``, then answers: the engine's work without a model."""

    name = model = "scripted"

    def complete(self, system, messages, tools):
        if messages[-1].role == "user":
            return Completion(tool_calls=(ToolCall("1", "order_stats", {"days": 30}),))
        return Completion(text="done")


def _figures(ctx: ToolContext, tools: list[Tool]) -> list[Figure]:
    by_name = {tool.name: tool for tool in tools}
    offline = OfflineProvider()
    picked = {question: rank_tools(question, tools)[0][0] for question in QUESTIONS}
    on_target = sum(picked[question] == tool for question, tool in QUESTIONS.items())
    answer_ms, direct_ms = [], []
    for question in QUESTIONS:
        chosen = by_name[picked[question]]
        arguments = extract_arguments(chosen, question)
        answer_ms.append(
            median_ms(
                RUNS, lambda q=question: run_turn(offline, ctx, [], q, tools, max_steps=MAX_STEPS)
            )
        )
        direct_ms.append(median_ms(RUNS, lambda t=chosen, a=arguments: t.run(ctx, a)))
    scripted = ScriptedProvider()
    engine_ms = median_ms(
        RUNS, lambda: run_turn(scripted, ctx, [], "go", tools, max_steps=MAX_STEPS)
    )
    tool_ms = median_ms(RUNS, lambda: by_name["order_stats"].run(ctx, {"days": 30}))
    return [
        Figure(
            "assistant: new questions answered by the intended tool",
            on_target,
            "questions",
            len(QUESTIONS),
            "questions asked",
            1,
            Target("==", len(QUESTIONS)),
        ),
        Figure(
            "assistant: offline answer (plan + tool + answer), demo DB",
            statistics.median(answer_ms),
            "ms",
            statistics.median(direct_ms),
            "the chosen tool run directly",
            RUNS,
            Target("<", ANSWER_TARGET_MS),
        ),
        Figure(
            "  engine turn with one real tool call (scripted model)",
            engine_ms,
            "ms",
            tool_ms,
            "the tool run directly",
            RUNS,
        ),
    ]


def run() -> list[Figure]:
    from core import migrate
    from core.app import create_app
    from core.cli import DEMO_EMAIL, DEMO_PASSWORD
    from core.config import load_settings
    from core.demo import load_demo_data
    from core.projects.models import Project

    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(
            {},
            env="testing",
            database_url=f"sqlite:///{Path(directory) / 'demo.db'}",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            log_level="WARNING",
        )
        app = create_app(settings)
        with app.app_context():
            migrate.upgrade(app)
            load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
            state = app.extensions["nebulo"]
            tools = list(state.registry.tools.values())
            with state.db.session_scope() as session:
                project_id = session.scalars(select(Project.id)).one()
                context = Context(
                    project_id=project_id,
                    permissions=frozenset(state.registry.permissions),
                    role="owner",
                )
                figures = _figures(ToolContext(session=session, context=context), tools)
            state.db.dispose()
    return figures
